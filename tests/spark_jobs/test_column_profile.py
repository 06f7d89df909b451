"""The profile job against figures computed independently in plain Python."""

from __future__ import annotations

import datetime as dt
import statistics

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
    assert c["distinct"] == 4  # Lyon, Berlin, Osaka, "" (approximate, exact at this size)

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
