"""The profile job: per column its type, VALID / INVALID / EMPTY counts and value histograms.

Two passes over the data, whatever the number of columns:

1. one ``select`` of aggregate expressions for every column at once: counts, min, max, mean,
   standard deviation and approximate distinct counts, and for string columns how many
   values fit each candidate type (to find the type the values mostly have);
2. one ``explode`` + ``groupBy``: each row yields a (column, key) pair per column — the bucket
   index for numbers and dates, the value itself for anything else — so all histograms and top-k
   lists come out of one shuffle.

(This module is not called ``profile``: run as a script, spark_jobs/ is sys.path[0] and a
``profile.py`` there would shadow the standard library's, which cProfile imports.)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

BUCKETS = 20
# Pass 2 counts numbers in finer buckets: five make one bucket shown, and the quartiles are read
# off them (within 1/100 of the range) instead of a percentile sketch per column in pass 1,
# which cost more than every other aggregate of that pass together.
FINE = 5 * BUCKETS
TOP_K = 20

# Candidate types for text columns, in the order a tie is broken. Values are matched against
# patterns, not cast with try_cast: a failed cast costs a Java exception per value, which made
# this pass ten times slower on text columns.
_NUM = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_DATETIME = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"
_CANDIDATES = ("Integer", "Decimal", "Boolean", "Datetime")


def type_name(dtype: T.DataType) -> str:
    """Spark type -> the Wrangle type name a profile shows."""
    if isinstance(dtype, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return "Integer"
    if isinstance(dtype, (T.FloatType, T.DoubleType, T.DecimalType)):
        return "Decimal"
    if isinstance(dtype, T.BooleanType):
        return "Boolean"
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return "Datetime"
    if isinstance(dtype, T.DateType):
        return "Date"
    if isinstance(dtype, T.ArrayType):
        return "Array"
    if isinstance(dtype, (T.MapType, T.StructType)):
        return "Object"
    return "String"


@dataclass
class _Col:
    name: str
    index: int
    dtype: T.DataType
    kind: str  # "numeric" (numbers, dates, datetimes: bucketed) or "categorical" (top-k)
    wrangle_type: str

    @property
    def ref(self) -> Column:
        return F.col(f"`{self.name.replace('`', '``')}`")

    def alias(self, what: str) -> str:
        return f"c{self.index}_{what}"


def _numeric_value(c: _Col) -> Column:
    """The value a numeric histogram buckets: numbers as double, dates as epoch seconds."""
    if isinstance(c.dtype, T.DateType):
        return F.unix_timestamp(c.ref.cast("timestamp")).cast("double")
    if isinstance(c.dtype, (T.TimestampType, T.TimestampNTZType)):
        return F.unix_micros(c.ref.cast("timestamp")).cast("double") / 1e6
    if isinstance(c.dtype, T.StringType):
        return _as_number(c.ref)
    return c.ref.cast("double")


def _as_number(text: Column) -> Column:
    """A text's number, or null when it is not one (without a failed cast per value)."""
    return F.when(text.rlike(_NUM), F.trim(text).cast("double"))


def _is_empty(c: _Col) -> Column:
    if isinstance(c.dtype, T.StringType):
        return c.ref.isNull() | (F.trim(c.ref) == "")
    return c.ref.isNull()


def profile_dataframe(df: DataFrame, mismatches: dict[str, int] | None = None) -> dict[str, Any]:
    """The profile of ``df`` in the shape GET /v4/jobGroups/{id}/profile answers."""
    mismatches = mismatches or {}
    cols = [
        _Col(f.name, i, f.dataType, "numeric" if type_name(f.dataType) in ("Integer", "Decimal", "Date", "Datetime") else "categorical",
             type_name(f.dataType))
        for i, f in enumerate(df.schema.fields)
    ]
    if not cols:
        return {"columnTypes": {}, "profilerTypeCheckHistograms": {}, "profilerValidValueHistograms": {}}

    # -- pass 1: every aggregate of every column in one select -------------------------------
    # Text columns first get their number (one pattern match) and the type checks in a
    # projection, so each value is matched once however many aggregates use the result.
    derived: list[Column] = []
    for c in cols:
        if isinstance(c.dtype, T.StringType):
            text = F.trim(c.ref)
            num = F.when(c.ref.rlike(_NUM), text.cast("double"))
            derived += [
                num.alias(c.alias("n")),
                (num.isNotNull() & (F.instr(text, ".") == 0) & (F.instr(F.lower(text), "e") == 0)).alias(c.alias("is_Integer")),
                num.isNotNull().alias(c.alias("is_Decimal")),
                F.lower(text).isin("true", "false").alias(c.alias("is_Boolean")),
                # The pattern only where the fifth character can start a date's month.
                F.when(F.substring(text, 5, 1) == "-", text.rlike(_DATETIME)).otherwise(False).alias(c.alias("is_Datetime")),
            ]
    source = df.select("*", *derived) if derived else df
    aggs: list[Column] = [F.count(F.lit(1)).alias("rows")]
    for c in cols:
        aggs.append(F.sum(F.when(_is_empty(c), 1).otherwise(0)).alias(c.alias("empty")))
        aggs.append(F.approx_count_distinct(c.ref).alias(c.alias("distinct")))
        if isinstance(c.dtype, T.StringType):
            for name in _CANDIDATES:
                aggs.append(F.sum(F.col(c.alias(f"is_{name}")).cast("int")).alias(c.alias(f"fit_{name}")))
            v = F.col(c.alias("n"))
        elif c.kind == "numeric":
            v = _numeric_value(c)
        else:
            continue
        aggs += [
            F.min(v).alias(c.alias("min")),
            F.max(v).alias(c.alias("max")),
            F.avg(v).alias(c.alias("mean")),
            F.stddev(v).alias(c.alias("stddev")),
        ]
    stats = source.select(*aggs).first().asDict()
    rows = int(stats["rows"])

    # Decide each string column's type: the candidate most non-empty values fit, if most do.
    invalid: dict[str, int] = {}
    for c in cols:
        empty = int(stats[c.alias("empty")] or 0)
        non_empty = rows - empty
        if isinstance(c.dtype, T.StringType):
            best, best_fit = "String", 0
            for name in _CANDIDATES:
                fit = int(stats[c.alias(f"fit_{name}")] or 0)
                if fit > best_fit:
                    best, best_fit = name, fit
            if non_empty and best_fit * 2 > non_empty:
                c.wrangle_type = best
                invalid[c.name] = non_empty - best_fit
                if best in ("Integer", "Decimal"):
                    c.kind = "numeric"
            else:
                invalid[c.name] = 0
        else:
            # A typed column's invalid values are the ones settype could not convert: they
            # became nulls, so they are taken out of the empty count.
            invalid[c.name] = int(mismatches.get(c.name, 0))

    # -- pass 2: all histograms and top-k lists from one explode + groupBy -------------------
    pairs = []
    for c in cols:
        if c.kind == "numeric":
            lo, hi = stats.get(c.alias("min")), stats.get(c.alias("max"))
            if lo is None or hi is None:
                continue
            width = (hi - lo) / FINE if hi > lo else 1.0
            idx = F.least(F.floor((_numeric_value(c) - F.lit(lo)) / F.lit(width)), F.lit(FINE - 1))
            key = idx.cast("string")
            valid = _numeric_value(c).isNotNull()
        else:
            key = c.ref.cast("string")
            valid = ~_is_empty(c)
        pairs.append(F.when(valid, F.struct(F.lit(c.index).alias("c"), key.alias("k"))))
    counts: dict[int, list[tuple[str, int]]] = {}
    if pairs:
        exploded = df.select(F.explode(F.array(*pairs)).alias("p")).where(F.col("p").isNotNull())
        grouped = exploded.groupBy(F.col("p.c").alias("c"), F.col("p.k").alias("k")).count()
        ranked = grouped.withColumn(
            "r", F.row_number().over(Window.partitionBy("c").orderBy(F.desc("count"), F.asc("k")))
        ).where(F.col("r") <= max(TOP_K, FINE))
        for r in ranked.collect():
            counts.setdefault(int(r["c"]), []).append((r["k"], int(r["count"])))

    column_types, type_checks, valid_values = {}, {}, {}
    for c in cols:
        empty = int(stats[c.alias("empty")] or 0)
        bad = invalid[c.name]
        if not isinstance(c.dtype, T.StringType):
            empty = max(empty - bad, 0)
        valid_n = rows - empty - bad
        column_types[c.name] = [c.wrangle_type]
        type_checks[c.name] = [
            {"key": "VALID", "count": valid_n},
            {"key": "INVALID", "count": bad},
            {"key": "EMPTY", "count": empty},
        ]
        entry: dict[str, Any] = {"distinct": int(stats[c.alias("distinct")] or 0), "distinctApproximate": True}
        if c.kind == "numeric" and stats.get(c.alias("min")) is not None:
            entry.update(_numeric_entry(c, stats, counts.get(c.index, [])))
        else:
            top = sorted(counts.get(c.index, []), key=lambda kv: (-kv[1], kv[0]))[:TOP_K]
            entry["topk"] = [{"key": k, "count": n} for k, n in top]
        valid_values[c.name] = entry
    # Exactly the contract's three keys (a row count is the sum of any column's type checks).
    return {
        "columnTypes": column_types,
        "profilerTypeCheckHistograms": type_checks,
        "profilerValidValueHistograms": valid_values,
    }


def _numeric_entry(c: _Col, stats: dict, bucket_counts: list[tuple[str, int]]) -> dict[str, Any]:
    lo, hi = float(stats[c.alias("min")]), float(stats[c.alias("max")])
    fine = [0] * FINE
    for k, n in bucket_counts:
        fine[int(k)] += n
    n_buckets = BUCKETS if hi > lo else 1
    width = (hi - lo) / n_buckets if hi > lo else 0.0
    per = FINE // n_buckets
    show = _formatter(c)
    buckets = [
        {"low": show(lo + i * width), "high": show(hi if i == n_buckets - 1 else lo + (i + 1) * width),
         "count": sum(fine[i * per:(i + 1) * per])}
        for i in range(n_buckets)
    ]
    mean, sd = stats.get(c.alias("mean")), stats.get(c.alias("stddev"))
    return {
        "min": show(lo),
        "max": show(hi),
        "mean": show(mean) if mean is not None else None,
        # For dates and datetimes the standard deviation is in seconds.
        "stddev": None if sd is None or math.isnan(sd) else sd,
        "quartiles": [show(q) for q in _quartiles_from(fine, lo, (hi - lo) / FINE)],
        "buckets": buckets,
    }


def _quartiles_from(counts: list[int], lo: float, width: float) -> list[float]:
    """Quartiles read off fine bucket counts, linear within a bucket."""
    total = sum(counts)
    out = []
    for q in (0.25, 0.5, 0.75):
        target, seen = q * total, 0
        for i, n in enumerate(counts):
            if n and seen + n >= target:
                out.append(lo + (i + (target - seen) / n) * width)
                break
            seen += n
    return out


def _formatter(c: _Col):
    """Dates and datetimes are bucketed as epoch seconds and shown as ISO text."""
    if c.wrangle_type == "Date":
        return lambda v: dt.datetime.fromtimestamp(v, dt.timezone.utc).date().isoformat()
    if c.wrangle_type == "Datetime" and not isinstance(c.dtype, T.StringType):
        return lambda v: dt.datetime.fromtimestamp(v, dt.timezone.utc).isoformat()
    if c.wrangle_type == "Integer":
        return lambda v: int(round(v)) if v is not None and float(v).is_integer() else v
    return lambda v: v
