"""Every function of the expression language on real Spark: values and missing values.

All scalar cases run as derive steps of one recipe over one small DataFrame, so the whole table
is one Spark job; aggregates and window functions are one job each.
"""

import datetime as dt
import math

import pytest

from recipe_helpers import context, same
from spark_jobs.recipes import apply_recipe, validate_recipe

T = dt.datetime
SCHEMA = "s string, n string, i bigint, d double, b boolean, t timestamp, ts string"
ROWS = [
    ("hello world", "12", 7, 2.5, True, T(2020, 1, 5, 10, 20, 30), "2020-01-05"),
    ("ÜBER straße", "-3.5", -2, -2.5, False, T(2021, 3, 1), "bad"),
    ("", "abc", 0, 0.0, True, T(2019, 12, 31, 23, 59, 59), "2020-02-29 12:00:00"),
    ("  x y\t", "0", 10, 1.0, False, T(2024, 2, 29, 12), "03/15/2022"),
    (None, None, None, None, None, None, None),
]
N = None
END = T(2021, 3, 1)


def _days(t):
    return None if t is None else int((END - t) / dt.timedelta(days=1))


SCALAR_CASES = [
    # logic
    ("IF(i > 0, 'pos', 'not')", ["pos", "not", "not", "pos", "not"]),  # missing test: else
    ("IF(b, i, d)", [7.0, -2.5, 0.0, 1.0, N]),
    ("IF(i > 5, s)", ["hello world", N, N, "  x y\t", N]),
    ("ISNULL(s)", [False, False, False, False, True]),
    ("ISMISSING(s)", [False, False, True, False, True]),
    ("ISMISSING(i)", [False, False, False, False, True]),
    ("COALESCE(s, n, 'none')", ["hello world", "ÜBER straße", "", "  x y\t", "none"]),
    ("COALESCE(i, d)", [7.0, -2.0, 0.0, 10.0, N]),
    ("IN(n, ['12', 'abc'])", [True, False, True, False, False]),
    ("IN(i, [7, 10])", [True, False, False, True, False]),
    ("IN(n, [12, 0])", [True, False, False, True, False]),
    # math
    ("ABS(i)", [7, 2, 0, 10, N]),
    ("ABS(d)", [2.5, 2.5, 0.0, 1.0, N]),
    ("ROUND(d)", [3.0, -3.0, 0.0, 1.0, N]),  # halves away from zero
    ("ROUND(n, 1)", [12.0, -3.5, N, 0.0, N]),  # text that is no number is missing
    ("ROUND(i)", [7, -2, 0, 10, N]),
    ("FLOOR(d)", [2, -3, 0, 1, N]),
    ("CEILING(d)", [3, -2, 0, 1, N]),
    ("POWER(i, 2)", [49.0, 4.0, 0.0, 100.0, N]),
    ("SQRT(i)", [math.sqrt(7), N, 0.0, math.sqrt(10), N]),
    ("LN(i)", [math.log(7), N, N, math.log(10), N]),
    ("LOG(i)", [math.log10(7), N, N, 1.0, N]),
    ("EXP(d)", [math.exp(2.5), math.exp(-2.5), 1.0, math.e, N]),
    ("MOD(i, 3)", [1, -2, 0, 1, N]),
    ("MOD(i, 0)", [N, N, N, N, N]),
    # operators
    ("i / 2", [3.5, -1.0, 0.0, 5.0, N]),
    ("i / 0", [N, N, N, N, N]),
    ("n + 1", [13.0, -2.5, N, 1.0, N]),
    ("i * 2 - 1", [13, -5, -1, 19, N]),
    ("i % 4", [3, -2, 0, 2, N]),
    ("-i", [-7, 2, 0, -10, N]),
    ("n > 5", [True, False, N, False, N]),
    ("s == ''", [False, False, True, False, N]),
    ("s == null", [False, False, False, False, True]),
    ("null != s", [True, True, True, True, False]),
    ("b && i > 0", [True, False, False, False, N]),
    ("!b || i < 0", [False, True, False, True, N]),
    ("ts == '2020-01-05'", [True, False, False, False, N]),
    ("t > '2020-06-01'", [False, True, False, True, N]),
    ("t >= ts", [True, N, False, N, N]),
    # text
    ("UPPER(s)", ["HELLO WORLD", "ÜBER STRASSE", "", "  X Y\t", N]),
    ("LOWER(s)", ["hello world", "über straße", "", "  x y\t", N]),
    ("PROPER(s)", ["Hello World", "Über Straße", "", "  X Y\t", N]),
    ("PROPER(UPPER(s))", ["Hello World", "Über Strasse", "", "  X Y\t", N]),
    ("TRIM(s)", ["hello world", "ÜBER straße", "", "x y", N]),
    ("LEN(s)", [11, 11, 0, 6, N]),
    ("LEN(i)", [1, 2, 1, 2, N]),
    ("LEFT(s, 3)", ["hel", "ÜBE", "", "  x", N]),
    ("RIGHT(s, 2)", ["ld", "ße", "", "y\t", N]),
    ("SUBSTRING(s, 1, 4)", ["ell", "BER", "", " x ", N]),
    ("SUBSTRING(s, 6)", ["world", "traße", "", "", N]),
    ("SUBSTRING(s, 4, 2)", ["", "", "", "", N]),
    ("FIND(s, 'o')", [4, -1, -1, -1, N]),
    ("FIND(s, 'STR', true)", [-1, 5, -1, -1, N]),
    ("FIND(s, 'o', false, 5)", [7, -1, -1, -1, N]),
    ("MERGE([s, n], '-')", ["hello world-12", "ÜBER straße--3.5", "-abc", "  x y\t-0", "-"]),
    ("MERGE([n, i])", ["127", "-3.5-2", "abc0", "010", ""]),
    ("STARTSWITH(s, 'he')", [True, False, False, False, N]),
    ("ENDSWITH(s, 'LD', true)", [True, False, False, False, N]),
    ("CONTAINS(s, ' ')", [True, True, False, True, N]),
    ("CONTAINS(s, 'über', true)", [False, True, False, False, N]),
    ("PAD(n, 5, '0')", ["00012", "0-3.5", "00abc", "00000", N]),
    ("PAD(s, 4, '*', 'right')", ["hello world", "ÜBER straße", "****", "  x y\t", N]),
    # dates
    ("YEAR(t)", [2020, 2021, 2019, 2024, N]),
    ("MONTH(t)", [1, 3, 12, 2, N]),
    ("DAY(t)", [5, 1, 31, 29, N]),
    ("HOUR(t)", [10, 0, 23, 12, N]),
    ("MINUTE(t)", [20, 0, 59, 0, N]),
    ("SECOND(t)", [30, 0, 59, 0, N]),
    ("YEAR(ts)", [2020, N, 2020, N, N]),
    ("WEEKDAY(t)", [1, 2, 3, 5, N]),  # 1 = Sunday
    ("DATEDIF(t, '2021-03-01 00:00:00', day)", [_days(r[5]) for r in ROWS]),
    # Whole months as Spark's timestampdiff counts them: Dec 31 -> Mar 1 is 13 full months
    # (the day of the month 31 is not reached again until Mar 31).
    ("DATEDIF(t, '2021-03-01', 'month')", [13, 0, 13, -35, N]),
    ("DATEDIF(t, '2021-03-01', year)", [1, 0, 1, -2, N]),
    ("DATEADD(t, 1, month)", [T(2020, 2, 5, 10, 20, 30), T(2021, 4, 1), T(2020, 1, 31, 23, 59, 59),
                              T(2024, 3, 29, 12), N]),
    ("DATEADD(t, -36, hour)", [T(2020, 1, 3, 22, 20, 30), T(2021, 2, 27, 12),
                               T(2019, 12, 30, 11, 59, 59), T(2024, 2, 28), N]),
    ("DATEFORMAT(t, 'yyyy/MM/dd HH:mm')", ["2020/01/05 10:20", "2021/03/01 00:00",
                                           "2019/12/31 23:59", "2024/02/29 12:00", N]),
    ("PARSEDATE(ts, ['yyyy-MM-dd', 'MM/dd/yyyy'])", [T(2020, 1, 5), N, N, T(2022, 3, 15), N]),
    ("PARSEDATE(ts, 'yyyy-MM-dd HH:mm:ss')", [N, N, T(2020, 2, 29, 12), N, N]),
    ("NOW() > '2020-01-01'", [True] * 5),
    ("YEAR(TODAY()) >= 2024", [True] * 5),
]


@pytest.fixture(scope="module")
def frame(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def test_every_scalar_function(spark, frame):
    steps = [{"op": "derive", "value": e, "as": f"c{i}"} for i, (e, _) in enumerate(SCALAR_CASES)]
    assert validate_recipe(steps, frame.schema) == []
    out = apply_recipe(frame, steps, context(spark)).collect()  # one job for the whole table
    failures = []
    for i, (expr, expected) in enumerate(SCALAR_CASES):
        got = [r[f"c{i}"] for r in out]
        if not same(got, expected):
            failures.append(f"{expr}: got {got!r}, expected {expected!r}")
    assert not failures, "\n".join(failures)


def test_the_function_table_covers_every_function():
    from spark_jobs.recipes.functions import AGGREGATE, FUNCTIONS, WINDOW

    used = " ".join(e for e, _ in SCALAR_CASES) + " ".join(AGGREGATES) + " ".join(WINDOWS)
    missing = [n for n in FUNCTIONS if n + "(" not in used]
    assert missing == []
    assert {n for n, f in FUNCTIONS.items() if f.kind == AGGREGATE} == {
        "SUM", "AVERAGE", "MIN", "MAX", "COUNT", "COUNTDISTINCT", "MEDIAN", "STDEV", "VAR",
        "FIRST", "LAST"}
    assert {n for n, f in FUNCTIONS.items() if f.kind == WINDOW} == {
        "ROWNUMBER", "RANK", "DENSERANK", "PREV", "NEXT", "ROLLINGSUM", "ROLLINGAVERAGE",
        "ROLLINGMIN", "ROLLINGMAX", "RUNNINGTOTAL"}


AGG_ROWS = [("a", "1", 1.0), ("a", "3", 2.0), ("a", "x", None), ("b", None, None), ("c", "5", 5.0),
            ("c", "5", 7.0)]
AGGREGATES = ["SUM(v)", "AVERAGE(v)", "MIN(v)", "MAX(v)", "COUNT()", "COUNT(v)",
              "COUNTDISTINCT(v)", "MEDIAN(w)", "STDEV(w)", "VAR(w)", "FIRST(w)", "LAST(w)",
              "SUM(w) / COUNT()"]


def test_aggregates_with_missing_values(spark):
    df = spark.createDataFrame(AGG_ROWS, "g string, v string, w double")
    steps = [{"op": "aggregate", "value": AGGREGATES, "group": ["g"],
              "as": [f"a{i}" for i in range(len(AGGREGATES))]}]
    out = {r["g"]: tuple(r)[1:] for r in apply_recipe(df, steps, context(spark)).collect()}
    # v is text: SUM/AVERAGE read it as numbers ('x' is missing); MIN/MAX compare it as text.
    assert same(out["a"], (4.0, 2.0, "1", "x", 3, 3, 3, 1.5, 0.5, 0.25, 1.0, 2.0, 1.0))
    assert same(out["b"], (None, None, None, None, 1, 0, 0, None, None, None, None, None, None))
    assert same(out["c"], (10.0, 5.0, "5", "5", 2, 2, 1, 6.0, 1.0, 1.0, 5.0, 7.0, 6.0))


WIN_ROWS = [("a", 1, 10), ("a", 2, 20), ("a", 3, None), ("a", 4, 40), ("b", 1, 5), ("b", 1, 6)]
WINDOWS = ["ROWNUMBER()", "RANK()", "DENSERANK()", "PREV(v)", "NEXT(v, 2)", "ROLLINGSUM(v)",
           "ROLLINGSUM(v, 1, 1)", "ROLLINGAVERAGE(v, 1, 0)", "ROLLINGMIN(v, -1, -1)",
           "ROLLINGMAX(v, 0, 1)", "RUNNINGTOTAL(v)", "SUM(v)", "COUNT()"]


def test_window_functions(spark):
    df = spark.createDataFrame(WIN_ROWS, "g string, o int, v int")
    steps = ["window value: " + ", ".join(WINDOWS) + " group: g order: o, v"]
    got = {(r["g"], r["o"], r["v"]): tuple(r)[3:]
           for r in apply_recipe(df, steps, context(spark)).collect()}
    assert got == {
        ("a", 1, 10): (1, 1, 1, None, None, 10, 30, 10.0, 10, 20, 10, 70, 4),
        ("a", 2, 20): (2, 2, 2, 10, 40, 30, 30, 15.0, 10, 20, 30, 70, 4),
        ("a", 3, None): (3, 3, 3, 20, None, 30, 60, 20.0, 10, 40, 30, 70, 4),
        ("a", 4, 40): (4, 4, 4, None, None, 70, 40, 40.0, 10, 40, 70, 70, 4),
        ("b", 1, 5): (1, 1, 1, None, None, 5, 11, 5.0, 5, 6, 5, 11, 2),
        ("b", 1, 6): (2, 2, 2, 5, None, 11, 11, 5.5, 5, 6, 11, 11, 2),
    }
