"""Both ways of writing a step (JSON object, Wrangle text line) give the same step model."""

import pytest

from spark_jobs.recipes.engine import parse_recipe
from spark_jobs.recipes.params import ParamError
from spark_jobs.recipes.steps import STEPS, parse_step, split_wrangle_line

# (Wrangle text, JSON object) pairs: every op of RECIPES.md at least once.
PAIRS = [
    ("derive type: single value: UPPER(name) as: 'name_upper'",
     {"op": "derive", "value": "UPPER(name)", "as": "name_upper"}),
    ("derive type: multiple value: ROLLINGSUM(SALES, -1, 0) group: MONTH order: $sourcerownumber "
     "as: 'rollingsum_SALES'",
     {"op": "derive", "value": "ROLLINGSUM(SALES, -1, 0)", "group": ["MONTH"],
      "order": ["$sourcerownumber"], "as": "rollingsum_SALES"}),
    ("set col: a,`b c` value: TRIM($col)",
     {"op": "set", "col": ["a", "b c"], "value": "TRIM($col)"}),
    ("filter type: custom rowType: single row: Quantity > 10 action: Keep",
     {"op": "filter", "row": "Quantity > 10", "action": "Keep"}),
    ("keep row: Quantity > 10", {"op": "filter", "row": "Quantity > 10", "action": "Keep"}),
    ("delete row: ISMISSING(x)", {"op": "filter", "row": "ISMISSING(x)", "action": "Delete"}),
    ("drop col: ShipRegion,US_PostalCode action: Drop",
     {"op": "drop", "col": ["ShipRegion", "US_PostalCode"], "action": "Drop"}),
    ("drop col: a action: keep", {"op": "drop", "col": "a", "action": "Keep"}),
    ("rename type: manual mapping: [newShipRegion,'ShipRegion']",
     {"op": "rename", "mapping": {"newShipRegion": "ShipRegion"}}),
    ("rename mapping: [a,'x'], [`b c`,'y']",
     {"op": "rename", "mapping": [["a", "x"], ["b c", "y"]]}),
    ("move col: a,b before: c", {"op": "move", "col": ["a", "b"], "before": "c"}),
    ("move col: a after: `c d`", {"op": "move", "col": ["a"], "after": "c d"}),
    ("settype col: OrderID type: Integer", {"op": "settype", "col": ["OrderID"], "type": "Integer"}),
    ("settype col: d type: datetime format: 'MM/dd/yyyy'",
     {"op": "settype", "col": "d", "type": "Datetime", "format": "MM/dd/yyyy"}),
    ("replace col: a on: 'x' with: 'y' global: false",
     {"op": "replace", "col": ["a"], "on": "x", "with": "y", "global": False}),
    ("replace col: a on: /[0-9]+/ with: '#'",
     {"op": "replace", "col": ["a"], "on": {"regex": "[0-9]+"}, "with": "#"}),
    ("replace col: a on: /a:b/ with: ''", {"op": "replace", "col": "a", "on": "/a:b/", "with": ""}),
    ("replacemissing col: ShipPostalCode with: custom text: 'T12'",
     {"op": "replacemissing", "col": ["ShipPostalCode"], "with": "custom", "text": "T12"}),
    ("replacemissing col: n with: 0", {"op": "replacemissing", "col": ["n"], "with": 0}),
    ("textformat col: ShipCity type: propercase",
     {"op": "textformat", "col": ["ShipCity"], "type": "propercase"}),
    ("split col: a on: ',' limit: 2", {"op": "split", "col": "a", "on": ",", "limit": 2}),
    ("splitrows col: a on: /\\s+/", {"op": "splitrows", "col": "a", "on": "/\\s+/"}),
    ("extract col: a on: /\\d+/ as: 'digits'",
     {"op": "extract", "col": "a", "on": "/\\d+/", "as": "digits"}),
    ("countpattern col: a on: 'x' as: 'n'", {"op": "countpattern", "col": "a", "on": "x", "as": "n"}),
    ("merge col: a,b with: '-' as: 'ab'",
     {"op": "merge", "col": ["a", "b"], "with": "-", "as": "ab"}),
    ("deduplicate", {"op": "deduplicate"}),
    ("deduplicate col: a,b", {"op": "deduplicate", "col": ["a", "b"]}),
    ("sort order: -Product", {"op": "sort", "order": ["-Product"]}),
    ("sort order: a, -`b c`", {"op": "sort", "order": ["a", "-b c"]}),
    ("aggregate value: SUM(Sales), COUNT() group: prodId as: 's', 'n'",
     {"op": "aggregate", "value": ["SUM(Sales)", "COUNT()"], "group": ["prodId"],
      "as": ["s", "n"]}),
    ("pivot value: SUM(Sales) group: prodId", {"op": "pivot", "value": "SUM(Sales)", "group": "prodId"}),
    ("pivot col: year value: SUM(Sales) group: prodId limit: 10",
     {"op": "pivot", "col": "year", "value": ["SUM(Sales)"], "group": ["prodId"], "limit": 10}),
    ("unpivot col: a,b", {"op": "unpivot", "col": ["a", "b"]}),
    ("window value: ROWNUMBER(), PREV(a, 2) group: g order: -d",
     {"op": "window", "value": ["ROWNUMBER()", "PREV(a, 2)"], "group": ["g"], "order": ["-d"]}),
    ("join with: wrangledDataset(12) type: left on: custId == id, region columns: name",
     {"op": "join", "with": {"wrangledDataset": 12}, "type": "left",
      "on": [{"left": "custId", "right": "id"}, "region"], "columns": ["name"]}),
    ("union with: importedDataset(3), wrangledDataset(4) by: position",
     {"op": "union", "with": [{"importedDataset": 3}, {"wrangledDataset": {"id": 4}}],
      "by": "position"}),
    ("lookup with: importedDataset(7) col: code key: id",
     {"op": "lookup", "with": {"importedDataset": 7}, "col": "code", "key": "id"}),
    ("unnest col: obj keys: 'a', 'b c'", {"op": "unnest", "col": "obj", "keys": ["a", "b c"]}),
    ("flatten col: arr", {"op": "flatten", "col": "arr"}),
    ("comment text: 'why this recipe exists'", {"op": "comment", "text": "why this recipe exists"}),
]


@pytest.mark.parametrize("text, obj", PAIRS, ids=[p[0][:40] for p in PAIRS])
def test_text_and_json_parse_to_the_same_step(text, obj):
    a, b = parse_step(text, 3), parse_step(obj, 3)
    assert a.problems == [] and b.problems == []
    assert a.step == b.step
    assert type(a.step).__name__ != "Step"


def test_every_op_of_the_language_has_a_pair():
    ops = {type(parse_step(t, 0).step).op for t, _ in PAIRS}
    assert ops == {cls.op for cls in STEPS.values()}
    assert {"derive", "set", "filter", "drop", "rename", "move", "settype", "replace",
            "replacemissing", "textformat", "split", "splitrows", "extract", "countpattern",
            "merge", "deduplicate", "sort", "aggregate", "pivot", "unpivot", "window", "join",
            "union", "lookup", "unnest", "flatten", "comment"} <= ops


def test_split_wrangle_line_respects_quotes_brackets_and_regexes():
    op, values = split_wrangle_line(
        "derive value:IF(a == 'x: y', `col: z`, [1,2]) as: 'out: put' group: g")
    assert op == "derive"
    assert values == {"value": "IF(a == 'x: y', `col: z`, [1,2])", "as": "'out: put'",
                      "group": "g"}
    assert split_wrangle_line("replace col: a on: /b:c d/ with: 'x'")[1]["on"] == "/b:c d/"


@pytest.mark.parametrize("line, message", [
    ("", "empty step text"),
    ("derive value: a as: 'x' value: b", "given twice"),
    ("derive value:", "has no value"),
    ("derive junk value: a", "before the first parameter"),
    ("derive value: 'open", "unterminated '"),
    ("derive value: (a as: 'x'", "unbalanced brackets"),
    ("'op' value: a", "starts with its op"),
])
def test_malformed_lines(line, message):
    with pytest.raises(ParamError) as e:
        split_wrangle_line(line)
    assert message in str(e.value)


@pytest.mark.parametrize("raw, param, message", [
    ({"op": "drive", "value": "a", "as": "b"}, "op", "closest: derive"),
    ("derve value: a as: 'b'", "op", "closest: derive"),
    ({"value": "a"}, "op", "missing"),
    ({"op": "derive", "value": "a", "ass": "b"}, "ass", "closest: as"),
    ({"op": "derive", "value": "a"}, "as", "required by derive"),
    ({"op": "filter", "row": "a > 1", "action": "Maybe"}, "action", "one of Keep, Delete"),
    ({"op": "settype", "col": ["a"], "type": "Money"}, "type", "one of String, Integer"),
    ({"op": "split", "col": "a", "on": ",", "limit": "two"}, "limit", "a whole number"),
    ({"op": "replace", "col": ["a"], "on": "/(/", "with": "x"}, "on", "valid regular expression"),
    ({"op": "join", "with": {"dataset": 3}, "on": ["id"]}, "with", '{"wrangledDataset": ID}'),
    ({"op": "drop", "col": []}, "col", "a column name or a list"),
    ({"op": "rename", "mapping": {"a": 3}}, "mapping", '{"old": "new"}'),
    ({"op": "move", "col": ["a"]}, "before", "exactly one of before or after"),
    ({"op": "aggregate", "value": ["SUM(a)"], "as": ["x", "y"]}, "as", "expected 1 names"),
    ({"op": "derive", "value": "UPPER(", "as": "x"}, "value", "expected a value"),
    (42, None, "a step is a JSON object"),
])
def test_parameter_problems_name_the_parameter(raw, param, message):
    p = parse_step(raw, 5)
    assert p.step is None
    assert any(pp == param and message in m for pp, m in p.problems), p.problems


def test_parse_recipe_reports_every_step():
    steps, problems = parse_recipe(["derive value: a as: 'x'", {"op": "nope"}, "sort"])
    assert [s.op for s in steps] == ["derive"]
    assert [(p.step, p.param) for p in problems] == [(1, "op"), (2, "order")]
