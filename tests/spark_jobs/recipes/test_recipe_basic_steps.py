"""A first end-to-end check of the common steps, both forms, on the session's Spark."""

from spark_jobs.recipes import RecipeContext, apply_recipe, validate_recipe


def _ctx(spark):
    return RecipeContext(spark=spark, resolve=lambda ref: None)


def test_common_steps_text_and_json_give_the_same_rows(spark):
    df = spark.createDataFrame(
        [("a b", "12", None), ("Ünï", "x", "3"), (None, "", "5")],
        "name string, qty string, `ship region` string")
    text = [
        "settype col: qty type: Integer",
        "derive type: single value: IF(qty > 10, UPPER(name), PROPER(name)) as: 'up'",
        "filter type: custom rowType: single row: ISNULL(name) action: Delete",
        "rename type: manual mapping: [`ship region`,'region']",
        "drop col: region action: Drop",
    ]
    json_steps = [
        {"op": "settype", "col": ["qty"], "type": "Integer"},
        {"op": "derive", "value": "IF(qty > 10, UPPER(name), PROPER(name))", "as": "up"},
        {"op": "filter", "row": "ISNULL(name)", "action": "Delete"},
        {"op": "rename", "mapping": {"ship region": "region"}},
        {"op": "drop", "col": ["region"]},
    ]
    assert validate_recipe(text, df.schema) == []
    assert validate_recipe(json_steps, df.schema) == []
    a, b = apply_recipe(df, text, _ctx(spark)), apply_recipe(df, json_steps, _ctx(spark))
    rows = [tuple(r) for r in a.union(b).collect()]
    assert sorted(rows, key=str) == sorted([("a b", 12, "A B"), ("Ünï", None, "Ünï")] * 2, key=str)
