"""A small job on warm photon, end to end through the dispatcher, against its floor and Livy's way.

The job: a csv of --rows rows (id, name, amount) -> 3 steps (derive UPPER(name), settype id
Integer, filter id > 10) -> one csv file with a header (overwrite). Figures, medians (and p90)
of --repeat turns taken alternately in one process on one warm session:

- T_dispatch: from ``Dispatcher.enqueue`` of a saved job group (SQLite store, as the API leaves
  it) until the store says ``Complete`` (result read back) — the launcher's part of POST-to-Complete;
- T_direct: ``spark_jobs.run_job(spec, spark)`` on the same session (the floor: no launcher);
- T_submit: one ``spark-submit --master local[2] spark_jobs/main.py --spec ...`` per job, start
  to exit (what a Livy-style launcher does per job; --submit-repeat turns);
- ratios: T_dispatch / T_direct (the launcher's overhead) and T_submit / T_dispatch (target >= 20);
  target for T_dispatch: median <= 0.75 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPE = [
    {"op": "derive", "value": "UPPER(name)", "as": "name_upper"},
    {"op": "settype", "col": ["id"], "type": "Integer"},
    {"op": "filter", "row": "id > 10", "action": "Keep"},
]


def write_input(path: Path, rows: int) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "amount"])
        for i in range(rows):
            w.writerow([i, f"name{i % 1000}", f"{i % 97}.5"])


def save_group(sessions, settings, uid: int, input_uri: str, out: str) -> int:
    """A job group with its jobs and spec, saved as the API saves it before ``enqueue``."""
    from launcher.store import repo_datasets, repo_jobs
    from launcher.store.db import session_scope

    with session_scope(sessions) as s:
        imp = repo_datasets.create_imported(s, uid, "input", input_uri, "csv")
        wr = repo_datasets.create_wrangled(s, uid, "wrangled", "imported", imp.id, RECIPE)
        group = repo_jobs.create_job_group(
            s, creator_id=uid, wrangled_dataset_id=wr.id, execution="photon",
            jobs=[repo_jobs.NewJob("wrangle"), repo_jobs.NewJob("filewriter")])
        spec = make_spec(settings, group.id, [j.id for j in group.jobs], imp.id, wr.id, input_uri, out)
        path = Path(settings.specs_dir) / f"{group.id}.json"
        path.write_text(spec.to_json())
        repo_jobs.update_group(s, group, spec_path=str(path))
        return group.id


def make_spec(settings, gid: int, job_ids: list[int], imp_id: int, wr_id: int, input_uri: str, out: str):
    from spark_jobs.spec import JobSpec

    return JobSpec(
        jobGroupId=gid, jobs={"wrangle": job_ids[0]},
        datasets=[{"kind": "imported", "id": imp_id, "uri": input_uri, "format": "csv"},
                  {"kind": "wrangled", "id": wr_id, "input": {"kind": "imported", "id": imp_id}, "recipe": RECIPE}],
        target=wr_id,
        outputs=[{"jobId": job_ids[1], "path": out, "action": "overwrite", "format": "csv", "header": True,
                  "asSingleFile": True}],
        resultUri=str(Path(settings.results_dir) / f"{gid}.json"),
    )


def status_of(sessions, gid: int) -> str:
    from launcher.store import repo_jobs
    from launcher.store.db import session_scope

    with session_scope(sessions) as s:
        return repo_jobs.get_job_group(s, gid).status


def p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_photon", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--submit-repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args(argv)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from launcher.dispatch import Dispatcher
    from launcher.environments.photon import PhotonEnvironment
    from launcher.settings import load_settings
    from launcher.store import repo_users
    from launcher.store.db import make_engine, session_factory, session_scope, upgrade
    from spark_jobs.runner import run_job

    tmp = Path(tempfile.mkdtemp(prefix="bench-photon-"))
    settings = load_settings(home=tmp / "home", storage_roots=[str(tmp)])
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with session_scope(sessions) as s:
        uid = repo_users.create_user(s, "bench").id
    src = tmp / "in.csv"
    write_input(src, args.rows)

    photon = PhotonEnvironment(settings)
    spark = photon.session(timeout=600)
    dispatcher = Dispatcher(settings, sessions, {"photon": photon})
    dispatcher.start()

    def dispatched(i: int) -> float:
        gid = save_group(sessions, settings, uid, str(src), str(tmp / f"out_d{i}.csv"))
        t = time.perf_counter()
        dispatcher.enqueue(gid)
        while (st := status_of(sessions, gid)) not in ("Complete", "Failed", "Canceled"):
            time.sleep(0.01)  # a coarse look: a tight loop would steal the GIL from the run
        took = time.perf_counter() - t
        if st != "Complete":
            raise SystemExit(f"job group {gid} ended {st}")
        return took

    def direct(i: int) -> float:
        spec = make_spec(settings, 100_000 + i, [1, 2], 1, 2, str(src), str(tmp / f"out_r{i}.csv"))
        t = time.perf_counter()
        result = run_job(spec, spark=spark)
        took = time.perf_counter() - t
        if result.status != "Complete":
            raise SystemExit(f"direct run ended {result.status}")
        return took

    try:
        for i in range(args.warmup):
            dispatched(-1 - i)
            direct(-1 - i)
        t_dispatch, t_direct = [], []
        for i in range(args.repeat):
            t_dispatch.append(dispatched(i))
            t_direct.append(direct(i))
        rows_out = sum(1 for _ in open(tmp / "out_d0.csv")) - 1
    finally:
        dispatcher.stop()
        photon.close()

    t_submit = []
    submit = Path(__import__("pyspark").__file__).parent / "bin" / "spark-submit"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    for i in range(args.submit_repeat):
        spec = make_spec(settings, 200_000 + i, [1, 2], 1, 2, str(src), str(tmp / f"out_s{i}.csv"))
        spec_path = tmp / f"submit_{i}.json"
        spec_path.write_text(spec.to_json())
        t = time.perf_counter()
        proc = subprocess.run(
            [str(submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
             "--conf", "spark.sql.shuffle.partitions=4",
             "--conf", f"spark.driver.extraJavaOptions=-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}",
             str(ROOT / "spark_jobs" / "main.py"), "--spec", str(spec_path)],
            capture_output=True, text=True, env=env, cwd=str(ROOT))
        t_submit.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise SystemExit(f"spark-submit failed ({proc.returncode}): {proc.stderr[-2000:]}")

    med = statistics.median
    figures = {
        "rows_in": args.rows, "rows_out": rows_out, "repeat": args.repeat,
        "T_dispatch_median_s": round(med(t_dispatch), 3), "T_dispatch_p90_s": round(p90(t_dispatch), 3),
        "T_direct_median_s": round(med(t_direct), 3), "T_direct_p90_s": round(p90(t_direct), 3),
        "T_submit_median_s": round(med(t_submit), 2), "submit_repeat": args.submit_repeat,
        "overhead_ratio_dispatch_over_direct": round(med(t_dispatch) / med(t_direct), 2),
        "speedup_submit_over_dispatch": round(med(t_submit) / med(t_dispatch), 1),
        "target_dispatch_median_le_0.75s": med(t_dispatch) <= 0.75,
        "target_speedup_ge_20": med(t_submit) / med(t_dispatch) >= 20,
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
