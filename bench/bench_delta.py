"""Delta against parquet: the same cached data written by the project's writers, one warm session.

Figures (median of --repeat runs, the two formats taking turns so machine load hits both alike):
- T_parquet: the ``pqt`` writer (Spark's parquet, snappy), staged and committed by rename;
- T_delta: the ``delta`` writer, an overwrite (one new table version per run); on this pip
  pyspark that is the deltalake path: the executors write snappy parquet through ``pydelta``,
  the driver commits one delta-rs transaction with per-file statistics;
- ratio T_delta / T_parquet (target <= 1.3), and the CPU seconds of the JVM and the Python
  workers under it (the steadier figure on a shared machine).
The input (bench.datagen: N rows x 8 columns of ints, doubles, strings, timestamps) is cached
in memory first, so the figures are the writes alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile

from bench import median, session, take_turns
from bench.bench_avro import _stage_and_commit, generate, tree_cpu_clock
from bench.datagen import DEFAULT_ROWS


def _size(folder: str) -> int:
    total = 0
    for dirpath, _, names in os.walk(folder):
        if "_delta_log" not in dirpath:
            total += sum(os.path.getsize(os.path.join(dirpath, n)) for n in names)
    return total


def main(argv: list[str] | None = None, spark=None) -> dict:
    p = argparse.ArgumentParser(prog="bench_delta", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    p.add_argument("--repeat", type=int, default=3)
    args, _ = p.parse_known_args(argv)

    from spark_jobs.delta_support import use_delta_spark

    spark = spark or session()
    work = tempfile.mkdtemp(prefix="bench-delta-")
    try:
        df = generate(spark, args.rows).cache()
        df.count()
        pqt, table = os.path.join(work, "pqt"), os.path.join(work, "table")
        wall, cpu = take_turns({
            "parquet": lambda: _stage_and_commit(spark, df, "pqt", pqt),
            "delta": lambda: _stage_and_commit(spark, df, "delta", table),
        }, args.repeat, tree_cpu_clock(spark))
        med = {k: median(v) for k, v in wall.items()}
        cpu_med = {k: median(v) for k, v in cpu.items() if v}
        from deltalake import DeltaTable

        versions = DeltaTable(table).version() + 1
        figures = {
            "rows": args.rows,
            "delta_path": "delta-spark" if use_delta_spark(spark) else "deltalake",
            "T_parquet_s": round(med["parquet"], 3),
            "T_delta_s": round(med["delta"], 3),
            "ratio_delta_parquet": round(med["delta"] / med["parquet"], 3),
            "cpu_parquet_s": round(cpu_med.get("parquet", 0.0), 3),
            "cpu_delta_s": round(cpu_med.get("delta", 0.0), 3),
            "cpu_ratio_delta_parquet": round(cpu_med["delta"] / cpu_med["parquet"], 3) if cpu_med else None,
            "table_versions": versions,
            "MB_parquet": round(_size(pqt) / 1e6, 1),
            "MB_delta_current": round(sum(os.path.getsize(u) for u in DeltaTable(table).file_uris()) / 1e6, 1),
        }
        df.unpersist()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"delta vs parquet, {args.rows:,} rows x 8 columns, median of {args.repeat} "
          f"(path: {figures['delta_path']})")
    print(f"  parquet (snappy)    {figures['T_parquet_s']:8.2f} s   {figures['MB_parquet']:8.1f} MB")
    print(f"  delta   (overwrite) {figures['T_delta_s']:8.2f} s   {figures['MB_delta_current']:8.1f} MB"
          f"   ({figures['table_versions']} versions)")
    print(f"  ratio delta/parquet {figures['ratio_delta_parquet']:8.2f}     (target <= 1.3)")
    if figures["cpu_ratio_delta_parquet"] is not None:
        print(f"  CPU (JVM + Python workers): parquet {figures['cpu_parquet_s']:.2f} s, "
              f"delta {figures['cpu_delta_s']:.2f} s, ratio {figures['cpu_ratio_delta_parquet']:.2f}")
    return figures


if __name__ == "__main__":
    main()
