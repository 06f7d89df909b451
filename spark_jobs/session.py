"""The SparkSession the entry points use when they are not handed one."""

from __future__ import annotations

import os

from pyspark.sql import SparkSession

# Only for a bare ``python -m spark_jobs``: quiet, and a folder of results holds part files only.
LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
}


def get_or_create(app_name: str = "spark_jobs") -> SparkSession:
    """The active session (spark-submit, Databricks) or a new one.

    Under spark-submit and on Databricks the JVM is already running with the cluster's
    configuration (PYSPARK_GATEWAY_PORT is set) and nothing here overrides it. A bare
    ``python -m spark_jobs`` starts a local session (``SPARK_MASTER`` or ``local[*]``).
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Under spark-submit the app name is the launcher's tag (--name): cluster UIs and
        # recovery by name show it, so only a bare local run gets a name from here.
        builder = builder.appName(app_name).master(os.environ.get("SPARK_MASTER", "local[*]"))
        for key, value in LOCAL_DEFAULTS.items():
            builder = builder.config(key, value)
    from spark_jobs.delta_support import configure_delta  # Delta's extension when its jars are there

    return configure_delta(builder).getOrCreate()
