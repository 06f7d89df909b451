"""The spark environment's overhead: one job group on a standalone cluster against a plain
spark-submit of the equivalent hand-written PySpark script on the same cluster.

A local standalone cluster (master + 2 workers x 2 cores, on 127.0.0.1) is started for the run.
The job: read a csv of --rows rows (3 columns), add UPPER(name), write one csv file with a
header (overwrite). Figures, medians of --repeat alternating turns:

- T_plain: ``spark-submit --master spark://... plain.py`` from start to exit (client mode: for a
  Python app it is the only mode spark-submit offers on a standalone master);
- T_client: the launcher's adapter in client mode, from submit() until poll() reports the end
  (at its configured poll interval) and the result document is read;
- T_cluster: the same in standalone cluster mode (through the master's REST server; the driver
  runs on a worker);
- ratio = T_client / T_plain (target <= 1.10), and T_cluster / T_plain for information;
- CPU_plain / CPU_client: CPU seconds of the spark-submit process tree (driver side: the JVM and
  the Python driver; executors run under the workers) and their ratio. On a shared, loaded
  machine wall times swing by tens of percent from turn to turn; CPU seconds much less.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_SCRIPT = '''
import glob, os, shutil, sys
from pyspark.sql import SparkSession, functions as F
src, dst = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("plain").getOrCreate()
df = spark.read.option("header", True).csv(src)
tmp = dst + ".tmp"
df.withColumn("shout", F.upper("name")).coalesce(1).write.mode("overwrite").option("header", True).csv(tmp)
part = glob.glob(os.path.join(tmp, "part-*"))[0]
os.replace(part, dst)
shutil.rmtree(tmp)
spark.stop()
'''


def make_input(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "amount"])
        for i in range(rows):
            w.writerow([i, f"name {i % 977}", f"{i * 0.25:.2f}"])


def _run(tmp: Path, gid: int, src: Path, out: Path):
    from launcher.environments.base import Run
    from spark_jobs.spec import DatasetRef, ImportedDataset, JobIds, JobSpec, Output, WrangledDataset

    spec = JobSpec(
        jobGroupId=gid, jobs=JobIds(wrangle=gid * 10),
        datasets=[ImportedDataset(id=1, uri=str(src), format="csv"),
                  WrangledDataset(id=2, input=DatasetRef(kind="imported", id=1),
                                  recipe=[{"op": "derive", "value": "UPPER(name)", "as": "shout"}])],
        target=2,
        outputs=[Output(jobId=gid * 10 + 1, path=str(out), action="overwrite", format="csv",
                        header=True, asSingleFile=True)],
        resultUri=str(tmp / "results" / f"{gid}.json"))
    spec_path = tmp / "specs" / f"{gid}.json"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(spec.to_json())
    return Run(job_group_id=gid, spec=spec, spec_path=str(spec_path), user="bench",
               tag=f"jg-{gid}-bench{int(time.time())}", log_path=str(tmp / "logs" / f"{gid}.log"))


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped descendants: spark-submit trees
    return r.ru_utime + r.ru_stime


def time_launcher(env, run) -> float:
    t = time.perf_counter()
    handle = env.submit(run)
    while not (state := env.poll(handle)).has_terminated():
        time.sleep(env.poll_interval)
    doc = env.result(handle)
    elapsed = time.perf_counter() - t
    if state.state.value != "SUCCEEDED" or not doc or doc["status"] != "Complete":
        raise RuntimeError(f"bench run failed: {state}; log {run.log_path}")
    env.forget(handle.tag)
    return elapsed


def time_plain(cluster, script: Path, src: Path, out: Path, log: Path) -> float:
    from launcher.environments.spark_submit.settings import default_spark_submit

    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    t = time.perf_counter()
    with open(log, "a") as f:
        subprocess.run([default_spark_submit(), "--master", cluster.master_url, "--executor-memory", "512m",
                        "--total-executor-cores", "1", str(script), str(src), str(out)],
                       env=env, stdout=f, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="bench_spark_submit", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-cluster-mode", action="store_true", help="skip the T_cluster figure")
    args, _ = p.parse_known_args(argv)

    from launcher.environments.spark_submit.environment import SparkSubmitEnvironment
    from launcher.environments.spark_submit.local_cluster import LocalCluster
    from launcher.environments.spark_submit.settings import SparkSettings

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    tmp = Path(tempfile.mkdtemp(prefix="bench-spark-submit-"))
    cluster = LocalCluster(tmp / "cluster", workers=2, cores_per_worker=2, memory_per_worker="2g").start()
    try:
        src = tmp / "in" / "orders.csv"
        make_input(src, args.rows)
        script = tmp / "plain.py"
        script.write_text(PLAIN_SCRIPT)
        common = dict(master=cluster.master_url, executor_memory="512m", driver_memory="512m",
                      total_executor_cores=1)
        client_env = SparkSubmitEnvironment(SparkSettings(**common), tmp / "work")
        cluster_env = SparkSubmitEnvironment(
            SparkSettings(**common, deploy_mode="cluster", rest_url=cluster.rest_url,
                          master_ui_url=cluster.webui_url), tmp / "work")
        times: dict[str, list[float]] = {"plain": [], "client": [], "cluster": []}
        cpu: dict[str, list[float]] = {"plain": [], "client": []}
        gid = 0
        for _ in range(args.repeat):
            gid += 1
            c0 = children_cpu()
            times["plain"].append(time_plain(cluster, script, src, tmp / "out" / f"plain{gid}.csv", tmp / "plain.log"))
            c1 = children_cpu()
            times["client"].append(time_launcher(client_env, _run(tmp, gid, src, tmp / "out" / f"client{gid}.csv")))
            cpu["plain"].append(c1 - c0)
            cpu["client"].append(children_cpu() - c1)
            if not args.no_cluster_mode:
                gid += 1
                times["cluster"].append(time_launcher(cluster_env, _run(tmp, gid, src, tmp / "out" / f"cluster{gid}.csv")))
        med = {k: statistics.median(v) for k, v in times.items() if v}
        figures = {
            "rows": args.rows,
            "repeat": args.repeat,
            "T_plain_s": round(med["plain"], 2),
            "T_client_s": round(med["client"], 2),
            "ratio_client_vs_plain": round(med["client"] / med["plain"], 3),
            "poll_interval_s": client_env.poll_interval,
        }
        if "cluster" in med:
            figures["T_cluster_s"] = round(med["cluster"], 2)
            figures["ratio_cluster_vs_plain"] = round(med["cluster"] / med["plain"], 3)
        cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
        figures["CPU_plain_s"] = round(cpu_med["plain"], 2)
        figures["CPU_client_s"] = round(cpu_med["client"], 2)
        figures["cpu_ratio_client_vs_plain"] = round(cpu_med["client"] / cpu_med["plain"], 3)
        figures["turns_s"] = {k: [round(x, 1) for x in v] for k, v in times.items() if v}
        for name, value in figures.items():
            print(f"{name:>24}: {value}")
        return figures
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
