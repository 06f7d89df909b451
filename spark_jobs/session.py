"""The SparkSession the entry points use when they are not handed one."""

from __future__ import annotations

from pyspark.sql import SparkSession


def get_or_create(app_name: str = "spark_jobs") -> SparkSession:
    """The active session (spark-submit, Databricks) or a new one with the project's defaults.

    Under spark-submit and on Databricks a session already exists with the cluster's
    configuration; only a bare ``python -m spark_jobs`` gets the local defaults below.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app_name)
    return builder.getOrCreate()
