"""The compiled plan is the one a person would write: lazy, no Python UDFs, no extra shuffles."""

from recipe_helpers import context
from spark_jobs.recipes import apply_recipe

ROW_LEVEL = [
    "settype col: qty type: Integer",
    "derive value: IF(qty > 10, UPPER(name), PROPER(name)) as: 'label'",
    "filter row: !ISMISSING(name) && LEN(name) < 20 action: Keep",
    "replace col: name on: /[aeiou]/ with: '*'",
    "split col: tags on: ',' limit: 2",
    "extract col: label on: /[A-Z]+/ as: 'caps'",
    "set col: name value: TRIM($col)",
    "textformat col: caps type: lowercase",
    "rename mapping: [label,'Label']",
    "move col: Label before: name",
    "drop col: tags3",
    "derive value: DATEFORMAT(DATEADD(NOW(), qty, day), 'yyyy-MM-dd') as: 'due'",
]


def _plan(df) -> str:
    return df._jdf.queryExecution().executedPlan().toString()


def _frame(spark):
    return spark.createDataFrame([("ann", "12", "a,b,c", "g1"), ("bob", "x", None, "g2")],
                                 "name string, qty string, tags string, grp string")


def test_applying_a_recipe_runs_no_spark_job(spark):
    sc = spark.sparkContext
    sc.setJobGroup("recipe-lazy", "applying a recipe must not run anything")
    try:
        df = _frame(spark)
        apply_recipe(df, ROW_LEVEL + [
            "aggregate value: SUM(qty), COUNT() group: grp",
            "window value: ROWNUMBER() order: -sum_qty",
            "sort order: grp",
        ], context(spark))
        assert list(sc.statusTracker().getJobIdsForGroup("recipe-lazy")) == []
    finally:
        sc.setJobGroup("", "")


def test_row_level_steps_need_no_shuffle_and_no_python(spark):
    out = apply_recipe(_frame(spark), ROW_LEVEL, context(spark))
    plan = _plan(out)
    assert "Exchange" not in plan
    for python in ("BatchEvalPython", "ArrowEvalPython", "PythonUDF", "MapInPandas"):
        assert python not in plan
    out.collect()


def test_aggregate_then_window_then_sort_on_the_same_key_shuffle_once_each(spark):
    df = _frame(spark)
    out = apply_recipe(df, [
        "settype col: qty type: Integer",
        "aggregate value: SUM(qty) group: grp",
        "window value: RANK() group: grp order: -sum_qty",
    ], context(spark))
    plan = _plan(out)
    # The window reuses the aggregate's partitioning by grp: one shuffle in all.
    assert plan.count("Exchange hashpartitioning") == 1, plan


def test_expressions_compile_to_builtin_functions(spark):
    out = apply_recipe(_frame(spark), [
        "derive value: ROUND(POWER(LEN(name), 2) / 3, 1) as: 'r'",
        "derive value: IN(grp, ['g1']) && STARTSWITH(name, 'a') as: 'ok'",
    ], context(spark))
    logical = out._jdf.queryExecution().analyzed().toString()
    assert "round(" in logical and "POWER(" in logical and "StartsWith(" in logical
    assert "UDF" not in logical.upper()
