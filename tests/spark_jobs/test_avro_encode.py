"""The column-wise Avro encoder against fastavro, byte for byte (no Spark here).

fastavro is the independent reference: for every type the project writes, the bytes of a whole
block from ``encode_batch`` must equal fastavro's ``schemaless_writer`` output for the same
records, and container files must read back with ``fastavro.reader``.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal

import fastavro
import numpy as np
import pyarrow as pa
import pytest
from pyspark.sql import types as T

from spark_jobs.datasources.avro_encode import (
    block,
    encode_batch,
    file_header,
    varint,
    zigzag_varints,
)
from spark_jobs.datasources.avro_schema import AvroSchemaError, avro_to_spark, spark_to_avro

UTC = dt.timezone.utc

SPARK_SCHEMA = T.StructType([
    T.StructField("l", T.LongType()),
    T.StructField("i", T.IntegerType()),
    T.StructField("d", T.DoubleType()),
    T.StructField("f", T.FloatType()),
    T.StructField("s", T.StringType()),
    T.StructField("b", T.BooleanType()),
    T.StructField("day", T.DateType()),
    T.StructField("ts", T.TimestampType()),
    T.StructField("dec", T.DecimalType(20, 4)),
    T.StructField("bin", T.BinaryType()),
    T.StructField("req", T.LongType(), nullable=False),
])
ARROW_SCHEMA = pa.schema([
    ("l", pa.int64()), ("i", pa.int32()), ("d", pa.float64()), ("f", pa.float32()),
    ("s", pa.string()), ("b", pa.bool_()), ("day", pa.date32()),
    ("ts", pa.timestamp("us", tz="UTC")), ("dec", pa.decimal128(20, 4)), ("bin", pa.binary()),
    pa.field("req", pa.int64(), nullable=False),
])
ROWS = [
    {"l": 1, "i": 2, "d": 1.5, "f": 2.5, "s": 'héllo, "q"\n', "b": True, "day": dt.date(2024, 2, 29),
     "ts": dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "dec": Decimal("-12345678901234.5678"),
     "bin": b"\x00\xff", "req": 0},
    {"l": None, "i": None, "d": None, "f": None, "s": None, "b": None, "day": None, "ts": None,
     "dec": None, "bin": None, "req": -1},
    {"l": -2**63, "i": -2**31, "d": float("inf"), "f": -0.0, "s": "", "b": False, "day": dt.date(1900, 1, 1),
     "ts": dt.datetime(1960, 1, 1, 0, 0, 0, 1, tzinfo=UTC), "dec": Decimal("0.0000"), "bin": b"", "req": 63},
    {"l": 2**63 - 1, "i": 2**31 - 1, "d": -1e300, "f": 0.25, "s": "x" * 300, "b": True,
     "day": dt.date(9999, 12, 31), "ts": dt.datetime(2262, 1, 1, tzinfo=UTC),
     "dec": Decimal("9999999999999999.9999"), "bin": bytes(range(256)), "req": 64},
    {"l": 64, "i": -64, "d": 0.1, "f": 2.0 ** -100, "s": "日本", "b": False, "day": dt.date(1970, 1, 1),
     "ts": dt.datetime(1970, 1, 1, tzinfo=UTC), "dec": Decimal("-0.0001"), "bin": b"\x80", "req": -65},
    {"l": None, "i": 7, "d": None, "f": 3.0, "s": None, "b": True, "day": None,
     "ts": dt.datetime(2000, 6, 15, 12, 0, 0, 999999, tzinfo=UTC), "dec": Decimal("128.0000"), "bin": None,
     "req": 2**40},
]


def fastavro_bytes(schema: dict, rows: list[dict]) -> bytes:
    parsed = fastavro.parse_schema(schema)
    buf = io.BytesIO()
    for r in rows:
        fastavro.schemaless_writer(buf, parsed, r)
    return buf.getvalue()


def ours(schema: dict, batch: pa.RecordBatch) -> bytes:
    return bytes(memoryview(encode_batch(batch, [f["type"] for f in schema["fields"]])))


def test_every_type_encodes_exactly_as_fastavro():
    schema = spark_to_avro(SPARK_SCHEMA)
    batch = pa.RecordBatch.from_pylist(ROWS, schema=ARROW_SCHEMA)
    assert ours(schema, batch) == fastavro_bytes(schema, ROWS)


def test_a_sliced_batch_encodes_only_its_rows():
    # Arrow slices share buffers with an offset; the encoder must honour it.
    schema = spark_to_avro(SPARK_SCHEMA)
    batch = pa.RecordBatch.from_pylist(ROWS, schema=ARROW_SCHEMA).slice(2, 3)
    assert ours(schema, batch) == fastavro_bytes(schema, ROWS[2:5])


def test_varints_match_fastavro_across_every_byte_length():
    values = [0, -1, 1, 63, -64, 64, -65, 8191, 8192, 2**20, -2**35, 2**49, 2**56, -2**62, 2**63 - 1, -2**63]
    seg = zigzag_varints(np.array(values, np.int64))
    expected = fastavro_bytes({"type": "record", "name": "r", "fields": [{"name": "v", "type": "long"}]},
                              [{"v": v} for v in values])
    assert bytes(seg.data) == expected
    assert [len(varint(v)) for v in values] == list(seg.lengths)
    assert b"".join(varint(v) for v in values) == expected


def java_decimal_bytes(unscaled: int) -> bytes:
    """BigInteger.toByteArray(): what Spark's avro writer puts in a decimal (minimal length)."""
    n = (unscaled if unscaled >= 0 else ~unscaled).bit_length() // 8 + 1
    return unscaled.to_bytes(n, "big", signed=True)


def test_decimals_are_minimal_twos_complement_as_java_writes_them():
    # fastavro writes -128 as ff80; Java (and so Spark) as 80: both decode the same, we follow Java.
    unscaled = [0, 1, -1, 127, 128, -128, -129, 255, 32767, -32768, -32769, 10**38 - 1, -(10**38 - 1)]
    values = [Decimal(u) for u in unscaled]
    schema = spark_to_avro(T.StructType([T.StructField("v", T.DecimalType(38, 0), False)]))
    batch = pa.RecordBatch.from_pylist([{"v": v} for v in values],
                                       schema=pa.schema([pa.field("v", pa.decimal128(38, 0), False)]))
    expected = b"".join(varint(len(java_decimal_bytes(u))) + java_decimal_bytes(u) for u in unscaled)
    data = ours(schema, batch)
    assert data == expected
    buf, parsed = io.BytesIO(data), fastavro.parse_schema(schema)
    assert [fastavro.schemaless_reader(buf, parsed, None)["v"] for _ in values] == values


def test_nested_types_go_through_fastavro_and_read_back():
    spark_schema = T.StructType([
        T.StructField("tags", T.ArrayType(T.StringType())),
        T.StructField("attrs", T.MapType(T.StringType(), T.LongType())),
        T.StructField("point", T.StructType([T.StructField("x", T.DoubleType()), T.StructField("y", T.DoubleType())])),
    ])
    schema = spark_to_avro(spark_schema)
    rows = [{"tags": ["a", None, "b"], "attrs": [("k", 1), ("z", None)], "point": {"x": 1.0, "y": None}},
            {"tags": None, "attrs": None, "point": None}]
    arrow_schema = pa.schema([("tags", pa.list_(pa.string())), ("attrs", pa.map_(pa.string(), pa.int64())),
                              ("point", pa.struct([("x", pa.float64()), ("y", pa.float64())]))])
    batch = pa.RecordBatch.from_pylist(rows, schema=arrow_schema)
    got = fastavro.schemaless_reader  # one record at a time from our bytes
    buf = io.BytesIO(ours(schema, batch))
    parsed = fastavro.parse_schema(schema)
    back = [got(buf, parsed, None), got(buf, parsed, None)]
    assert back == [{"tags": ["a", None, "b"], "attrs": {"k": 1, "z": None}, "point": {"x": 1.0, "y": None}},
                    {"tags": None, "attrs": None, "point": None}]
    assert buf.read() == b""


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_container_files_read_back_with_fastavro(codec):
    schema = spark_to_avro(SPARK_SCHEMA)
    types = [f["type"] for f in schema["fields"]]
    sync = os.urandom(16)
    batch = pa.RecordBatch.from_pylist(ROWS, schema=ARROW_SCHEMA)
    parts = [file_header(schema, codec, sync)]
    for piece in (batch.slice(0, 4), batch.slice(4)):
        parts.extend(block(piece.num_rows, encode_batch(piece, types), codec, sync))
    data = b"".join(bytes(memoryview(p)) if not isinstance(p, bytes) else p for p in parts)
    reader = fastavro.reader(io.BytesIO(data))
    assert reader.codec == codec
    assert list(reader) == ROWS


def test_nulls_in_a_column_declared_not_nullable_name_the_column():
    schema = spark_to_avro(T.StructType([T.StructField("req", T.LongType(), nullable=False)]))
    batch = pa.RecordBatch.from_pylist([{"req": None}], schema=pa.schema([("req", pa.int64())]))
    with pytest.raises(ValueError, match="column 'req'"):
        encode_batch(batch, [f["type"] for f in schema["fields"]])


def test_schema_mapping_is_spark_avros():
    schema = spark_to_avro(T.StructType([
        T.StructField("a", T.LongType()),
        T.StructField("b", T.DecimalType(10, 2), False),
        T.StructField("c", T.TimestampType()),
        T.StructField("n", T.StructType([T.StructField("x", T.IntegerType())])),
    ]))
    assert schema == {
        "type": "record", "name": "topLevelRecord", "fields": [
            {"name": "a", "type": ["long", "null"]},
            {"name": "b", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
            {"name": "c", "type": [{"type": "long", "logicalType": "timestamp-micros"}, "null"]},
            {"name": "n", "type": [{"type": "record", "name": "n", "namespace": "topLevelRecord",
                                    "fields": [{"name": "x", "type": ["int", "null"]}]}, "null"]},
        ],
    }
    assert avro_to_spark(spark_to_avro(SPARK_SCHEMA)) == SPARK_SCHEMA


def test_a_type_without_avro_equivalent_is_refused_by_name():
    with pytest.raises(AvroSchemaError, match="column 'm'.*map keys must be strings"):
        spark_to_avro(T.StructType([T.StructField("m", T.MapType(T.IntegerType(), T.StringType()))]))
