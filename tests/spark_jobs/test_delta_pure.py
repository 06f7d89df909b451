"""Delta's pure parts, by exact equality: partition folders and values, add-action paths and
statistics, schema planning, session configuration, commit files. No Spark session here."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from pyspark.sql import types as T

from spark_jobs.datasources.delta_files import (
    escape_path_name,
    merge_column_stats,
    partition_dir,
    partition_value,
    stats_json,
)
from spark_jobs.delta_support import (
    DELTA_CATALOG,
    DELTA_EXTENSION,
    DeltaTableError,
    classpath_entries,
    delta_session_conf,
    has_delta_jars,
    read_conf_file,
)
from spark_jobs.spec import Output
from spark_jobs.writers.delta import commit_files, plan_schema

UTC = dt.timezone.utc


def test_partition_values_and_folders_follow_the_protocol():
    assert [partition_value(v) for v in [None, True, False, 7, -1.5, "a/b", dt.date(2024, 2, 29),
                                         Decimal("1.10")]] == [
        None, "true", "false", "7", "-1.5", "a/b", "2024-02-29", "1.10"]
    assert partition_value(dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2024-01-02T03:04:05.000006Z"
    assert partition_value(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02 03:04:05.000000"
    assert escape_path_name('a/b=c:d%e"f') == "a%2Fb%3Dc%3Ad%25e%22f"
    assert escape_path_name("plain text-ü") == "plain text-ü"
    assert partition_dir(["country", "day"], ["a/b", None]) == "country=a%2Fb/day=__HIVE_DEFAULT_PARTITION__"
    assert partition_dir([], []) == ""
    with pytest.raises(ValueError, match="binary"):
        partition_value(b"x")


def test_statistics_json_is_exact():
    cols = merge_column_stats([
        {"id": (3, 9, 0), "name": ("b", "x" * 40, 1), "ts": (dt.datetime(2024, 1, 1, 0, 0, 0, 1500, tzinfo=UTC),
                                                         dt.datetime(2024, 1, 1, 0, 0, 0, 2500, tzinfo=UTC), 0),
         "price": (Decimal("-1.25"), Decimal("10.50"), 2), "flag": (False, True, 0), "bin": (b"a", b"b", 0),
         "f": (float("nan"), 1.0, 0), "day": (dt.date(2024, 1, 1), dt.date(2024, 1, 1), 0)},
        {"id": (1, 4, 2), "name": ("a", "c", 0), "ts": (None, None, 3), "price": (Decimal("0"), Decimal("3"), 0),
         "flag": (True, True, 0), "bin": (b"c", b"c", 0), "f": (0.5, 2.0, 0),
         "day": (dt.date(2023, 12, 31), dt.date(2024, 1, 2), None)},
    ])
    assert json.loads(stats_json(10, cols)) == {
        "numRecords": 10,
        # Timestamps widen to whole milliseconds; a string over 32 characters keeps a prefix as its
        # minimum and has no maximum; booleans and binary get no bounds; a NaN bound in one row
        # group leaves the file's bound unknown.
        "minValues": {"id": 1, "name": "a", "price": -1.25, "day": "2023-12-31"},
        "maxValues": {"id": 9, "price": 10.5, "f": 2.0, "day": "2024-01-02"},
        "nullCount": {"id": 2, "name": 1, "ts": 3, "price": 2, "flag": 0, "bin": 0, "f": 0},
    }
    # Decimals are exact JSON numbers, not floats.
    assert '"price":-1.25' in stats_json(1, {"price": (Decimal("-1.25"), Decimal("10.50"), 0)})
    assert '"price":10.50' in stats_json(1, {"price": (Decimal("-1.25"), Decimal("10.50"), 0)})
    ts = stats_json(1, {"ts": (dt.datetime(2024, 1, 1, 0, 0, 0, 1500, tzinfo=UTC),
                               dt.datetime(2024, 1, 1, 0, 0, 0, 2500, tzinfo=UTC), 0)})
    assert json.loads(ts)["minValues"] == {"ts": "2024-01-01T00:00:00.001Z"}
    assert json.loads(ts)["maxValues"] == {"ts": "2024-01-01T00:00:00.003Z"}


SCHEMA = T.StructType([T.StructField("id", T.LongType(), False), T.StructField("name", T.StringType())])


def out(action="append", **kw) -> Output:
    return Output(jobId=1, path="/t", action=action, format="delta", **kw)


def test_a_new_table_takes_the_data_schema_all_nullable():
    plan = plan_schema(SCHEMA, out(partitionBy=["name"]), None, None, "w")
    assert plan.schema == T.StructType([T.StructField("id", T.LongType(), True),
                                        T.StructField("name", T.StringType(), True)])
    assert plan.partition_by == ["name"] and plan.new_columns == []


def test_schema_rules_against_an_existing_table():
    table = T.StructType([T.StructField("id", T.LongType()), T.StructField("name", T.StringType()),
                          T.StructField("gone", T.DoubleType())])
    # A column the output lacks is fine (null in the new rows); partitioning is the table's.
    plan = plan_schema(SCHEMA, out(), table, ["name"], "w")
    assert plan.schema == table and plan.partition_by == ["name"] and plan.new_columns == []

    wider = T.StructType([*SCHEMA.fields, T.StructField("extra", T.IntegerType(), False)])
    with pytest.raises(DeltaTableError, match=r"columns \['extra'\] are not in the table; set mergeSchema"):
        plan_schema(wider, out(), table, [], "w")
    merged = plan_schema(wider, out(mergeSchema=True), table, [], "w")
    assert merged.schema.names == ["id", "name", "gone", "extra"]
    assert merged.new_columns == [T.StructField("extra", T.IntegerType(), True)]

    retyped = T.StructType([T.StructField("id", T.StringType())])
    with pytest.raises(DeltaTableError, match=r"id \(bigint in the table, string here\)"):
        plan_schema(retyped, out(mergeSchema=True), table, [], "w")
    with pytest.raises(DeltaTableError, match=r"partitionBy \['id'\] differs from the table's partition columns \['name'\]"):
        plan_schema(SCHEMA, out(partitionBy=["id"]), table, ["name"], "w")
    with pytest.raises(DeltaTableError, match=r"partitionBy names columns the data does not have: \['nope'\]"):
        plan_schema(SCHEMA, out(partitionBy=["nope"]), None, None, "w")


def test_session_conf_only_when_a_delta_jar_is_there():
    assert delta_session_conf([]) == {}
    assert delta_session_conf(["/opt/spark/jars/delta-storage-4.0.0.jar", "org.foo:bar_2.13:1.0"]) == {}
    want = {"spark.sql.extensions": DELTA_EXTENSION, "spark.sql.catalog.spark_catalog": DELTA_CATALOG}
    assert delta_session_conf(["io.delta:delta-spark_2.13:4.0.0"]) == want
    assert delta_session_conf(["/opt/spark/jars/delta-spark_2.13-4.0.0.jar"]) == want
    assert delta_session_conf(["hdfs:///libs/delta-core_2.12-2.4.0.jar"]) == want
    # Existing settings are kept: the extension is added to the list, a catalog is not replaced.
    assert delta_session_conf(["io.delta:delta-spark_2.13:4.0.0"], {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.catalog.spark_catalog": "my.Catalog"}) == {
        "spark.sql.extensions":
            f"org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions,{DELTA_EXTENSION}"}
    assert delta_session_conf(["io.delta:delta-spark_2.13:4.0.0"], {
        "spark.sql.extensions": DELTA_EXTENSION, "spark.sql.catalog.spark_catalog": DELTA_CATALOG}) == {}


def test_classpath_entries_come_from_conf_and_the_distribution(tmp_path):
    (tmp_path / "jars").mkdir()
    (tmp_path / "jars" / "delta-spark_2.13-4.0.0.jar").write_bytes(b"")
    entries = classpath_entries({"spark.jars": "/a.jar,/b.jar", "spark.jars.packages": "io.x:y_2.13:1",
                                 "spark.driver.extraClassPath": "/c.jar:/d.jar"}, str(tmp_path))
    assert entries == ["/a.jar", "/b.jar", "io.x:y_2.13:1", "/c.jar", "/d.jar",
                       str(tmp_path / "jars" / "delta-spark_2.13-4.0.0.jar")]
    assert has_delta_jars(entries)
    assert not has_delta_jars(classpath_entries({"spark.jars": "/a.jar"}, None))


def test_spark_defaults_files_are_read(tmp_path):
    f = tmp_path / "spark-defaults.conf"
    f.write_text("# comment\nspark.jars.packages   io.delta:delta-spark_2.13:4.0.0\n\nspark.master\tlocal[2]\n")
    assert read_conf_file(str(f)) == {"spark.jars.packages": "io.delta:delta-spark_2.13:4.0.0",
                                      "spark.master": "local[2]"}
    assert read_conf_file(str(tmp_path / "missing.conf")) == {}


def test_commit_files_are_the_add_actions_of_the_commit():
    entry = "\n".join(json.dumps(a) for a in [
        {"commitInfo": {"operation": "WRITE"}},
        {"add": {"path": "p=a%252Fb/part-0.parquet", "size": 10}},
        {"remove": {"path": "old.parquet"}},
        {"add": {"path": "s3://bucket/t/part-1.parquet", "size": 20}},
    ]).encode()
    assert [(f.path, f.size) for f in commit_files("/t", entry)] == [
        ("/t/p=a%2Fb/part-0.parquet", 10), ("s3://bucket/t/part-1.parquet", 20)]
