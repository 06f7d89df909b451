"""Profiling against the transform-and-write it follows, and against ydata-profiling.

Figures, in one session: each case runs once cold (timed for the record), then the two take
turns (``bench.take_turns``: one more warm-up run each, then --repeat rounds of one run each, so
a burst of load from elsewhere on the machine hits both alike); medians of wall seconds and of
CPU seconds (driver JVM, where the local executors run, plus this process):
- T_job: run_job on N rows x 8 columns (csv -> 3 settype steps over 5 columns -> parquet),
  profiler off;
- T_profile: the profile job (spark_jobs.column_profile) on that job's typed output, cached as the
  runner caches a target that is both written and profiled;
- ratio T_profile / T_job (target <= 0.5), wall and CPU;
- the cold runs, for the record: both pay for JIT compilation there, the profile more (its
  queries' code is new to the JVM; the job's csv and parquet code ran while writing the input);
- ydata-profiling's minimal mode on the same data in pandas (in its own virtualenv,
  .venv-ydata, created on first use: it pins numpy below what pyspark here uses), and its ratio
  to T_profile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YDATA_VENV = ROOT / ".venv-ydata"

_YDATA_SCRIPT = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from ydata_profiling import ProfileReport
df = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
ProfileReport(df, minimal=True, progress_bar=False).to_json()
print(time.perf_counter() - t)
"""


def make_input(spark, rows: int, path: str) -> None:
    """8 columns of ints, doubles, strings and timestamps, written as csv (all text, as imported)."""
    from pyspark.sql import functions as F

    df = spark.range(rows).select(
        F.col("id").alias("id"),
        (F.col("id") % 1000).alias("qty"),
        F.round(F.rand(1) * 1000, 2).alias("price"),
        F.round(F.randn(2) * 10 + 50, 3).alias("score"),
        F.concat(F.lit("city_"), (F.col("id") % 500).cast("string")).alias("city"),
        F.when(F.col("id") % 97 == 0, F.lit("n/a")).otherwise(F.concat(F.lit("c"), (F.col("id") % 37).cast("string"))).alias("code"),
        F.element_at(F.array(F.lit("new"), F.lit("shipped"), F.lit("returned")), (F.col("id") % 3 + 1).cast("int")).alias("status"),
        F.date_format(F.timestamp_seconds(F.lit(1767225600) + F.col("id") * 7), "yyyy-MM-dd HH:mm:ss").alias("ts"),
    )
    df.write.mode("overwrite").option("header", True).csv(path)


def spec_for(src: str, out: str, result: str) -> dict:
    steps = [
        {"op": "settype", "col": ["id", "qty"], "type": "Integer"},
        {"op": "settype", "col": ["price", "score"], "type": "Decimal"},
        {"op": "settype", "col": ["ts"], "type": "Datetime"},
    ]
    return {
        "jobGroupId": 1, "jobs": {"wrangle": 1},
        "datasets": [
            {"kind": "imported", "id": 1, "uri": src, "format": "csv"},
            {"kind": "wrangled", "id": 2, "input": {"kind": "imported", "id": 1}, "recipe": steps},
        ],
        "target": 2,
        "outputs": [{"jobId": 2, "path": out, "action": "overwrite", "format": "pqt"}],
        "resultUri": result,
    }


def _ydata_seconds(parquet_dir: str) -> float | None:
    py = YDATA_VENV / "bin" / "python"
    if not py.exists():
        print("creating .venv-ydata for ydata-profiling (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(YDATA_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "ydata-profiling", "pyarrow", "setuptools<81"], check=True)
    proc = subprocess.run([str(py), "-c", _YDATA_SCRIPT, parquet_dir], capture_output=True, text=True)
    if proc.returncode != 0:
        print("ydata-profiling failed:", proc.stderr[-2000:])
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None, spark=None) -> dict:
    p = argparse.ArgumentParser(prog="bench_profile", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-ydata", action="store_true", help="skip the ydata-profiling comparison")
    args, _ = p.parse_known_args(argv)

    from spark_jobs import run_job
    from spark_jobs.column_profile import profile_dataframe

    from bench import cpu_clock, session, take_turns

    spark = spark or session()
    work = tempfile.mkdtemp(prefix="bench-profile-")
    try:
        src, out, typed_dir = f"{work}/input", f"{work}/out", f"{work}/typed"
        make_input(spark, args.rows, src)
        spec = spec_for(src, out, f"{work}/result.json")
        t = time.perf_counter()
        run_job(spec, spark)
        first_job = time.perf_counter() - t
        # The profile reads its own copy: the job rewrites `out` on every turn.
        shutil.copytree(out, typed_dir)
        typed = spark.read.parquet(typed_dir).persist()
        typed.count()
        t = time.perf_counter()
        profile_dataframe(typed, {})
        first_profile = time.perf_counter() - t

        wall, cpu = take_turns({
            "job": lambda: run_job(spec, spark),
            "profile": lambda: profile_dataframe(typed, {}),
        }, args.repeat, cpu_clock(spark))
        typed.unpersist()
        t_job, t_profile = statistics.median(wall["job"]), statistics.median(wall["profile"])
        figures = {"rows": args.rows, "job_s": round(t_job, 3), "profile_s": round(t_profile, 3),
                   "profile_over_job": round(t_profile / t_job, 3)}
        if cpu["job"]:
            c_job, c_profile = statistics.median(cpu["job"]), statistics.median(cpu["profile"])
            figures.update({"job_cpu_s": round(c_job, 2), "profile_cpu_s": round(c_profile, 2),
                            "profile_over_job_cpu": round(c_profile / c_job, 3)})
        figures.update({"first_job_s": round(first_job, 2), "first_profile_s": round(first_profile, 2),
                        "profile_runs_s": [round(x, 2) for x in wall["profile"]],
                        "job_runs_s": [round(x, 2) for x in wall["job"]]})
        if not args.no_ydata:
            t_ydata = _ydata_seconds(out)
            if t_ydata is not None:
                figures["ydata_minimal_s"] = round(t_ydata, 3)
                figures["ydata_over_profile"] = round(t_ydata / t_profile, 2)
        print(json.dumps({"bench": "profile", **figures}))
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
