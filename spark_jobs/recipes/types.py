"""Wrangle data types, their Spark counterparts, and conversions that never fail a job.

Spark 4 runs in ANSI mode: a plain cast of 'abc' to a number raises and fails the whole job.
Wrangle instead treats a value that does not fit a type as missing. Every conversion here is
therefore a ``try_cast`` (or a function that returns null), never a failing cast.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import types as T

STRING, INTEGER, DECIMAL, BOOLEAN, DATETIME, DATE = (
    "String", "Integer", "Decimal", "Boolean", "Datetime", "Date")
ARRAY, OBJECT, NULL, ANY = "Array", "Object", "Null", "Any"

SETTYPE_TYPES = (STRING, INTEGER, DECIMAL, BOOLEAN, DATETIME, DATE)
NUMERIC = (INTEGER, DECIMAL)

# settype: Wrangle type -> the Spark type a value is converted to.
SPARK_TYPE_NAMES = {
    STRING: "string",
    INTEGER: "bigint",
    DECIMAL: "double",
    BOOLEAN: "boolean",
    DATETIME: "timestamp",
    DATE: "date",
}


def wrangle_type(dt: T.DataType) -> str:
    if isinstance(dt, (T.StringType, T.VarcharType, T.CharType)):
        return STRING
    if isinstance(dt, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return INTEGER
    if isinstance(dt, (T.FloatType, T.DoubleType, T.DecimalType)):
        return DECIMAL
    if isinstance(dt, T.BooleanType):
        return BOOLEAN
    if isinstance(dt, (T.TimestampType, T.TimestampNTZType)):
        return DATETIME
    if isinstance(dt, T.DateType):
        return DATE
    if isinstance(dt, T.ArrayType):
        return ARRAY
    if isinstance(dt, (T.MapType, T.StructType)):
        return OBJECT
    if isinstance(dt, T.NullType):
        return NULL
    return ANY


def parse_type_name(name: str) -> str | None:
    """'integer' / 'Integer' / 'int' -> 'Integer'; None for an unknown name."""
    low = str(name).strip().strip("'\"").lower()
    aliases = {"string": STRING, "integer": INTEGER, "int": INTEGER, "decimal": DECIMAL,
               "double": DECIMAL, "float": DECIMAL, "boolean": BOOLEAN, "bool": BOOLEAN,
               "datetime": DATETIME, "timestamp": DATETIME, "date": DATE}
    return aliases.get(low)


def as_number(c: Column, t: str) -> Column:
    if t in NUMERIC:
        return c
    if t == BOOLEAN:
        return c.cast("int")
    if t == NULL:
        return c.cast("double")
    return c.try_cast("double")


def as_integer(c: Column, t: str) -> Column:
    if t == INTEGER:
        return c
    if t == DECIMAL:
        return c.try_cast("bigint")
    if t == BOOLEAN:
        return c.cast("bigint")
    if t == NULL:
        return c.cast("bigint")
    return c.try_cast("double").try_cast("bigint")


def as_string(c: Column, t: str) -> Column:
    return c if t == STRING else c.cast("string")


def as_boolean(c: Column, t: str) -> Column:
    if t == BOOLEAN:
        return c
    if t in NUMERIC:
        return c != 0
    if t == NULL:
        return c.cast("boolean")
    return c.try_cast("boolean")


def as_datetime(c: Column, t: str) -> Column:
    if t == DATETIME:
        return c
    if t in (DATE, NULL):
        return c.cast("timestamp")
    return c.try_cast("timestamp")


def as_date(c: Column, t: str) -> Column:
    if t == DATE:
        return c
    if t in (DATETIME, NULL):
        return c.cast("date")
    return c.try_cast("date")


def convert(c: Column, t: str, want: str) -> Column:
    """``c`` (of Wrangle type ``t``) as a ``want`` value; what does not fit becomes null."""
    if want in (ANY, t):
        return c
    if want == DECIMAL:
        return as_number(c, t).cast("double")
    return {
        "number": as_number, INTEGER: as_integer, STRING: as_string, BOOLEAN: as_boolean,
        DATETIME: as_datetime, DATE: as_date,
    }[want](c, t)


def common_type(types: list[str]) -> str:
    """The type of IF / COALESCE results: one shared type, numbers widen, else String."""
    ts = {t for t in types if t != NULL}
    if not ts:
        return NULL
    if len(ts) == 1:
        return ts.pop()
    if ts <= set(NUMERIC):
        return DECIMAL
    if ts <= {DATE, DATETIME}:
        return DATETIME
    return STRING
