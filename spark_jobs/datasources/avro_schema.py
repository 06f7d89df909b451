"""Spark schema <-> Avro schema, mapped as Spark's own avro source maps them.

So a file written here reads back on a cluster with spark-avro as the same columns, and a file
Spark wrote reads back here: nullable columns are ``[type, "null"]`` unions, the record is
``topLevelRecord``, timestamps are ``timestamp-micros``, decimals are ``bytes`` with the
``decimal`` logical type.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import types as T

RECORD_NAME = "topLevelRecord"


class AvroSchemaError(ValueError):
    """A column type that has no Avro equivalent (or an Avro type with no Spark one)."""


def spark_to_avro(schema: T.StructType, name: str = RECORD_NAME) -> dict:
    return _record(schema, name, namespace="")


def _record(schema: T.StructType, name: str, namespace: str) -> dict:
    # Nested records need unique full names: Spark names them after the field path.
    child_ns = f"{namespace}.{name}" if namespace else name
    fields = []
    for f in schema.fields:
        try:
            avro_type = _type(f.dataType, f.name, child_ns)
        except AvroSchemaError as e:
            raise AvroSchemaError(f"column {f.name!r}: {e}") from None
        fields.append({"name": f.name, "type": [avro_type, "null"] if f.nullable else avro_type})
    out = {"type": "record", "name": name, "fields": fields}
    if namespace:
        out["namespace"] = namespace
    return out


def _type(dt: T.DataType, name: str, namespace: str) -> Any:
    if isinstance(dt, T.BooleanType):
        return "boolean"
    if isinstance(dt, (T.ByteType, T.ShortType, T.IntegerType)):
        return "int"
    if isinstance(dt, T.LongType):
        return "long"
    if isinstance(dt, T.FloatType):
        return "float"
    if isinstance(dt, T.DoubleType):
        return "double"
    if isinstance(dt, T.StringType):
        return "string"
    if isinstance(dt, T.BinaryType):
        return "bytes"
    if isinstance(dt, T.DateType):
        return {"type": "int", "logicalType": "date"}
    if isinstance(dt, T.TimestampNTZType):
        return {"type": "long", "logicalType": "local-timestamp-micros"}
    if isinstance(dt, T.TimestampType):
        return {"type": "long", "logicalType": "timestamp-micros"}
    if isinstance(dt, T.DecimalType):
        return {"type": "bytes", "logicalType": "decimal", "precision": dt.precision, "scale": dt.scale}
    if isinstance(dt, T.NullType):
        return "null"
    if isinstance(dt, T.ArrayType):
        item = _type(dt.elementType, name, namespace)
        return {"type": "array", "items": [item, "null"] if dt.containsNull else item}
    if isinstance(dt, T.MapType):
        if not isinstance(dt.keyType, T.StringType):
            raise AvroSchemaError(f"map keys must be strings in Avro, not {dt.keyType.simpleString()}")
        value = _type(dt.valueType, name, namespace)
        return {"type": "map", "values": [value, "null"] if dt.valueContainsNull else value}
    if isinstance(dt, T.StructType):
        return _record(dt, name, namespace)
    raise AvroSchemaError(f"type {dt.simpleString()} has no Avro equivalent")


def avro_to_spark(schema: Any) -> T.StructType:
    """The Spark schema of an Avro file's record schema (for reading)."""
    if not (isinstance(schema, dict) and schema.get("type") == "record"):
        raise AvroSchemaError("an Avro data file's schema must be a record to be read as a table")
    return T.StructType([_field(f) for f in schema["fields"]])


def _field(f: dict) -> T.StructField:
    dt, nullable = _spark_type(f["type"])
    return T.StructField(f["name"], dt, nullable)


def _spark_type(t: Any) -> tuple[T.DataType, bool]:
    if isinstance(t, list):
        branches = [b for b in t if b != "null"]
        nullable = len(branches) < len(t)
        if len(branches) != 1:
            raise AvroSchemaError(f"union {t} has no Spark equivalent (only [T, null] unions)")
        return _spark_type(branches[0])[0], nullable
    if isinstance(t, str):
        simple = {
            "boolean": T.BooleanType(), "int": T.IntegerType(), "long": T.LongType(),
            "float": T.FloatType(), "double": T.DoubleType(), "string": T.StringType(),
            "bytes": T.BinaryType(), "null": T.NullType(),
        }
        if t in simple:
            return simple[t], t == "null"
        raise AvroSchemaError(f"named type reference {t!r} is not supported here")
    logical = t.get("logicalType")
    base = t["type"]
    if logical == "date" and base == "int":
        return T.DateType(), False
    if logical in ("timestamp-micros", "timestamp-millis") and base == "long":
        return T.TimestampType(), False
    if logical in ("local-timestamp-micros", "local-timestamp-millis") and base == "long":
        return T.TimestampNTZType(), False
    if logical == "decimal":
        return T.DecimalType(t["precision"], t.get("scale", 0)), False
    if base == "record":
        return avro_to_spark(t), False
    if base == "array":
        item, item_null = _spark_type(t["items"])
        return T.ArrayType(item, item_null), False
    if base == "map":
        value, value_null = _spark_type(t["values"])
        return T.MapType(T.StringType(), value, value_null), False
    if base == "enum":
        return T.StringType(), False
    if base == "fixed":
        return T.BinaryType(), False
    return _spark_type(base)
