"""Shared fixtures: one warm local SparkSession for the whole test run.

A cold session costs about 10 s and a job on a warm one about 0.15 s, so every test that needs
Spark shares this one (local[2], UI off, few shuffle partitions).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Python workers must run the venv's interpreter, or they miss the project's packages.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
# The host name may resolve to an outside address; Spark binds to loopback here.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def local_spark_builder(app_name: str = "tests"):
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .config("spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}")
    )


@pytest.fixture(scope="session")
def spark():
    session = local_spark_builder().getOrCreate()
    yield session
    session.stop()
