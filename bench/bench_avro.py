"""avro against parquet: the same cached data written by the project's writers, one warm session.

Figures (median of --repeat runs, the two formats taking turns so machine load hits both alike):
- T_parquet: the ``pqt`` writer (Spark's parquet, snappy), staged and committed;
- T_avro: the ``avro`` writer, staged and committed; on this pip pyspark that is the ``pyavro``
  Python Data Source (Arrow batches encoded column-wise), snappy like parquet;
- ratio T_avro / T_parquet (target <= 2.0);
- the same pair uncompressed (avro codec null, parquet compression none), for reference.
The input is N rows x 8 columns of ints, doubles, strings and timestamps, cached in memory
first, so the figures are the writes alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time


def _session():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return (SparkSession.builder.master("local[2]").appName("bench-avro")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "2g")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
            .getOrCreate())


def generate(spark, rows: int):
    """8 columns: 2 longs, 2 doubles, 3 strings, 1 timestamp (with microseconds)."""
    try:
        from bench.datagen import dataframe  # the engine's generator, where it exists

        return dataframe(spark, rows)
    except ImportError:
        pass
    from pyspark.sql import functions as F

    return spark.range(rows).select(
        F.col("id"),
        (F.col("id") % 1000).alias("qty"),
        F.round(F.rand(1) * 1000, 2).alias("price"),
        (F.randn(2) * 10 + 50).alias("score"),
        F.concat(F.lit("city_"), (F.col("id") % 500).cast("string")).alias("city"),
        F.sha1(F.col("id").cast("string")).alias("token"),
        F.element_at(F.array(F.lit("new"), F.lit("shipped"), F.lit("returned")),
                     (F.col("id") % 3 + 1).cast("int")).alias("status"),
        F.timestamp_micros(F.lit(1767225600_000000) + F.col("id") * 7_000_123).alias("ts"),
    )


def _stage_and_commit(spark, df, fmt: str, path: str) -> None:
    from spark_jobs.spec import Output
    from spark_jobs.writers import WriteContext, writer_for

    output = Output(jobId=1, path=path, action="overwrite", format=fmt)
    writer_for(fmt).stage(df, output, WriteContext(spark=spark, job_group_id=1, run_tag="bench")).commit()


def _size(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))


def _turns(cases: dict, repeat: int) -> dict[str, float]:
    """Median seconds of each case; one warm-up each, then the cases take turns."""
    for fn in cases.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}


def main(argv: list[str] | None = None, spark=None) -> dict:
    p = argparse.ArgumentParser(prog="bench_avro", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--repeat", type=int, default=3)
    args, _ = p.parse_known_args(argv)

    from spark_jobs import classpath

    spark = spark or _session()
    work = tempfile.mkdtemp(prefix="bench-avro-")
    try:
        df = generate(spark, args.rows).cache()
        df.count()
        paths = {k: os.path.join(work, k) for k in ("pqt", "avro", "pqt0", "avro0")}
        native = classpath.has_native_avro(spark)
        avro_fmt = "avro" if native else "pyavro"
        if not native:
            from spark_jobs.datasources import avro

            avro.register(spark)
        cases = {
            "parquet": lambda: _stage_and_commit(spark, df, "pqt", paths["pqt"]),
            "avro": lambda: _stage_and_commit(spark, df, "avro", paths["avro"]),
            "parquet_none": lambda: df.write.mode("overwrite").option("compression", "none")
            .parquet(paths["pqt0"]),
            "avro_null": lambda: df.write.format(avro_fmt).option("compression", "uncompressed")
            .mode("overwrite").save(paths["avro0"]),
        }
        med = _turns(cases, args.repeat)
        figures = {
            "rows": args.rows,
            "avro_source": avro_fmt,
            "T_parquet_s": round(med["parquet"], 3),
            "T_avro_s": round(med["avro"], 3),
            "ratio_avro_parquet": round(med["avro"] / med["parquet"], 3),
            "T_parquet_uncompressed_s": round(med["parquet_none"], 3),
            "T_avro_uncompressed_s": round(med["avro_null"], 3),
            "ratio_uncompressed": round(med["avro_null"] / med["parquet_none"], 3),
            "MB_parquet": round(_size(paths["pqt"]) / 1e6, 1),
            "MB_avro": round(_size(paths["avro"]) / 1e6, 1),
        }
        df.unpersist()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"avro vs parquet, {args.rows:,} rows x 8 columns, median of {args.repeat} (source: {avro_fmt})")
    print(f"  parquet (snappy)     {figures['T_parquet_s']:8.2f} s   {figures['MB_parquet']:8.1f} MB")
    print(f"  avro    (snappy)     {figures['T_avro_s']:8.2f} s   {figures['MB_avro']:8.1f} MB")
    print(f"  ratio avro/parquet   {figures['ratio_avro_parquet']:8.2f}     (target <= 2.0)")
    print(f"  uncompressed: parquet {figures['T_parquet_uncompressed_s']:.2f} s, "
          f"avro {figures['T_avro_uncompressed_s']:.2f} s, ratio {figures['ratio_uncompressed']:.2f}")
    return figures


if __name__ == "__main__":
    main()
