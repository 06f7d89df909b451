"""The job engine against hand-written PySpark, in one warm session.

(a) The job: read csv -> 3 steps (derive, filter, drop) -> write parquet + a single gzip csv
    with header + json lines, through ``run_job`` (staging, commit by rename, observed row
    counts, the transform persisted and computed once), against a hand-written script producing
    the same files. The script caches the transform too and joins the gzip csv parts by hand,
    as a careful person would; it does no staging and no row counting. Target ratio <= 1.05.
(b) ``asSingleFile`` csv against a multi-file csv of the same (cached) data, both through the
    csv writer; plain and gzip. Target ratio <= 1.3 (the join is a copy on the driver).

Each figure is the median of ``--repeat`` runs (default 3) after one warm-up, the cases taking
turns so a burst of load on the machine hits both alike. Wall time and CPU time (the driver JVM,
where local executors run, plus this process) are both given: on a shared machine the CPU
figure is the steadier one.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import shutil
from pathlib import Path

from bench import OUT, cpu_clock, median, session, take_turns
from bench.datagen import DEFAULT_ROWS, csv_input, dataframe

STEPS = [
    {"op": "derive", "value": "UPPER(city)", "as": "city_upper"},
    {"op": "filter", "row": "status != 'returned'", "action": "Keep"},
    {"op": "drop", "col": ["token"]},
]


def job_spec(src: str, out: Path) -> dict:
    return {
        "jobGroupId": 1,
        "jobs": {"wrangle": 1},
        "datasets": [
            {"kind": "imported", "id": 1, "uri": src, "format": "csv"},
            {"kind": "wrangled", "id": 2, "input": {"kind": "imported", "id": 1}, "recipe": STEPS},
        ],
        "target": 2,
        "outputs": [
            {"jobId": 2, "path": str(out / "data.parquet"), "action": "overwrite", "format": "pqt"},
            {"jobId": 3, "path": str(out / "data.csv"), "action": "overwrite", "format": "csv",
             "asSingleFile": True, "compression": "gzip", "header": True},
            {"jobId": 4, "path": str(out / "data.json"), "action": "overwrite", "format": "json"},
        ],
        "resultUri": str(out / "result.json"),
    }


def run_engine(spark, src: str, out: Path) -> int:
    from spark_jobs import run_job

    result = run_job(job_spec(src, out), spark)
    if result.status != "Complete":
        raise RuntimeError(json.dumps(result.model_dump(mode="json"), indent=1))
    return result.jobs[1].rows


def run_by_hand(spark, src: str, out: Path) -> None:
    """What a person would write for the same three files."""
    from pyspark.sql import functions as F

    df = spark.read.option("header", True).option("escape", '"').csv(src)
    df = (df.withColumn("city_upper", F.upper("city"))
          .filter(F.col("status") != "returned")
          .drop("token")
          .cache())
    df.write.mode("overwrite").parquet(str(out / "data.parquet"))
    parts = out / "csv-parts"
    (df.write.mode("overwrite").option("compression", "gzip").option("escape", '"')
     .option("ignoreLeadingWhiteSpace", False).option("ignoreTrailingWhiteSpace", False)
     .csv(str(parts)))
    with open(out / "data.csv.gz", "wb") as f:
        f.write(gzip.compress((",".join(df.columns) + "\n").encode(), mtime=0))
        for part in sorted(glob.glob(str(parts / "part-*"))):
            with open(part, "rb") as p:
                shutil.copyfileobj(p, f, 1 << 22)
    shutil.rmtree(parts)
    df.write.mode("overwrite").json(str(out / "data.json"))
    df.unpersist()


def write_csv(spark, df, path: Path, single: bool, compression: str) -> None:
    from spark_jobs.spec import Output
    from spark_jobs.writers import WriteContext, writer_for

    o = Output(jobId=1, path=str(path), action="overwrite", format="csv", header=True,
               asSingleFile=single, compression=compression)
    writer_for("csv").stage(df, o, WriteContext(spark=spark, job_group_id=1, run_tag="bench")).commit()


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="bench_engine", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default=str(OUT / "engine"))
    args, _ = p.parse_known_args(argv)
    spark = session("bench-engine")
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    src = csv_input(spark, args.rows)

    cpu = cpu_clock(spark)

    # (a) the job, engine against hand-written
    engine_out, hand_out = out / "engine", out / "hand"
    hand_out.mkdir(parents=True)
    wall_a, cpu_a = take_turns({
        "run_job": lambda: run_engine(spark, src, engine_out),
        "hand-written": lambda: run_by_hand(spark, src, hand_out),
    }, args.repeat, cpu)
    rows = json.loads((engine_out / "result.json").read_text())["jobs"][1]["rows"]

    # (b) one file joined from parallel parts against the parts themselves, on cached data
    df = dataframe(spark, args.rows).cache()
    df.count()
    cases = {}
    for comp in ("none", "gzip"):
        cases[f"multi-{comp}"] = lambda c=comp: write_csv(spark, df, out / f"multi-{c}", False, c)
        cases[f"single-{comp}"] = lambda c=comp: write_csv(spark, df, out / f"single-{c}.csv", True, c)
    wall_b, cpu_b = take_turns(cases, args.repeat, cpu)
    df.unpersist()
    wall = {k: median(v) for k, v in {**wall_a, **wall_b}.items()}
    cpus = {k: median(v) for k, v in {**cpu_a, **cpu_b}.items() if v}

    def ratio(d: dict, a: str, b: str) -> float | None:
        return round(d[a] / d[b], 3) if a in d and b in d else None

    pairs = {"job": ("run_job", "hand-written"), "csv_single": ("single-none", "multi-none"),
             "csv_gzip_single": ("single-gzip", "multi-gzip")}
    figures = {
        "rows_in": args.rows,
        "rows_out": rows,
        "repeat": args.repeat,
        "median_wall_s": {k: round(v, 2) for k, v in wall.items()},
        "median_cpu_s": {k: round(v, 2) for k, v in cpus.items()},
        "ratio_wall": {k: ratio(wall, *ab) for k, ab in pairs.items()},
        "ratio_cpu": {k: ratio(cpus, *ab) for k, ab in pairs.items()},
        "runs_wall_s": {k: [round(x, 2) for x in v] for k, v in {**wall_a, **wall_b}.items()},
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    print(f"rows: {args.rows:,} in, {rows:,} out; median of {args.repeat} runs after a warm-up; "
          f"load average {figures['load_average']}")
    targets = {"job": 1.05, "csv_single": 1.3, "csv_gzip_single": 1.3}
    for key, (a, b) in pairs.items():
        cpu_text = (f"   cpu {cpus[a]:7.2f} s / {cpus[b]:7.2f} s = {figures['ratio_cpu'][key]:.3f}"
                    if a in cpus else "")
        print(f"{key:16s} {a} / {b}: wall {wall[a]:7.2f} s / {wall[b]:7.2f} s = "
              f"{figures['ratio_wall'][key]:.3f}{cpu_text}   (target <= {targets[key]})")
    print(json.dumps(figures))
    shutil.rmtree(out, ignore_errors=True)
    return figures


if __name__ == "__main__":
    main()
