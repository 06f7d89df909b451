"""join, union and lookup through ctx.resolve; settype mismatch counts; a spec run end to end."""

import csv
import json

import pytest

from recipe_helpers import context
from spark_jobs.recipes import RecipeError, apply_recipe
from spark_jobs.runner import run_job

N = None
LEFT = ("id int, name string", [(1, "a"), (2, "b"), (3, None), (None, "n")])
RIGHT = ("id int, label string, name string",
         [(1, "one", "z"), (2, "two", "y"), (4, "four", "x"), (None, "nul", "w")])


@pytest.fixture(scope="module")
def frames(spark):
    return {
        ("wrangled", 5): spark.createDataFrame(RIGHT[1], RIGHT[0]),
        ("imported", 6): spark.createDataFrame([(10, 1, "ten"), (20, 2, "twenty")],
                                               "key int, id string, word string"),
        ("imported", 7): spark.createDataFrame([("Ünï", 9), (None, None)], "name string, id int"),
        ("imported", 8): spark.createDataFrame([(1, "uno", 1.0), (1, "eins", 2.0), (2, "dos", N)],
                                               "code int, label string, weight double"),
    }


def _sorted(rows):
    return sorted((tuple(r) for r in rows), key=lambda r: tuple((v is None, str(v)) for v in r))


JOINS = [
    ("inner", ["id", "name", "label", "name_right"], [(1, "a", "one", "z"), (2, "b", "two", "y")]),
    ("left", ["id", "name", "label", "name_right"],
     [(1, "a", "one", "z"), (2, "b", "two", "y"), (3, N, N, N), (N, "n", N, N)]),
    ("right", ["id", "name", "label", "name_right"],
     [(1, "a", "one", "z"), (2, "b", "two", "y"), (4, N, "four", "x"), (N, N, "nul", "w")]),
    ("full", ["id", "name", "label", "name_right"],
     [(1, "a", "one", "z"), (2, "b", "two", "y"), (3, N, N, N), (4, N, "four", "x"),
      (N, "n", N, N), (N, N, "nul", "w")]),
    ("leftsemi", ["id", "name"], [(1, "a"), (2, "b")]),
    ("leftanti", ["id", "name"], [(3, N), (N, "n")]),
]


@pytest.mark.parametrize("how, columns, expected", JOINS, ids=[j[0] for j in JOINS])
def test_join_types_both_forms(spark, frames, how, columns, expected):
    df = spark.createDataFrame(LEFT[1], LEFT[0])
    ctx = context(spark, frames)
    a = apply_recipe(df, [f"join with: wrangledDataset(5) type: {how} on: id"], ctx)
    b = apply_recipe(df, [{"op": "join", "with": {"wrangledDataset": 5}, "type": how,
                           "on": [{"left": "id", "right": "id"}]}], ctx)
    assert a.columns == b.columns == columns
    assert _sorted(a.unionAll(b).collect()) == _sorted(expected * 2)


def test_join_on_differently_named_keys_and_chosen_columns(spark, frames):
    df = spark.createDataFrame(LEFT[1], LEFT[0])
    ctx = context(spark, frames)
    out = apply_recipe(df, ["join with: importedDataset(6) type: left on: id == key"], ctx)
    assert out.columns == ["id", "name", "key", "id_right", "word"]
    assert _sorted(out.collect()) == _sorted([(1, "a", N, N, N), (2, "b", N, N, N), (3, N, N, N, N),
                                              (N, "n", N, N, N)])
    out = apply_recipe(df, [{"op": "join", "with": {"importedDataset": 6}, "type": "inner",
                             "on": [{"left": "id", "right": "id"}], "columns": ["word"]}], ctx)
    # Text ids join integer ids by value.
    assert out.columns == ["id", "name", "word"]
    assert _sorted(out.collect()) == [(1, "a", "ten"), (2, "b", "twenty")]


def test_union_by_name_and_position(spark, frames):
    df = spark.createDataFrame(LEFT[1], LEFT[0])
    ctx = context(spark, frames)
    out = apply_recipe(df, ["union with: importedDataset(7)"], ctx)
    assert out.columns == ["id", "name"]
    assert _sorted(out.collect()) == _sorted(LEFT[1] + [(9, "Ünï"), (N, N)])
    out = apply_recipe(df, [{"op": "union", "with": [{"importedDataset": 7}], "by": "position"}],
                       ctx)
    # By position: name meets id (int), so both become text; id meets name the same way.
    assert out.columns == ["id", "name"]
    assert _sorted(out.collect()) == _sorted(
        [("1", "a"), ("2", "b"), ("3", N), (N, "n"), ("Ünï", "9"), (N, N)])
    with pytest.raises(RecipeError, match="has 3 columns, this one 2"):
        apply_recipe(df, ["union with: wrangledDataset(5) by: position"], ctx)


def test_lookup_adds_columns_without_multiplying_rows(spark, frames):
    df = spark.createDataFrame(LEFT[1], LEFT[0])
    out = apply_recipe(df, ["lookup with: importedDataset(8) col: id key: code"],
                       context(spark, frames))
    assert out.columns == ["id", "name", "label", "weight"]
    rows = _sorted(out.collect())
    assert len(rows) == 4
    assert rows[0][:2] == (1, "a") and rows[0][2] in ("uno", "eins")
    assert rows[1:] == [(2, "b", "dos", N), (3, N, N, N), (N, "n", N, N)]


def test_unknown_other_dataset_is_named(spark):
    df = spark.createDataFrame(LEFT[1], LEFT[0])
    with pytest.raises(RecipeError, match="step 0, with: cannot read wrangled dataset 99"):
        apply_recipe(df, ["join with: wrangledDataset(99) on: id"], context(spark, {}))


def test_settype_counts_mismatches_per_column(spark):
    df = spark.createDataFrame(
        [("1", "2020-01-01", "x"), ("x", "nope", ""), ("", None, None), (None, "2021-02-03", "y"),
         ("3.5", "2021-13-01", "z")], "a string, d string, s string")
    ctx = context(spark)
    out = apply_recipe(df, ["settype col: a,d type: Integer", "derive value: a as: 'a2'",
                            "settype col: a2 type: String", "settype col: s type: Boolean"], ctx)
    out.collect()  # the counts exist once the plan ran (the runner reads them after writing)
    counts = [o.get for o in ctx.mismatch_observations]
    # Empty and missing values are not mismatches; 'x', '3.5' and every date are, and as
    # Booleans 'y' (yes) fits while 'x' and 'z' do not.
    assert counts == [{"a": 2, "d": 4}, {"a2": 0}, {"s": 2}]


def test_a_spec_with_a_recipe_runs_and_reports_mismatches(spark, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("OrderID,ShipCity,Qty\n1,berlin,5\nx,PARIS,20\n3,,12\n,oslo,abc\n",
                   encoding="utf-8")
    out = tmp_path / "out"
    spec = {
        "jobGroupId": 3, "jobs": {"wrangle": 1}, "target": 2,
        "resultUri": str(tmp_path / "result.json"),
        "datasets": [
            {"kind": "imported", "id": 1, "uri": str(src), "format": "csv"},
            {"kind": "wrangled", "id": 2, "input": {"kind": "imported", "id": 1}, "recipe": [
                "settype col: OrderID type: Integer",
                "textformat col: ShipCity type: propercase",
                {"op": "settype", "col": ["Qty"], "type": "Integer"},
                "filter type: custom rowType: single row: Qty > 10 action: Keep",
                "derive type: single value: OrderID * 100 as: 'big'",
            ]},
        ],
        "outputs": [{"jobId": 11, "path": str(out), "action": "create", "format": "csv",
                     "header": True, "asSingleFile": True}],
    }
    result = run_job(spec, spark)
    assert result.status == "Complete", result
    assert result.mismatches == {"OrderID": 1, "Qty": 1}
    written = json.loads((tmp_path / "result.json").read_text())
    assert written["mismatches"] == {"OrderID": 1, "Qty": 1}
    path = result.jobs[-1].path
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["OrderID", "ShipCity", "Qty", "big"]
    assert sorted(rows[1:]) == sorted([["", "Paris", "20", ""], ["3", "", "12", "300"]])


def test_a_bad_recipe_fails_the_wrangle_job_with_the_step_named(spark, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n", encoding="utf-8")
    spec = {
        "jobGroupId": 4, "jobs": {"wrangle": 1}, "target": 2,
        "resultUri": str(tmp_path / "result.json"),
        "datasets": [
            {"kind": "imported", "id": 1, "uri": str(src), "format": "csv"},
            {"kind": "wrangled", "id": 2, "input": {"kind": "imported", "id": 1},
             "recipe": ["derive value: UPPER(b) as: 'c'"]},
        ],
        "outputs": [{"jobId": 11, "path": str(tmp_path / "o"), "action": "create",
                     "format": "csv"}],
    }
    result = run_job(spec, spark)
    assert result.status == "Failed"
    wrangle = result.jobs[0]
    assert wrangle.error.errorClass == "RecipeError"
    assert wrangle.error.message == "step 0, value: unknown column 'b'"
