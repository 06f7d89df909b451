"""The ``pyavro`` Python Data Source on the real local Spark: files read back with fastavro."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import fastavro
import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import classpath
from spark_jobs.avro_support import avro_format
from spark_jobs.datasources import avro

UTC = dt.timezone.utc

SCHEMA = T.StructType([
    T.StructField("id", T.LongType()),
    T.StructField("i", T.IntegerType()),
    T.StructField("d", T.DoubleType()),
    T.StructField("f", T.FloatType()),
    T.StructField("s", T.StringType()),
    T.StructField("b", T.BooleanType()),
    T.StructField("day", T.DateType()),
    T.StructField("ts", T.TimestampType()),
    T.StructField("dec", T.DecimalType(20, 4)),
    T.StructField("bin", T.BinaryType()),
])
ROWS = [
    (1, 2, 1.5, 2.5, 'héllo, "q"\n', True, dt.date(2024, 2, 29),
     dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), Decimal("-12345678901234.5678"), b"\x00\xff"),
    (2, None, None, None, None, None, None, None, None, None),
    (3, -2**31, float("-inf"), -0.0, "", False, dt.date(1900, 1, 1),
     dt.datetime(1960, 1, 1, 0, 0, 0, 1, tzinfo=UTC), Decimal("0.0000"), b""),
    (4, 2**31 - 1, -1e300, 0.25, "日本 ✓", True, dt.date(9999, 12, 31),
     dt.datetime(2262, 1, 1, tzinfo=UTC), Decimal("9999999999999999.9999"), bytes(range(256))),
    (-2**63, 0, 0.1, 3.0, "x" * 500, False, dt.date(1970, 1, 1),
     dt.datetime(1970, 1, 1, tzinfo=UTC), Decimal("-0.0001"), b"\x80"),
    (2**63 - 1, 7, None, None, None, True, None,
     dt.datetime(2000, 6, 15, 12, 0, 0, 999999, tzinfo=UTC), Decimal("128.0000"), None),
]
NAMES = [f.name for f in SCHEMA.fields]


def as_dicts(rows):
    return [dict(zip(NAMES, r)) for r in rows]


def read_folder(folder: Path) -> tuple[list[dict], list[fastavro.reader]]:
    records, readers = [], []
    for f in sorted(folder.iterdir()):
        with open(f, "rb") as fo:
            r = fastavro.reader(fo)
            records.extend(r)
            readers.append(r)
    return records, readers


def test_this_runtime_has_no_native_avro_so_pyavro_is_chosen(spark):
    # The pip pyspark carries AvroFileFormat (for to_avro) but not the avro source itself.
    assert classpath.has_class(spark, "org.apache.spark.sql.avro.AvroFileFormat")
    assert not classpath.has_native_avro(spark)
    assert avro_format(spark) == "pyavro"


def test_the_native_source_is_chosen_when_the_classpath_has_it(spark):
    key = (spark.sparkContext.applicationId, classpath.AVRO_SOURCE_CLASS)
    saved = classpath._cache[key]
    classpath._cache[key] = True  # what the one-time look-up answers on a cluster with the jar
    try:
        assert avro_format(spark) == "avro"
    finally:
        classpath._cache[key] = saved


def test_every_type_round_trips_through_fastavro_and_spark(spark, tmp_path):
    avro.register(spark)
    out = tmp_path / "all"
    df = spark.createDataFrame(ROWS, SCHEMA).repartition(3)
    df.write.format("pyavro").mode("append").save(str(out))

    records, readers = read_folder(out)
    assert sorted(records, key=lambda r: r["id"]) == sorted(as_dicts(ROWS), key=lambda r: r["id"])
    assert all(r.codec == "snappy" for r in readers)
    assert {f["name"]: f["type"] for f in readers[0].writer_schema["fields"]}["ts"] == [
        {"type": "long", "logicalType": "timestamp-micros"}, "null"]
    # One file per non-empty partition, Spark's part naming, nothing else left in the folder.
    names = sorted(os.listdir(out))
    assert 1 <= len(names) <= 3
    assert all(n.startswith("part-0000") and n.endswith("-c000.avro") for n in names)

    back = spark.read.format("pyavro").load(str(out))
    assert back.schema == SCHEMA
    got = sorted((tuple(r) for r in back.collect()), key=lambda r: r[0])
    expected = [tuple(v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in r) for r in ROWS]
    assert got == sorted(expected, key=lambda r: r[0])  # collect() gives session-zone (UTC) naive times


def test_one_file_per_partition_and_overwrite_replaces(spark, tmp_path):
    avro.register(spark)
    out = tmp_path / "parts"
    spark.range(100).repartition(4).write.format("pyavro").mode("append").save(str(out))
    assert len(os.listdir(out)) == 4
    spark.range(1000, 1010).coalesce(1).write.format("pyavro").mode("append").save(str(out))
    assert len(os.listdir(out)) == 5
    spark.range(5).coalesce(1).write.format("pyavro").option("compression", "deflate") \
        .mode("overwrite").save(str(out))
    records, readers = read_folder(out)
    assert sorted(r["id"] for r in records) == [0, 1, 2, 3, 4]
    assert [r.codec for r in readers] == ["deflate"]


def test_no_rows_still_leaves_a_file_with_the_schema(spark, tmp_path):
    avro.register(spark)
    out = tmp_path / "empty"
    spark.createDataFrame([], SCHEMA).write.format("pyavro").mode("append").save(str(out))
    records, readers = read_folder(out)
    assert records == [] and len(readers) == 1
    assert [f["name"] for f in readers[0].writer_schema["fields"]] == NAMES
    assert spark.read.format("pyavro").load(str(out)).schema == SCHEMA


def test_a_failing_task_leaves_nothing_behind(spark, tmp_path):
    avro.register(spark)
    out = tmp_path / "failed"
    out.mkdir()
    boom = F.udf(lambda x: 1 // (x - 77), T.LongType())  # one row of one partition raises
    df = spark.range(200).repartition(4).withColumn("v", boom("id"))
    with pytest.raises(Exception, match="ZeroDivisionError"):
        df.write.format("pyavro").mode("append").save(str(out))
    assert list(out.iterdir()) == []  # no part files, no _temporary


def test_files_written_by_fastavro_read_back_through_spark(spark, tmp_path):
    avro.register(spark)
    folder = tmp_path / "ext"
    folder.mkdir()
    schema = {"type": "record", "name": "r", "fields": [
        {"name": "k", "type": "string"},
        {"name": "n", "type": ["null", "long"]},  # null first, as many writers do
        {"name": "when", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "color", "type": {"type": "enum", "name": "c", "symbols": ["RED", "BLUE"]}},
    ]}
    rows = [{"k": "a", "n": None, "when": dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC), "color": "RED"},
            {"k": "b", "n": 42, "when": dt.datetime(1999, 1, 1, tzinfo=UTC), "color": "BLUE"}]
    for i, codec in enumerate(["deflate", "snappy"]):
        with open(folder / f"f{i}.avro", "wb") as fo:
            fastavro.writer(fo, schema, rows[i:i + 1], codec=codec)
    (folder / "_ignored").write_text("not avro")
    df = spark.read.format("pyavro").load(str(folder))
    assert [(f.name, f.dataType.simpleString(), f.nullable) for f in df.schema.fields] == [
        ("k", "string", False), ("n", "bigint", True), ("when", "timestamp", False), ("color", "string", False)]
    assert sorted(tuple(r) for r in df.collect()) == [
        ("a", None, dt.datetime(2024, 5, 6, 7, 8, 9, 123000), "RED"),
        ("b", 42, dt.datetime(1999, 1, 1), "BLUE"),
    ]


def test_unknown_codec_is_refused_by_name(spark, tmp_path):
    avro.register(spark)
    with pytest.raises(Exception, match="avro compression 'lzma' is not supported"):
        spark.range(1).write.format("pyavro").option("compression", "lzma").mode("append") \
            .save(str(tmp_path / "x"))
