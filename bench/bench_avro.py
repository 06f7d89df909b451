"""avro against parquet: the same cached data written by the project's writers, one warm session.

Figures (median of --repeat runs, the two formats taking turns so machine load hits both alike):
- T_parquet: the ``pqt`` writer (Spark's parquet, snappy), staged and committed;
- T_avro: the ``avro`` writer, staged and committed; on this pip pyspark that is the ``pyavro``
  Python Data Source (Arrow batches encoded column-wise), snappy like parquet;
- ratio T_avro / T_parquet (target <= 2.0);
- the same pair uncompressed (avro codec null, parquet compression none), for reference;
- CPU seconds of the JVM and every process under it (the Python workers that encode) and their
  ratio: on a shared machine the steadier figure.
The input is bench.datagen's N rows x 8 columns of ints, doubles, strings and timestamps,
cached in memory first, so the figures are the writes alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from typing import Callable

from bench import jvm_pid, median, session, take_turns
from bench.datagen import DEFAULT_ROWS


def generate(spark, rows: int):
    """bench.datagen's 8 columns: 2 ints, 2 doubles, 3 strings, 1 timestamp (microseconds)."""
    from bench.datagen import dataframe

    return dataframe(spark, rows)


def _stage_and_commit(spark, df, fmt: str, path: str) -> None:
    from spark_jobs.spec import Output
    from spark_jobs.writers import WriteContext, writer_for

    output = Output(jobId=1, path=path, action="overwrite", format=fmt)
    writer_for(fmt).stage(df, output, WriteContext(spark=spark, job_group_id=1, run_tag="bench")).commit()


def tree_cpu_clock(spark) -> Callable[[], float] | None:
    """CPU seconds of the driver JVM *and every process under it* (the Python workers where a
    Python data source encodes), plus this process. bench.cpu_clock counts the JVM alone, which
    would leave out exactly the work the avro and delta writers do in Python."""
    pid = jvm_pid(spark)
    if pid is None or not os.path.exists(f"/proc/{pid}/stat"):
        return None
    tick = os.sysconf("SC_CLK_TCK")

    def stat(p: str) -> list[str] | None:
        try:
            with open(f"/proc/{p}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None

    def clock() -> float:
        children: dict[int, list[int]] = {}
        fields: dict[int, list[str]] = {}
        for p in os.listdir("/proc"):
            if p.isdigit() and (st := stat(p)) is not None:
                fields[int(p)] = st
                children.setdefault(int(st[1]), []).append(int(p))
        total, todo = 0, [pid]
        while todo:
            p = todo.pop()
            if p in fields:  # utime, stime, and the reaped children's cutime, cstime
                total += sum(int(x) for x in fields[p][11:15])
            todo.extend(children.get(p, []))
        own = os.times()
        return total / tick + own.user + own.system

    return clock


def _size(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))


def main(argv: list[str] | None = None, spark=None) -> dict:
    p = argparse.ArgumentParser(prog="bench_avro", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    p.add_argument("--repeat", type=int, default=3)
    args, _ = p.parse_known_args(argv)

    from spark_jobs import classpath

    spark = spark or session()
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
        wall, cpu = take_turns(cases, args.repeat, tree_cpu_clock(spark))
        med = {k: median(v) for k, v in wall.items()}
        cpu_med = {k: median(v) for k, v in cpu.items() if v}
        figures = {
            "rows": args.rows,
            "avro_source": avro_fmt,
            "T_parquet_s": round(med["parquet"], 3),
            "T_avro_s": round(med["avro"], 3),
            "ratio_avro_parquet": round(med["avro"] / med["parquet"], 3),
            "cpu_parquet_s": round(cpu_med.get("parquet", 0.0), 3),
            "cpu_avro_s": round(cpu_med.get("avro", 0.0), 3),
            "cpu_ratio_avro_parquet": round(cpu_med["avro"] / cpu_med["parquet"], 3) if cpu_med else None,
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
    if figures["cpu_ratio_avro_parquet"] is not None:
        print(f"  CPU (JVM + Python workers): parquet {figures['cpu_parquet_s']:.2f} s, "
              f"avro {figures['cpu_avro_s']:.2f} s, ratio {figures['cpu_ratio_avro_parquet']:.2f}")
    print(f"  uncompressed: parquet {figures['T_parquet_uncompressed_s']:.2f} s, "
          f"avro {figures['T_avro_uncompressed_s']:.2f} s, ratio {figures['ratio_uncompressed']:.2f}")
    return figures


if __name__ == "__main__":
    main()
