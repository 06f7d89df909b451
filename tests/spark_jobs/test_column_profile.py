"""The profile job against figures computed independently in plain Python."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from spark_jobs import column_profile
from spark_jobs.column_profile import BUCKETS, profile_dataframe


def _checks(profile, col):
    return {e["key"]: e["count"] for e in profile["profilerTypeCheckHistograms"][col]}


def test_profile_counts_types_and_histograms(spark):
    amounts = [float(i % 37) * 1.5 for i in range(200)] + [None] * 5
    cities = (["Lyon"] * 90 + ["Berlin"] * 60 + ["Osaka"] * 50 + [""] * 3 + [None] * 2)
    qty = [str(i % 11) for i in range(190)] + ["n/a"] * 10 + [""] * 5
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i % 100) for i in range(205)]
    rows = list(zip(amounts, cities, qty, days))
    df = spark.createDataFrame(rows, "amount double, city string, qty string, day date")

    p = profile_dataframe(df, {"amount": 4})
    assert set(p) == {"columnTypes", "profilerTypeCheckHistograms", "profilerValidValueHistograms"}
    assert p["columnTypes"] == {"amount": ["Decimal"], "city": ["String"], "qty": ["Integer"], "day": ["Date"]}

    # amount: 5 nulls, 4 of them counted as settype mismatches -> INVALID, the rest EMPTY.
    assert _checks(p, "amount") == {"VALID": 200, "INVALID": 4, "EMPTY": 1}
    # city: empty strings and nulls are EMPTY; nothing is invalid for a String column.
    assert _checks(p, "city") == {"VALID": 200, "INVALID": 0, "EMPTY": 5}
    # qty: mostly integers, so "n/a" is INVALID.
    assert _checks(p, "qty") == {"VALID": 190, "INVALID": 10, "EMPTY": 5}

    a = p["profilerValidValueHistograms"]["amount"]
    present = [x for x in amounts if x is not None]
    assert a["min"] == min(present) and a["max"] == max(present)
    assert abs(a["mean"] - statistics.mean(present)) < 1e-9
    assert abs(a["stddev"] - statistics.stdev(present)) < 1e-9
    assert len(a["buckets"]) == BUCKETS
    assert sum(b["count"] for b in a["buckets"]) == len(present)
    width = (max(present) - min(present)) / BUCKETS
    expected_first = sum(1 for x in present if x < min(present) + width)
    assert a["buckets"][0]["count"] == expected_first
    q = statistics.quantiles(present, n=4, method="inclusive")
    assert all(abs(got - want) <= 1.5 for got, want in zip(a["quartiles"], q))

    c = p["profilerValidValueHistograms"]["city"]
    assert c["topk"] == [{"key": "Lyon", "count": 90}, {"key": "Berlin", "count": 60}, {"key": "Osaka", "count": 50}]
    # Lyon, Berlin, Osaka and "" (empty, but a value): counted exactly from pass 2's groups.
    assert c["distinct"] == 4 and c["distinctApproximate"] is False
    assert a["distinctApproximate"] is True  # numbers: HyperLogLog++

    d = p["profilerValidValueHistograms"]["day"]
    assert d["min"] == "2026-01-01" and d["max"] == "2026-04-10"
    assert sum(b["count"] for b in d["buckets"]) == 205


def test_profile_reads_the_data_twice(spark):
    """All columns together in at most two passes: an accumulator counts the rows read."""
    sc = spark.sparkContext
    reads = sc.accumulator(0)

    def counted(i):
        reads.add(1)
        return (i, f"s{i % 7}", float(i), str(i % 5))

    rdd = sc.parallelize(range(100), 2).map(counted)
    df = spark.createDataFrame(rdd, "a long, b string, c double, d string")
    profile_dataframe(df)
    assert reads.value == 2 * 100


def _reading(spark, rows, schema):
    """A DataFrame whose rows are counted as they are read from the source."""
    sc = spark.sparkContext
    reads = sc.accumulator(0)

    def counted(row):
        reads.add(1)
        return row

    return spark.createDataFrame(sc.parallelize(rows, 3).map(counted), schema), reads


@pytest.fixture
def small_collect_limit(monkeypatch):
    """Pass 2's groups reduced by follow-up Spark jobs instead of in the driver."""
    monkeypatch.setattr(column_profile, "COLLECT_LIMIT", 5)


def _mixed_rows(n=600):
    rows = []
    for i in range(n):
        rows.append((
            i,
            float(i % 41) * 0.5 if i % 50 else None,
            f"name{i % 157}" if i % 9 else ("" if i % 2 else None),
            [str(i % 13), "n/a", " 7 ", "2.5e1", ""][i % 5] if i % 7 else str(i),
            dt.date(2026, 1, 1) + dt.timedelta(days=i % 90),
            ["true", "FALSE", "maybe"][i % 3],
        ))
    return rows


_MIXED = "id long, amount double, name string, qty string, day date, flag string"


def test_follow_up_jobs_give_the_driver_figures_and_do_not_read_again(spark, monkeypatch):
    """Beyond COLLECT_LIMIT groups the reduction runs as Spark jobs over the persisted groups:
    the same profile, and still two passes over the data."""
    rows = _mixed_rows()
    df, reads = _reading(spark, rows, _MIXED)
    in_driver = profile_dataframe(df, {"amount": 3})
    assert reads.value == 2 * len(rows)

    monkeypatch.setattr(column_profile, "COLLECT_LIMIT", 5)
    df, reads = _reading(spark, rows, _MIXED)
    in_spark = profile_dataframe(df, {"amount": 3})
    assert reads.value == 2 * len(rows)
    assert in_spark["columnTypes"] == in_driver["columnTypes"]
    assert in_spark["profilerTypeCheckHistograms"] == in_driver["profilerTypeCheckHistograms"]
    for col, entry in in_driver["profilerValidValueHistograms"].items():
        other = in_spark["profilerValidValueHistograms"][col]
        assert set(other) == set(entry), col
        for key, value in entry.items():
            if isinstance(value, float) or key == "quartiles" and all(isinstance(q, float) for q in value):
                assert other[key] == pytest.approx(value, rel=1e-12), (col, key)
            else:
                assert other[key] == value, (col, key)


@pytest.mark.parametrize("path", ["driver", "spark"])
def test_text_distinct_counts_are_exact(spark, request, path):
    if path == "spark":
        request.getfixturevalue("small_collect_limit")
    values = [f"v{(i * 7919) % 4001}" for i in range(12000)] + ["", "  ", None, None]
    p = profile_dataframe(spark.createDataFrame([(v,) for v in values], "t string"))
    entry = p["profilerValidValueHistograms"]["t"]
    assert entry["distinct"] == len({v for v in values if v is not None})  # "" and "  " count
    assert entry["distinctApproximate"] is False
    assert {e["key"]: e["count"] for e in p["profilerTypeCheckHistograms"]["t"]}["EMPTY"] == 4


def test_number_distinct_counts_within_the_sketch_error(spark):
    """Typed numbers keep approx_count_distinct (HyperLogLog++, relative standard deviation
    0.05): within three standard deviations of the exact count, exact when small."""
    df = spark.range(120_000).selectExpr(
        "id % 50000 AS many", "CAST(id % 37 AS DOUBLE) * 1.5 AS few", "timestamp_seconds(id * 3) AS ts")
    p = profile_dataframe(df)["profilerValidValueHistograms"]
    for col, exact in (("many", 50_000), ("few", 37), ("ts", 120_000)):
        assert p[col]["distinctApproximate"] is True
        assert abs(p[col]["distinct"] - exact) <= 3 * 0.05 * exact, (col, p[col]["distinct"])


@pytest.mark.parametrize("path", ["driver", "spark"])
def test_text_of_numbers_figures_from_value_counts(spark, request, path):
    """A text column that is mostly numbers gets its figures from its (value, count) groups,
    weighted by the counts: checked against the numbers row by row."""
    if path == "spark":
        request.getfixturevalue("small_collect_limit")
    texts = [str((i * 37) % 101 - 20) for i in range(3000)] + ["1.5", " 2.25 ", "1e2"] * 40
    texts += ["n/a"] * 60 + [""] * 10 + [None] * 5
    p = profile_dataframe(spark.createDataFrame([(t,) for t in texts], "q string"))
    numbers = [float(t) for t in texts if t is not None and t.strip() not in ("", "n/a")]
    # Decimal, which every number fits (integers too); only "n/a" is invalid.
    assert p["columnTypes"]["q"] == ["Decimal"]
    assert _checks(p, "q") == {"VALID": 3120, "INVALID": 60, "EMPTY": 15}
    q = p["profilerValidValueHistograms"]["q"]
    assert q["distinctApproximate"] is False
    assert q["distinct"] == len({t for t in texts if t is not None})
    assert q["min"] == min(numbers) and q["max"] == max(numbers)
    assert q["mean"] == pytest.approx(statistics.mean(numbers), rel=1e-12)
    assert q["stddev"] == pytest.approx(statistics.stdev(numbers), rel=1e-12)
    width = (max(numbers) - min(numbers)) / BUCKETS
    expected = [0] * BUCKETS
    for x in numbers:
        expected[min(int((x - min(numbers)) // width), BUCKETS - 1)] += 1
    assert [b["count"] for b in q["buckets"]] == expected


def test_typed_mean_and_stddev_lose_nothing_far_from_zero(spark):
    """Mean and standard deviation of typed numbers come from per-bucket sums of offsets from
    the bucket's low edge: values near 1e9 that differ in the sixth decimal keep their spread."""
    xs = [1e9 + (i % 1000) * 1e-6 for i in range(5000)]
    p = profile_dataframe(spark.createDataFrame([(x,) for x in xs], "x double"))
    x = p["profilerValidValueHistograms"]["x"]
    assert x["mean"] == pytest.approx(statistics.mean(xs), rel=1e-15)
    assert x["stddev"] == pytest.approx(statistics.stdev(xs), rel=1e-9)


def test_column_names_that_need_quoting(spark):
    names = ["a b", "x`y", "{c}", "c", "s", "n"]
    rows = [(i, str(i % 3), float(i), f"t{i % 4}", i % 5, "z") for i in range(40)]
    df = spark.createDataFrame(rows, "a long, b string, c double, d string, e long, f string").toDF(*names)
    p = profile_dataframe(df)
    assert list(p["columnTypes"]) == names
    assert p["columnTypes"]["x`y"] == ["Integer"]  # text of integers
    assert p["profilerValidValueHistograms"]["{c}"]["max"] == 39.0
    assert p["profilerValidValueHistograms"]["s"]["distinct"] == 5
    assert p["profilerValidValueHistograms"]["n"] == {
        "distinct": 1, "distinctApproximate": False, "topk": [{"key": "z", "count": 40}]}


def test_text_only_reads_the_data_once(spark):
    """Without typed number or date columns there is nothing for pass 1 to do."""
    rows = [(f"s{i % 7}", str(i)) for i in range(100)]
    df, reads = _reading(spark, rows, "a string, b string")
    p = profile_dataframe(df)
    assert reads.value == 100
    assert sum(e["count"] for e in p["profilerTypeCheckHistograms"]["a"]) == 100
    assert p["columnTypes"] == {"a": ["String"], "b": ["Integer"]}


def test_no_rows(spark):
    p = profile_dataframe(spark.createDataFrame([], "a long, s string, d date"))
    assert p["columnTypes"] == {"a": ["Integer"], "s": ["String"], "d": ["Date"]}
    for col in ("a", "s", "d"):
        assert _checks(p, col) == {"VALID": 0, "INVALID": 0, "EMPTY": 0}
