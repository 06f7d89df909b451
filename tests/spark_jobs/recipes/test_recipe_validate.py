"""validate_recipe (as the launcher calls it on save), dependencies and their order."""

import pytest
from pyspark.sql import types as T

from spark_jobs.recipes import (
    DependencyCycleError,
    Problem,
    order_datasets,
    recipe_dependencies,
    validate_recipe,
)
from spark_jobs.spec import DatasetRef

SCHEMA = ["name", "qty", "order date", "Sales"]


def problems_of(steps, schema=SCHEMA):
    return [(p.step, p.param, p.message) for p in validate_recipe(steps, schema)]


def test_a_valid_recipe_has_no_problems():
    steps = [
        "settype col: qty type: Integer",
        "derive value: IF(qty > 10, UPPER(name), '') as: 'big'",
        {"op": "filter", "row": "!ISMISSING(big) && `order date` != null", "action": "Keep"},
        "rename type: manual mapping: [big,'Big']",
        "aggregate value: SUM(qty), COUNT() group: Big",
        "sort order: -sum_qty",
    ]
    assert validate_recipe(steps, SCHEMA) == []
    assert validate_recipe(steps) == []


@pytest.mark.parametrize("expr", [
    "x'); DROP TABLE t; --",
    "reflect('java.lang.Runtime','exec','id')",
    "java_method('java.lang.Runtime', 'getRuntime')",
    "java_method(...)",
    "`name`) OR 1=1 --",
    "`name` || `x` `; DROP TABLE t`",
    "'a' || \"b\"; SELECT 1",
    "name\"); DROP TABLE t; --",
    "(" * 10_000 + "name" + ")" * 10_000,
    "UPPER(" * 10_000 + "name" + ")" * 10_000,
])
def test_adversarial_expressions_are_refused_at_validation(expr):
    for steps in ([{"op": "derive", "value": expr, "as": "x"}],
                  [{"op": "filter", "row": expr, "action": "Keep"}]):
        problems = validate_recipe(steps, SCHEMA)
        assert problems, expr
        assert all(p.step == 0 and p.param in ("value", "row") for p in problems)


def test_forbidden_functions_are_named_as_not_part_of_the_language():
    [p] = validate_recipe([{"op": "derive", "value": "reflect('java.lang.Runtime','exec','id')",
                            "as": "x"}])
    assert p == Problem(0, "value", "unknown function REFLECT (recipes call only the functions "
                                    "of the Wrangle language); closest: LEFT")


def test_deep_nesting_message():
    [p] = validate_recipe([{"op": "derive", "value": "(" * 10_000 + "1" + ")" * 10_000,
                            "as": "x"}])
    assert "nested more than 100 levels deep" in p.message


def test_quoted_names_cannot_break_out():
    # A backtick name is one column name, whatever it holds; it does not exist here.
    assert problems_of([{"op": "derive", "value": "`name) OR (1`", "as": "x"}]) == [
        (0, "value", "unknown column 'name) OR (1'; closest: name")]
    assert problems_of([{"op": "drop", "col": ["name`; DROP TABLE t; --"]}]) == [
        (0, "col", "unknown column 'name`; DROP TABLE t; --'")]


def test_unknown_function_and_column_get_closest_names():
    assert problems_of([{"op": "derive", "value": "UPPR(nme) + ROUNDD(qyt)", "as": "x"}]) == [
        (0, "value", "unknown function UPPR; closest: UPPER, PREV, HOUR"),
        (0, "value", "unknown column 'nme'; closest: name"),
        (0, "value", "unknown function ROUNDD; closest: ROUND, COUNT, SECOND"),
        (0, "value", "unknown column 'qyt'; closest: qty"),
    ]


def test_every_problem_is_reported_with_step_and_parameter():
    steps = [
        "derive value: SUM(qty) > 1 as: 'x'",           # fine: derive may aggregate over all rows
        "filter row: SUM(qty) > 1 action: Keep",         # aggregate in a row filter
        "derive value: ROWNUMBER() as: 'r'",             # fine: derive may use window functions
        {"op": "derive", "value": "ROUND(qty, 'two')", "as": "y"},
        {"op": "derive", "value": "DATEDIF(a, b, fortnight)", "as": "z"},
        {"op": "derive", "value": "LEFT(name)", "as": "w"},
        {"op": "set", "col": ["qty"], "value": "SUM(SUM($col))"},
        {"op": "derive", "value": "$col + 1", "as": "v"},
        {"op": "sort", "order": ["-nope"]},
        {"op": "derive", "value": "[1, 2]", "as": "u"},
        {"op": "derive", "value": "IN(name, name)", "as": "t"},
        {"op": "aggregate", "value": ["qty"]},           # not an aggregate
    ]
    got = problems_of(steps, SCHEMA)
    assert got == [
        (1, "row", "SUM is an aggregate function: use it in aggregate, pivot or window, or in "
                   "derive with group"),
        (3, "value", "argument 2 of ROUND must be a whole number written as a literal"),
        (4, "value", "argument 3 of DATEDIF must be one of year, quarter, month, week, day, "
                     "dayofyear, hour, minute, second, millisecond"),
        (4, "value", "unknown column 'a'"),
        (4, "value", "unknown column 'b'"),
        (5, "value", "LEFT takes 2 arguments, got 1"),
        (6, "value", "SUM cannot be used inside SUM"),
        (7, "value", "$col is allowed only in the value of a set step"),
        (8, "order", "unknown column 'nope'; closest: name"),
        (9, "value", "a [list] at position 0 is allowed only as an argument of IN, MERGE or "
                     "PARSEDATE"),
        (10, "value", "argument 2 of IN must be a [list] of literal values"),
        (11, "value", "each value here must use an aggregate function (SUM, AVERAGE, MIN, MAX, "
                      "COUNT, ...)"),
    ]


def test_columns_are_followed_through_the_steps():
    steps = [
        "derive value: qty * 2 as: 'double'",
        "rename mapping: [double,'twice']",
        "drop col: name",
        "derive value: twice + double + name as: 'bad'",
        "split col: `order date` on: '-' limit: 2",
        "derive value: `order date1` + `order date4` as: 'x'",
        "aggregate value: SUM(twice) group: qty",
        "derive value: sum_twice + qty + Sales as: 'y'",
    ]
    assert problems_of(steps) == [
        (3, "value", "unknown column 'double'"),
        (3, "value", "unknown column 'name'"),
        (5, "value", "unknown column 'order date4'; closest: order date3, order date2, "
                     "order date1"),
        (7, "value", "unknown column 'Sales'"),
    ]


def test_schema_forms_and_unknown_columns_after_a_join():
    struct = T.StructType([T.StructField(n, T.StringType()) for n in SCHEMA])
    steps = ["derive value: nme as: 'x'"]
    assert validate_recipe(steps, struct) == validate_recipe(steps, {n: "string" for n in SCHEMA})
    assert len(validate_recipe(steps, struct)) == 1
    # After a join the columns depend on the other dataset: later steps are not column-checked.
    assert validate_recipe([{"op": "join", "with": {"wrangledDataset": 2}, "on": ["name"]},
                            "derive value: anything as: 'x'"], SCHEMA) == []


def test_not_a_list():
    assert validate_recipe("derive value: a as: 'b'") == [
        Problem(0, None, "a recipe is a list of steps (JSON objects or Wrangle text lines), "
                         "got str")]


# -- dependencies ---------------------------------------------------------------------------
def W(i):
    return DatasetRef(kind="wrangled", id=i)


def I(i):
    return DatasetRef(kind="imported", id=i)


def test_recipe_dependencies_in_order_of_appearance_once_each():
    steps = [
        "lookup with: importedDataset(7) col: a key: b",
        {"op": "join", "with": {"wrangledDataset": 3}, "on": ["id"]},
        "union with: wrangledDataset(3), importedDataset(9)",
        "derive value: 1 as: 'x'",
        {"op": "bogus"},
    ]
    assert recipe_dependencies(steps) == [I(7), W(3), I(9)]
    assert recipe_dependencies([]) == []


def test_order_datasets_puts_dependencies_first_and_the_target_last():
    graph = {
        W(1): (I(1), [{"op": "join", "with": {"wrangledDataset": 2}, "on": ["id"]}]),
        W(2): (W(3), ["union with: importedDataset(2)"]),
        W(3): (I(1), ["lookup with: importedDataset(3) col: a key: b"]),
    }
    assert order_datasets(W(1), graph.__getitem__) == [I(1), I(3), W(3), I(2), W(2), W(1)]
    assert order_datasets(I(5), graph.__getitem__) == [I(5)]


def test_a_cycle_names_its_datasets():
    graph = {
        W(1): (I(1), [{"op": "join", "with": {"wrangledDataset": 2}, "on": ["id"]}]),
        W(2): (I(1), ["lookup with: wrangledDataset(3) col: a key: b"]),
        W(3): (W(1), []),
    }
    with pytest.raises(DependencyCycleError) as e:
        order_datasets(W(1), graph.__getitem__)
    assert e.value.cycle == [W(1), W(2), W(3), W(1)]
    assert str(e.value) == ("datasets depend on each other in a cycle: wrangled dataset 1 -> "
                            "wrangled dataset 2 -> wrangled dataset 3 -> wrangled dataset 1")


def test_a_dataset_joined_with_itself_is_a_cycle():
    graph = {W(4): (I(1), ["union with: wrangledDataset(4)"])}
    with pytest.raises(DependencyCycleError, match="wrangled dataset 4 -> wrangled dataset 4"):
        order_datasets(W(4), graph.__getitem__)


def test_a_long_chain_does_not_exhaust_the_stack():
    graph = {W(i): (W(i + 1) if i < 5000 else I(0), []) for i in range(1, 5001)}
    order = order_datasets(W(1), graph.__getitem__)
    assert order[0] == I(0) and order[-1] == W(1) and len(order) == 5001
