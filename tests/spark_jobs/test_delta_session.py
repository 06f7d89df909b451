"""The session the project builds gets Delta's extension and catalog exactly when the Delta jars
will be on its classpath. (No session is started here: the builders are inspected, not run.)"""

from __future__ import annotations

from pyspark.sql import SparkSession

from spark_jobs.delta_support import DELTA_CATALOG, DELTA_EXTENSION, configure_delta


def fresh_builder() -> SparkSession.Builder:
    return SparkSession.Builder()  # options are per builder: nothing leaks into the test session


def test_delta_jars_in_the_builder_add_the_extension_and_catalog(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))  # no spark-defaults.conf there
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    builder = fresh_builder().config("spark.jars.packages", "io.delta:delta-spark_2.13:4.0.0")
    options = configure_delta(builder)._options
    assert options["spark.sql.extensions"] == DELTA_EXTENSION
    assert options["spark.sql.catalog.spark_catalog"] == DELTA_CATALOG


def test_no_delta_jars_leave_the_builder_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    builder = fresh_builder().config("spark.jars", "/opt/libs/postgresql-42.7.jar")
    assert configure_delta(builder)._options == {"spark.jars": "/opt/libs/postgresql-42.7.jar"}


def test_jars_named_in_spark_defaults_or_submit_args_count(tmp_path, monkeypatch):
    (tmp_path / "spark-defaults.conf").write_text(
        "spark.jars  /opt/jars/delta-spark_2.13-4.0.0.jar,/opt/jars/delta-storage-4.0.0.jar\n"
        "spark.sql.extensions  com.example.MyExtension\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    options = configure_delta(fresh_builder())._options
    assert options["spark.sql.extensions"] == f"com.example.MyExtension,{DELTA_EXTENSION}"

    (tmp_path / "spark-defaults.conf").write_text("")
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--packages io.delta:delta-spark_2.13:4.0.0 pyspark-shell")
    assert configure_delta(fresh_builder())._options["spark.sql.catalog.spark_catalog"] == DELTA_CATALOG
