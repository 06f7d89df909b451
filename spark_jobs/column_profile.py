"""The profile job: per column its type, VALID / INVALID / EMPTY counts and value histograms.

Two passes over the data, whatever the number of columns:

1. one ``select`` of aggregates over the typed number, date and datetime columns only: the row
   count, each column's min and max (the histogram's range) and its approximate distinct count
   (``approx_count_distinct``, HyperLogLog++, relative standard deviation 5%). Skipped when
   there are no such columns. It is this small on purpose: HyperLogLog++ is an imperative
   aggregate, which turns whole-stage code generation off for every aggregate beside it (with
   the text columns' per-row type checks beside it this pass took 2.8 s at 2M rows, 1.3 s
   without it);
2. one ``stack`` + ``groupBy`` over rows (column, key): the fine bucket of each number / date
   value, with the sum and the sum of squares of the value less its bucket's low edge (so mean
   and standard deviation come out exactly, without cancellation), and the value itself for
   every other column. A projection after the aggregate, in the same job, then type-checks each
   *distinct* text value once instead of each row. Everything about a text or other non-number
   column comes from its (value, count) groups: empty, valid and invalid counts, the exact
   distinct count, the top values and, for text that is mostly numbers, min, max, mean,
   standard deviation and histogram of those numbers (weighted by the counts).

Pass 2's groups are persisted and read into the driver with a limit (one job): up to
``COLLECT_LIMIT`` groups they are reduced in Python. Beyond that (text columns with very many
distinct values) small follow-up Spark jobs reduce the persisted groups instead: per-column sums,
top values with a window, then buckets of the numbers of text columns that are mostly numbers.
They read the aggregated groups, never the data again (tests/spark_jobs/test_column_profile.py
counts the rows read with an accumulator, on both paths).

(This module is not called ``profile``: run as a script, spark_jobs/ is sys.path[0] and a
``profile.py`` there would shadow the standard library's, which cProfile imports.)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
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
# Pass 2's groups (fine buckets of number columns, distinct values of the others) are reduced in
# the driver up to this many, and by follow-up Spark jobs over the persisted groups beyond.
COLLECT_LIMIT = 100_000

# Candidate types for text columns, in the order a tie is broken. Values are matched against
# patterns, not cast with try_cast: a failed cast costs a Java exception per value.
_NUM = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_DATETIME = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"
_CANDIDATES = ("Integer", "Decimal", "Boolean", "Datetime")
_FIT = {"Integer": "fi", "Decimal": "fd", "Boolean": "fb", "Datetime": "ft"}


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
    def is_text(self) -> bool:
        return isinstance(self.dtype, T.StringType)

    def alias(self, what: str) -> str:
        return f"c{self.index}_{what}"


@dataclass
class _Numbers:
    """What a number column's figures are made of: its range, mean, standard deviation and the
    counts of its FINE buckets."""
    lo: float
    hi: float
    mean: float | None
    stddev: float | None
    fine: list[int]


@dataclass
class _Values:
    """A non-number column's (value, count) groups, reduced: all counts are of rows."""
    rows: int = 0
    empty: int = 0
    distinct: int = 0  # non-null values, exact
    fit: dict[str, int] = field(default_factory=dict)
    top: list[tuple[str, int]] = field(default_factory=list)
    numbers: _Numbers | None = None  # text columns whose values are mostly numbers


def _q(name: str) -> str:
    """A column name quoted for SQL."""
    return "`" + name.replace("`", "``") + "`"


def _number_sql(c: _Col, expr: str) -> str:
    """The value a numeric histogram buckets, of a SQL expression of ``c``'s type: numbers as
    double, dates and datetimes as epoch seconds."""
    if isinstance(c.dtype, T.DateType):
        return f"CAST(unix_timestamp(CAST({expr} AS TIMESTAMP)) AS DOUBLE)"
    if isinstance(c.dtype, (T.TimestampType, T.TimestampNTZType)):
        return f"CAST(unix_micros(CAST({expr} AS TIMESTAMP)) AS DOUBLE) / 1000000D"
    return f"CAST({expr} AS DOUBLE)"


def _width(lo: float, hi: float) -> float:
    return (hi - lo) / FINE if hi > lo else 1.0


def _fine_index(value: float, lo: float, width: float) -> int:
    """The driver's twin of the bucket expression in pass 2 (same double arithmetic)."""
    return min(math.floor((value - lo) / width), FINE - 1)


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
    typed = [c for c in cols if c.kind == "numeric"]
    others = [c for c in cols if c.kind == "categorical"]

    # Both passes are mostly SQL text: built with the Column API they made some two thousand
    # calls into the JVM, one per expression node.
    # -- pass 1: range and distinct count of the typed number / date columns ---------------
    rows: int | None = None
    ranges: dict[int, tuple[float, float]] = {}
    distinct: dict[int, int] = {}
    if typed:
        # min and max of the column, then converted (the conversions keep the order).
        exprs = ["count(1) AS rows"]
        for c in typed:
            q = _q(c.name)
            exprs += [
                f"{_number_sql(c, f'min({q})')} AS {c.alias('min')}",
                f"{_number_sql(c, f'max({q})')} AS {c.alias('max')}",
                f"approx_count_distinct({q}) AS {c.alias('distinct')}",
            ]
        stats = df.selectExpr(*exprs).first().asDict()
        rows = int(stats["rows"])
        for c in typed:
            distinct[c.index] = int(stats[c.alias("distinct")] or 0)
            if stats[c.alias("min")] is not None:
                ranges[c.index] = (float(stats[c.alias("min")]), float(stats[c.alias("max")]))

    # -- pass 2: fine buckets of numbers, (value, count) groups of everything else ----------
    numbers: dict[int, _Numbers] = {}
    values: dict[int, _Values] = {}
    bucketed = [c for c in typed if c.index in ranges]
    if bucketed or others:
        groups = _groups(df, bucketed, others, ranges).persist()
        try:
            # Pass 2 runs as this read does; one row too many says to reduce in Spark
            # instead, from the persisted groups (the data is not read again).
            table = groups.limit(COLLECT_LIMIT + 1).toArrow()
            if table.num_rows <= COLLECT_LIMIT:
                numbers, values = _reduce_in_driver(table, bucketed, others, ranges)
            else:
                numbers, values = _reduce_in_spark(groups, bucketed, others, ranges)
        finally:
            groups.unpersist()
    if rows is None:  # no typed number column: every row is in each other column's groups
        rows = values[others[0].index].rows

    invalid: dict[str, int] = {}
    for c in others:
        if c.is_text:
            c.wrangle_type, invalid[c.name] = _text_type(values[c.index])
            if c.wrangle_type in ("Integer", "Decimal"):
                c.kind = "numeric"
        else:
            invalid[c.name] = int(mismatches.get(c.name, 0))
    for c in typed:
        # A typed column's invalid values are the ones settype could not convert: they
        # became nulls, so they are taken out of the empty count.
        invalid[c.name] = int(mismatches.get(c.name, 0))

    column_types, type_checks, valid_values = {}, {}, {}
    for c in cols:
        vals = values.get(c.index)
        if vals is None:  # typed numbers and dates: the non-null values are in the buckets
            empty = rows - (sum(numbers[c.index].fine) if c.index in numbers else 0)
        else:
            empty = vals.empty
        bad = invalid[c.name]
        if not c.is_text:
            empty = max(empty - bad, 0)
        valid_n = rows - empty - bad
        column_types[c.name] = [c.wrangle_type]
        type_checks[c.name] = [
            {"key": "VALID", "count": valid_n},
            {"key": "INVALID", "count": bad},
            {"key": "EMPTY", "count": empty},
        ]
        if vals is None:  # typed numbers and dates: HyperLogLog++ from pass 1
            entry: dict[str, Any] = {"distinct": distinct.get(c.index, 0), "distinctApproximate": True}
            nums = numbers.get(c.index)
        else:
            entry = {"distinct": vals.distinct, "distinctApproximate": False}
            nums = vals.numbers
        if c.kind == "numeric" and nums is not None:
            entry.update(_numeric_entry(c, nums))
        else:
            entry["topk"] = [{"key": k, "count": n} for k, n in (vals.top if vals else [])]
        valid_values[c.name] = entry
    # Exactly the contract's three keys (a row count is the sum of any column's type checks).
    return {
        "columnTypes": column_types,
        "profilerTypeCheckHistograms": type_checks,
        "profilerValidValueHistograms": valid_values,
    }


def _text_type(vals: _Values) -> tuple[str, int]:
    """A text column's type and invalid count: the candidate most non-empty values fit, if
    most do (then the values that do not fit it are invalid), else String."""
    non_empty = vals.rows - vals.empty
    best, best_fit = "String", 0
    for name in _CANDIDATES:
        fit = vals.fit.get(name, 0)
        if fit > best_fit:
            best, best_fit = name, fit
    if non_empty and best_fit * 2 > non_empty:
        return best, non_empty - best_fit
    return "String", 0


def _dbl(x: float) -> str:
    """A double literal in SQL: repr round-trips exactly, and the cast also takes inf and nan."""
    return f"CAST('{x!r}' AS DOUBLE)"


def _groups(df: DataFrame, bucketed: list[_Col], others: list[_Col],
            ranges: dict[int, tuple[float, float]]) -> DataFrame:
    """Pass 2: a (c, k, s) group per fine bucket k of each number column c (s null; with n, the
    sum and the sum of squares of the values less the bucket's low edge, which lose no
    precision) and per distinct value s of each other column (k 0), then, per group so once per
    distinct value rather than per row, whether it is empty and which types a text fits.

    Built on ``df`` itself (not spark.sql with the DataFrame as an argument: that plan missed a
    persisted ``df`` in the cache and read the source again)."""
    source, stacked = [], []
    for c in bucketed:
        i = c.index
        lo, width = _dbl(ranges[i][0]), _dbl(_width(*ranges[i]))
        source.append(f"{_number_sql(c, _q(c.name))} AS v{i}")
        # The bucket is written out twice rather than projected first: one projection less
        # between the scan and the stack made this pass about a tenth faster.
        b = f"CAST(least(floor((v{i} - {lo}) / {width}), {FINE - 1}) AS INT)"
        # (least skips nulls: b is 99 for a null value, whose row the null c drops.)
        stacked.append(f"IF(v{i} IS NULL, NULL, {i}), {b}, CAST(NULL AS STRING), v{i} - ({lo} + {b} * {width})")
    for c in others:
        source.append(f"CAST({_q(c.name)} AS STRING) AS t{c.index}")
        stacked.append(f"{c.index}, 0, t{c.index}, CAST(NULL AS DOUBLE)")
    grouped = (
        df.selectExpr(*source)
        .selectExpr(f"stack({len(stacked)}, {', '.join(stacked)}) AS (c, k, s, x)")
        .where("c IS NOT NULL")
        .groupBy("c", "k", "s")
        .agg(F.expr("count(1)").alias("n"), F.expr("sum(x)").alias("sx"), F.expr("sum(x * x)").alias("sxx"))
    )
    return grouped.select("*", *_value_checks([c for c in others if c.is_text]))


def _value_checks(text: list[_Col]) -> list[Column]:
    """Per group: empty, the text's number, and whether it fits each candidate type (text
    columns only). The patterns go in as Column literals, not SQL text, to need no escaping."""
    s = F.col("s")
    trimmed = F.trim(s)
    if not text:
        return [s.isNull().alias("e")] + [F.lit(None).cast(t).alias(n) for n, t in
                                           (("num", "double"), ("fi", "boolean"), ("fd", "boolean"), ("fb", "boolean"), ("ft", "boolean"))]
    is_text = F.col("c").isin([c.index for c in text])
    num = F.when(is_text & s.rlike(_NUM), trimmed.cast("double"))
    return [
        (s.isNull() | (is_text & (trimmed == ""))).alias("e"),
        num.alias("num"),
        F.when(is_text, num.isNotNull() & (F.instr(trimmed, ".") == 0) & (F.instr(F.lower(trimmed), "e") == 0)).alias("fi"),
        F.when(is_text, num.isNotNull()).alias("fd"),
        F.when(is_text, F.lower(trimmed).isin("true", "false")).alias("fb"),
        F.when(is_text, trimmed.rlike(_DATETIME)).alias("ft"),
    ]


def _numbers_from_buckets(lo: float, hi: float, buckets: dict[int, tuple[int, float, float]]) -> _Numbers:
    """Mean and standard deviation from per-bucket (count, sum of offsets, sum of squared
    offsets), offsets measured from each bucket's low edge, combined as parallel variances are."""
    width = _width(lo, hi)
    fine = [0] * FINE
    parts = []  # (count, mean less lo, M2) per bucket: means kept small, so nothing is lost
    for k, (n, sx, sxx) in buckets.items():
        fine[k] += n
        if n:
            m = sx / n
            edge = lo + k * width  # rounded exactly as pass 2 rounded it
            parts.append((n, (edge - lo) + m, max(sxx - sx * m, 0.0)))
    total = sum(n for n, _, _ in parts)
    if not total:
        return _Numbers(lo, hi, None, None, fine)
    mean = math.fsum(n * m for n, m, _ in parts) / total
    m2 = math.fsum(m2 + n * (m - mean) ** 2 for n, m, m2 in parts)
    return _Numbers(lo, hi, lo + mean, math.sqrt(m2 / (total - 1)) if total > 1 else None, fine)


def _text_numbers(pairs: list[tuple[float, int]]) -> _Numbers | None:
    """The figures of a text column's numbers, from (number, count) pairs."""
    if not pairs:
        return None
    lo, hi = min(x for x, _ in pairs), max(x for x, _ in pairs)
    width = _width(lo, hi)
    fine = [0] * FINE
    for x, n in pairs:
        fine[_fine_index(x, lo, width)] += n
    total = sum(n for _, n in pairs)
    mean = math.fsum(x * n for x, n in pairs) / total
    m2 = math.fsum(n * (x - mean) ** 2 for x, n in pairs)
    return _Numbers(lo, hi, mean, math.sqrt(m2 / (total - 1)) if total > 1 else None, fine)


def _reduce_in_driver(table: Any, typed: list[_Col], others: list[_Col],
                      ranges: dict[int, tuple[float, float]]) -> tuple[dict[int, _Numbers], dict[int, _Values]]:
    """Pass 2's groups (a pyarrow Table) reduced in Python: sums, top values, text numbers."""
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    buckets: dict[int, dict[int, tuple[int, float, float]]] = {c.index: {} for c in typed}
    values: dict[int, _Values] = {c.index: _Values() for c in others}
    text = {c.index for c in others if c.is_text}
    numbers_of: dict[int, list[tuple[float, int]]] = {i: [] for i in text}
    top: dict[int, list[tuple[str, int]]] = {c.index: [] for c in others}
    for c, k, s, n, sx, sxx, e, num, fi, fd, fb, ft in zip(
            cols["c"], cols["k"], cols["s"], cols["n"], cols["sx"], cols["sxx"],
            cols["e"], cols["num"], cols["fi"], cols["fd"], cols["fb"], cols["ft"]):
        if c in buckets:
            buckets[c][k] = (n, sx or 0.0, sxx or 0.0)
            continue
        vals = values[c]
        vals.rows += n
        if s is not None:
            vals.distinct += 1
        if e:
            vals.empty += n
            continue
        top[c].append((s, n))
        if c in text:
            for name, flag in zip(_CANDIDATES, (fi, fd, fb, ft)):
                if flag:
                    vals.fit[name] = vals.fit.get(name, 0) + n
            if num is not None:
                numbers_of[c].append((num, n))
    for i, vals in values.items():
        vals.top = sorted(top[i], key=lambda kv: (-kv[1], kv[0]))[:TOP_K]
        if i in text:
            vals.numbers = _text_numbers(numbers_of[i])
    numbers = {i: _numbers_from_buckets(*ranges[i], b) for i, b in buckets.items() if i in ranges}
    return numbers, values


def _reduce_in_spark(groups: DataFrame, typed: list[_Col], others: list[_Col],
                     ranges: dict[int, tuple[float, float]]) -> tuple[dict[int, _Numbers], dict[int, _Values]]:
    """The same reduction as _reduce_in_driver, as small Spark jobs over the persisted groups
    (too many to collect): none of them reads the data again."""
    numbers: dict[int, _Numbers] = {}
    typed_ids = [c.index for c in typed if c.index in ranges]
    if typed_ids:
        buckets: dict[int, dict[int, tuple[int, float, float]]] = {i: {} for i in typed_ids}
        for r in groups.where(F.col("c").isin(typed_ids)).select("c", "k", "n", "sx", "sxx").collect():
            buckets[r["c"]][r["k"]] = (int(r["n"]), r["sx"] or 0.0, r["sxx"] or 0.0)
        numbers = {i: _numbers_from_buckets(*ranges[i], b) for i, b in buckets.items()}

    other_ids = [c.index for c in others]
    if not other_ids:
        return numbers, {}
    n, num = F.col("n"), F.col("num")
    kept = ~F.col("e")
    sums = (
        groups.where(F.col("c").isin(other_ids)).groupBy("c").agg(
            F.sum(n).alias("rows"),
            F.sum(F.when(F.col("e"), n).otherwise(0)).alias("empty"),
            F.count("s").alias("distinct"),
            *[F.sum(F.when(kept & F.col(flag), n).otherwise(0)).alias(flag) for flag in _FIT.values()],
            F.sum(F.when(kept & num.isNotNull(), n).otherwise(0)).alias("num_n"),
            F.sum(F.when(kept, n * num)).alias("num_sum"),
            F.min(F.when(kept, num)).alias("num_min"),
            F.max(F.when(kept, num)).alias("num_max"),
        ).collect()
    )
    values: dict[int, _Values] = {i: _Values() for i in other_ids}
    spread: dict[int, tuple[float, float, float]] = {}  # text numbers: lo, hi, mean
    for r in sums:
        i = r["c"]
        values[i] = _Values(rows=int(r["rows"]), empty=int(r["empty"]), distinct=int(r["distinct"]),
                            fit={name: int(r[flag]) for name, flag in _FIT.items()})
        if r["num_n"] and _text_type(values[i])[0] in ("Integer", "Decimal"):
            spread[i] = (r["num_min"], r["num_max"], r["num_sum"] / r["num_n"])

    # Top values of every column, and buckets of the numbers of text columns, from the groups.
    ranked = (
        groups.where(F.col("c").isin(other_ids) & kept)
        .withColumn("r", F.row_number().over(Window.partitionBy("c").orderBy(F.desc("n"), F.asc("s"))))
        .where(F.col("r") <= TOP_K).select("c", "s", "n").collect()
    )
    for r in sorted(ranked, key=lambda r: (r["c"], -r["n"], r["s"])):
        values[r["c"]].top.append((r["s"], int(r["n"])))
    if spread:
        parts = [
            F.when(F.col("c") == i, F.least(F.floor((num - F.lit(lo)) / F.lit(_width(lo, hi))), F.lit(FINE - 1)))
            for i, (lo, hi, _) in spread.items()
        ]
        dev = [F.when(F.col("c") == i, num - F.lit(mean)) for i, (_, _, mean) in spread.items()]
        fine_rows = (
            groups.where(F.col("c").isin(list(spread)) & kept & num.isNotNull())
            .select("c", "n", F.coalesce(*parts).cast("int").alias("b"), F.coalesce(*dev).alias("d"))
            .groupBy("c", "b").agg(F.sum("n").alias("n"), F.sum(F.col("n") * F.col("d") * F.col("d")).alias("m2"))
            .collect()
        )
        fine = {i: [0] * FINE for i in spread}
        m2: dict[int, list[float]] = {i: [] for i in spread}
        for r in fine_rows:
            fine[r["c"]][r["b"]] += int(r["n"])
            m2[r["c"]].append(r["m2"])
        for i, (lo, hi, mean) in spread.items():
            total = sum(fine[i])
            sd = math.sqrt(math.fsum(m2[i]) / (total - 1)) if total > 1 else None
            values[i].numbers = _Numbers(lo, hi, mean, sd, fine[i])
    return numbers, values


def _numeric_entry(c: _Col, nums: _Numbers) -> dict[str, Any]:
    lo, hi, fine = nums.lo, nums.hi, nums.fine
    n_buckets = BUCKETS if hi > lo else 1
    width = (hi - lo) / n_buckets if hi > lo else 0.0
    per = FINE // n_buckets
    show = _formatter(c)
    buckets = [
        {"low": show(lo + i * width), "high": show(hi if i == n_buckets - 1 else lo + (i + 1) * width),
         "count": sum(fine[i * per:(i + 1) * per])}
        for i in range(n_buckets)
    ]
    return {
        "min": show(lo),
        "max": show(hi),
        "mean": show(nums.mean) if nums.mean is not None else None,
        # For dates and datetimes the standard deviation is in seconds.
        "stddev": None if nums.stddev is None or math.isnan(nums.stddev) else nums.stddev,
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
