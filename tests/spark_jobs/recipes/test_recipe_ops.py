"""Each op on real Spark, table-driven: input rows, the step in both forms, the expected rows.

Both forms of a case run in one Spark job (their results are unioned), and must give exactly
the expected rows (as a multiset; ``sort`` is checked in order separately).
"""

import datetime as dt

import pytest

from recipe_helpers import context, same
from spark_jobs.recipes import apply_recipe, validate_recipe

N = None
TEXT = ("name string, qty string, note string",
        [("Ann", "12", "a,b"), ("Ünï", "x", ""), ("", "3", None), (None, None, "c")])
NUMS = ("g string, i bigint, d double",
        [("a", 1, 1.5), ("a", 2, None), ("b", 3, 2.0), ("b", None, 4.0), (None, 5, 0.5)])
MIXED = ("s string, i int, d double, b boolean, day date",
         [("1", 1, 1.0, True, dt.date(2020, 1, 2)), ("2.5", 2, 2.5, False, None),
          ("true", None, None, None, dt.date(1999, 12, 31)), ("", 4, -0.5, True, None),
          (None, 5, 3.0, False, dt.date(2024, 2, 29)), ("2020-01-02 03:04:05", 0, 0.0, None, None)])

CASES = [
    # (id, frame, text steps, json steps, expected columns, expected rows)
    ("derive", TEXT, ["derive type: single value: UPPER(name) as: 'up'"],
     [{"op": "derive", "value": "UPPER(name)", "as": "up"}],
     ["name", "qty", "note", "up"],
     [("Ann", "12", "a,b", "ANN"), ("Ünï", "x", "", "ÜNÏ"), ("", "3", N, ""), (N, N, "c", N)]),
    ("derive over an existing column", TEXT, ["derive value: LEN(name) as: 'name'"],
     [{"op": "derive", "value": "LEN(name)", "as": "name"}],
     ["name", "qty", "note"], [(3, "12", "a,b"), (3, "x", ""), (0, "3", N), (N, N, "c")]),
    ("derive with group", NUMS, ["derive type: multiple value: SUM(i) group: g as: 'total'"],
     [{"op": "derive", "value": "SUM(i)", "group": ["g"], "as": "total"}],
     ["g", "i", "d", "total"],
     [("a", 1, 1.5, 3), ("a", 2, N, 3), ("b", 3, 2.0, 3), ("b", N, 4.0, 3), (N, 5, 0.5, 5)]),
    ("set", TEXT, ["set col: name,note value: IF(ISMISSING($col), '-', $col)"],
     [{"op": "set", "col": ["name", "note"], "value": "IF(ISMISSING($col), '-', $col)"}],
     ["name", "qty", "note"],
     [("Ann", "12", "a,b"), ("Ünï", "x", "-"), ("-", "3", "-"), ("-", N, "c")]),
    ("filter keep", TEXT, ["filter type: custom rowType: single row: qty > 5 action: Keep"],
     [{"op": "filter", "row": "qty > 5", "action": "Keep"}],
     ["name", "qty", "note"], [("Ann", "12", "a,b")]),
    ("filter delete keeps rows whose test is missing", TEXT, ["delete row: qty > 5"],
     [{"op": "filter", "row": "qty > 5", "action": "Delete"}],
     ["name", "qty", "note"], [("Ünï", "x", ""), ("", "3", N), (N, N, "c")]),
    ("keep", TEXT, ["keep row: ISMISSING(note) || name == 'Ünï'"],
     [{"op": "keep", "row": "ISMISSING(note) || name == 'Ünï'"}],
     ["name", "qty", "note"], [("Ünï", "x", ""), ("", "3", N)]),
    ("drop", TEXT, ["drop col: qty,note action: Drop"], [{"op": "drop", "col": ["qty", "note"]}],
     ["name"], [("Ann",), ("Ünï",), ("",), (N,)]),
    ("drop keep", TEXT, ["drop col: note action: Keep"],
     [{"op": "drop", "col": "note", "action": "Keep"}], ["note"], [("a,b",), ("",), (N,), ("c",)]),
    ("rename", TEXT, ["rename type: manual mapping: [name,'Name Ü'], [qty,'q.ty']"],
     [{"op": "rename", "mapping": {"name": "Name Ü", "qty": "q.ty"}}],
     ["Name Ü", "q.ty", "note"], TEXT[1]),
    ("move", TEXT, ["move col: note before: name"], [{"op": "move", "col": ["note"], "before": "name"}],
     ["note", "name", "qty"], [(r[2], r[0], r[1]) for r in TEXT[1]]),
    ("move after", TEXT, ["move col: name after: note"], [{"op": "move", "col": "name", "after": "note"}],
     ["qty", "note", "name"], [(r[1], r[2], r[0]) for r in TEXT[1]]),
    ("settype integer", TEXT, ["settype col: qty type: Integer"],
     [{"op": "settype", "col": ["qty"], "type": "Integer"}],
     ["name", "qty", "note"], [("Ann", 12, "a,b"), ("Ünï", N, ""), ("", 3, N), (N, N, "c")]),
    ("settype all types", MIXED,
     ["settype col: s type: Decimal", "settype col: i type: String",
      "settype col: d type: Integer", "settype col: day type: Datetime",
      "settype col: b type: String"],
     [{"op": "settype", "col": "s", "type": "Decimal"}, {"op": "settype", "col": "i", "type": "String"},
      {"op": "settype", "col": "d", "type": "Integer"}, {"op": "settype", "col": "day", "type": "Datetime"},
      {"op": "settype", "col": "b", "type": "String"}],
     ["s", "i", "d", "b", "day"],
     [(1.0, "1", 1, "true", dt.datetime(2020, 1, 2)), (2.5, "2", N, "false", N),
      (N, N, N, N, dt.datetime(1999, 12, 31)), (N, "4", N, "true", N),
      (N, "5", 3, "false", dt.datetime(2024, 2, 29)), (N, "0", 0, N, N)]),
    ("settype boolean and date", MIXED, ["settype col: s type: Boolean", "settype col: day type: Date"],
     [{"op": "settype", "col": ["s"], "type": "Boolean"}, {"op": "settype", "col": ["day"], "type": "Date"}],
     ["s", "i", "d", "b", "day"],
     [(True if r[0] in ("1", "true") else N,) + r[1:] for r in MIXED[1]]),
    ("settype date from text with a format", TEXT,
     ["derive value: IF(name == 'Ann', '03/15/2021', name) as: 'when'",
      "settype col: when type: Date format: 'MM/dd/yyyy'"],
     [{"op": "derive", "value": "IF(name == 'Ann', '03/15/2021', name)", "as": "when"},
      {"op": "settype", "col": ["when"], "type": "Date", "format": "MM/dd/yyyy"}],
     ["name", "qty", "note", "when"],
     [("Ann", "12", "a,b", dt.date(2021, 3, 15)), ("Ünï", "x", "", N), ("", "3", N, N), (N, N, "c", N)]),
    ("replace literal, first only", TEXT, ["replace col: note,name on: ',' with: '$1' global: false"],
     [{"op": "replace", "col": ["note", "name"], "on": ",", "with": "$1", "global": False}],
     ["name", "qty", "note"], [("Ann", "12", "a$1b"), ("Ünï", "x", ""), ("", "3", N), (N, N, "c")]),
    ("replace regex with groups", TEXT, ["replace col: note on: /([a-z])/ with: '<$1>'"],
     [{"op": "replace", "col": "note", "on": {"regex": "([a-z])"}, "with": "<$1>"}],
     ["name", "qty", "note"], [("Ann", "12", "<a>,<b>"), ("Ünï", "x", ""), ("", "3", N), (N, N, "<c>")]),
    ("replace text that looks like a regex", TEXT, ["replace col: qty on: '.' with: '!'"],
     [{"op": "replace", "col": "qty", "on": ".", "with": "!"}],
     ["name", "qty", "note"], TEXT[1]),
    ("replacemissing custom", TEXT, ["replacemissing col: note,name with: custom text: 'T12'"],
     [{"op": "replacemissing", "col": ["note", "name"], "with": "custom", "text": "T12"}],
     ["name", "qty", "note"], [("Ann", "12", "a,b"), ("Ünï", "x", "T12"), ("T12", "3", "T12"), ("T12", N, "c")]),
    ("replacemissing number and average", NUMS,
     ["replacemissing col: i with: 0", "replacemissing col: d with: average"],
     [{"op": "replacemissing", "col": ["i"], "with": 0},
      {"op": "replacemissing", "col": ["d"], "with": "average"}],
     ["g", "i", "d"], [("a", 1, 1.5), ("a", 2, 2.0), ("b", 3, 2.0), ("b", 0, 4.0), (N, 5, 0.5)]),
    ("textformat", TEXT, ["textformat col: name type: uppercase", "textformat col: note type: propercase"],
     [{"op": "textformat", "col": ["name"], "type": "uppercase"},
      {"op": "textformat", "col": "note", "type": "propercase"}],
     ["name", "qty", "note"], [("ANN", "12", "A,b"), ("ÜNÏ", "x", ""), ("", "3", N), (N, N, "C")]),
    ("textformat trims", ("s string", [(" 'a b' ",), ("\t\"x\"\u00a0",), (None,)]),
     ["textformat col: s type: trimwhitespace", "textformat col: s type: trimquotes"],
     [{"op": "textformat", "col": "s", "type": "trimwhitespace"},
      {"op": "textformat", "col": "s", "type": "trimquotes"}],
     ["s"], [("a b",), ("x",), (N,)]),
    ("split", TEXT, ["split col: note on: ',' limit: 1"], [{"op": "split", "col": "note", "on": ",", "limit": 1}],
     ["name", "qty", "note1", "note2"],
     [("Ann", "12", "a", "b"), ("Ünï", "x", "", N), ("", "3", N, N), (N, N, "c", N)]),
    ("split on a regex", ("s string", [("a1b22c333d",), ("x",)]), ["split col: s on: /\\d+/ limit: 2"],
     [{"op": "split", "col": "s", "on": "/\\d+/", "limit": 2}],
     ["s1", "s2", "s3"], [("a", "b", "c333d"), ("x", N, N)]),
    ("splitrows", TEXT, ["splitrows col: note on: ','"], [{"op": "splitrows", "col": "note", "on": ","}],
     ["name", "qty", "note"],
     [("Ann", "12", "a"), ("Ann", "12", "b"), ("Ünï", "x", ""), ("", "3", N), (N, N, "c")]),
    ("extract", TEXT, ["extract col: qty on: /\\d+/ as: 'digits'"],
     [{"op": "extract", "col": "qty", "on": "/\\d+/", "as": "digits"}],
     ["name", "qty", "digits", "note"],
     [("Ann", "12", "12", "a,b"), ("Ünï", "x", N, ""), ("", "3", "3", N), (N, N, N, "c")]),
    ("countpattern", TEXT, ["countpattern col: note on: /[a-z]/ as: 'letters'"],
     [{"op": "countpattern", "col": "note", "on": "/[a-z]/", "as": "letters"}],
     ["name", "qty", "note", "letters"],
     [("Ann", "12", "a,b", 2), ("Ünï", "x", "", 0), ("", "3", N, N), (N, N, "c", 1)]),
    ("merge", TEXT, ["merge col: name,qty with: '_' as: 'nq'"],
     [{"op": "merge", "col": ["name", "qty"], "with": "_", "as": "nq"}],
     ["name", "qty", "note", "nq"],
     [("Ann", "12", "a,b", "Ann_12"), ("Ünï", "x", "", "Ünï_x"), ("", "3", N, "_3"), (N, N, "c", "_")]),
    ("deduplicate", ("a string, b int", [("x", 1), ("x", 1), ("x", 2), (None, None), (None, None)]),
     ["deduplicate"], [{"op": "deduplicate"}], ["a", "b"], [("x", 1), ("x", 2), (N, N)]),
    ("deduplicate by columns", ("a string, b int", [("x", 1), ("x", 1), ("y", 2)]),
     ["deduplicate col: a"], [{"op": "deduplicate", "col": ["a"]}], ["a", "b"], [("x", 1), ("y", 2)]),
    ("aggregate", NUMS, ["aggregate value: SUM(i), AVERAGE(d), COUNT() group: g"],
     [{"op": "aggregate", "value": ["SUM(i)", "AVERAGE(d)", "COUNT()"], "group": ["g"]}],
     ["g", "sum_i", "average_d", "count"], [("a", 3, 1.5, 2), ("b", 3, 3.0, 2), (N, 5, 0.5, 1)]),
    ("aggregate without group", NUMS, ["aggregate value: MAX(d) as: 'top'"],
     [{"op": "aggregate", "value": "MAX(d)", "as": ["top"]}], ["top"], [(4.0,)]),
    ("pivot", NUMS, ["pivot col: g value: SUM(i) group: d limit: 5"],
     [{"op": "pivot", "col": "g", "value": ["SUM(i)"], "group": ["d"], "limit": 5}],
     ["d", "null", "a", "b"],
     [(1.5, N, 1, N), (N, N, 2, N), (2.0, N, N, 3), (4.0, N, N, N), (0.5, 5, N, N)]),
    ("pivot with values given", NUMS, ["pivot col: g value: SUM(i), COUNT() values: a group: d"],
     [{"op": "pivot", "col": "g", "value": ["SUM(i)", "COUNT()"], "values": ["a"], "group": ["d"]}],
     ["d", "a_sum_i", "a_count"],
     # Spark's pivot: a group without that value has missing aggregates (COUNT too).
     [(1.5, 1, 1), (N, 2, 1), (2.0, N, N), (4.0, N, N), (0.5, N, N)]),
    ("pivot without col is an aggregate", NUMS, ["pivot value: SUM(i) group: g"],
     [{"op": "pivot", "value": "SUM(i)", "group": "g"}], ["g", "sum_i"], [("a", 3), ("b", 3), (N, 5)]),
    ("unpivot", ("id int, a string, b int", [(1, "x", 2), (2, None, None)]), ["unpivot col: a,b"],
     [{"op": "unpivot", "col": ["a", "b"]}], ["id", "key", "value"],
     [(1, "a", "x"), (1, "b", "2"), (2, "a", N), (2, "b", N)]),
    ("window", NUMS, ["window value: ROWNUMBER(), SUM(i) group: g order: -d"],
     [{"op": "window", "value": ["ROWNUMBER()", "SUM(i)"], "group": ["g"], "order": ["-d"]}],
     ["g", "i", "d", "window_1", "window_2"],
     [("a", 1, 1.5, 1, 3), ("a", 2, N, 2, 3), ("b", 3, 2.0, 2, 3), ("b", N, 4.0, 1, 3), (N, 5, 0.5, 1, 5)]),
    ("unnest json text", ("j string", [('{"a": 1, "b c": {"x": true}, "u": "Ü"}',), ("{}",), (None,), ("not json",)]),
     ["unnest col: j keys: 'a', 'b c', 'u'"], [{"op": "unnest", "col": "j", "keys": ["a", "b c", "u"]}],
     ["j", "a", "b c", "u"],
     [('{"a": 1, "b c": {"x": true}, "u": "Ü"}', "1", '{"x":true}', "Ü"), ("{}", N, N, N),
      (N, N, N, N), ("not json", N, N, N)]),
    ("flatten", ("id int, arr array<string>", [(1, ["a", "b"]), (2, []), (3, None)]),
     ["flatten col: arr"], [{"op": "flatten", "col": "arr"}], ["id", "arr"],
     [(1, "a"), (1, "b"), (2, N), (3, N)]),
    ("flatten json text", ("id int, arr string", [(1, '["a", 2]'), (2, None)]),
     ["flatten col: arr"], [{"op": "flatten", "col": "arr"}], ["id", "arr"],
     [(1, "a"), (1, "2"), (2, N)]),
    ("comment", TEXT, ["comment text: 'nothing happens'"], [{"op": "comment", "text": "x"}],
     ["name", "qty", "note"], TEXT[1]),
]


def _key(row):
    return tuple((v is None, str(v)) for v in row)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op(spark, case):
    _, (schema, data), text_steps, json_steps, columns, expected = case
    df = spark.createDataFrame(data, schema)
    assert validate_recipe(text_steps, df.schema) == []
    assert validate_recipe(json_steps, df.schema) == []
    a = apply_recipe(df, text_steps, context(spark))
    b = apply_recipe(df, json_steps, context(spark))
    assert a.columns == columns and b.columns == columns
    got = [tuple(r) for r in a.unionAll(b).collect()]  # both forms in one job
    assert same(sorted(got, key=_key), sorted(list(expected) * 2, key=_key)), got


def test_sort_both_forms_in_order(spark):
    df = spark.createDataFrame(TEXT[1], TEXT[0])
    for steps in (["sort order: -qty, name"], [{"op": "sort", "order": ["-qty", "name"]}]):
        got = [tuple(r) for r in apply_recipe(df, steps, context(spark)).collect()]
        # Text sorts as text; missing values last.
        assert got == [("Ünï", "x", ""), ("", "3", N), ("Ann", "12", "a,b"), (N, N, "c")]


def test_sort_by_source_row_number_and_derive_it(spark):
    df = spark.createDataFrame(TEXT[1], TEXT[0]).coalesce(1)
    steps = ["derive value: $sourcerownumber as: 'n'", "sort order: -$sourcerownumber"]
    got = [tuple(r) for r in apply_recipe(df, steps, context(spark)).collect()]
    assert [r[3] for r in got] == [4, 3, 2, 1]
