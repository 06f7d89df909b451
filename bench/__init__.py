"""Benchmarks: one module ``bench/bench_<topic>.py`` per topic, each with ``main(argv=None)``
printing its figures (ratios against a baseline run in the same process and session).

``python -m bench`` runs them all (``make bench``); ``bench.session()`` is the warm local session
they share when run together; ``bench.datagen`` makes the data.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def session(app_name: str = "bench"):
    """The one local[2] session every benchmark of a ``python -m bench`` run shares."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "3g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .config("spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}")
        .getOrCreate()
    )


def jvm_pid(spark) -> int | None:
    try:
        return int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    except Exception:  # noqa: BLE001 - not a classic session: no JVM of ours to measure
        return None


def cpu_clock(spark) -> Callable[[], float] | None:
    """CPU seconds used so far by the driver JVM (where local executors run) and this Python
    process. Unlike wall time it hardly moves with what else runs on the machine, so it is the
    steadier figure on a shared box. None where /proc is not there to read."""
    pid = jvm_pid(spark)
    stat = Path(f"/proc/{pid}/stat")
    if pid is None or not stat.exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")

    def clock() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        jvm = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        own = os.times()
        return jvm + own.user + own.system

    return clock


def take_turns(cases: dict[str, Callable[[], object]], repeat: int,
               cpu: Callable[[], float] | None = None) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each run of each case: one warm-up each, then ``repeat`` rounds
    in which the cases take turns (so a burst of load on the machine hits every case alike)."""
    for fn in cases.values():
        fn()
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            c0 = cpu() if cpu else 0.0
            t = time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t)
            if cpu:
                cpus[name].append(cpu() - c0)
    return wall, cpus


def median(xs: list[float]) -> float:
    return statistics.median(xs)
