"""The expression parser: precedence, literals, names, and text that must be refused."""

import pytest

from spark_jobs.recipes.expr_ast import ArrayLit, Binary, Call, ColumnRef, Literal, Special, Unary, to_text
from spark_jobs.recipes.expr_parser import MAX_DEPTH, ExprError, parse_expression, parse_expression_list


@pytest.mark.parametrize("text, canonical", [
    ("a + b * c", "(a + (b * c))"),
    ("(a + b) * c", "((a + b) * c)"),
    ("a - b - c", "((a - b) - c)"),
    ("a / b % c", "((a / b) % c)"),
    ("a > 1 && b < 2 || c == 3", "(((a > 1) && (b < 2)) || (c == 3))"),
    ("a || b && c", "(a || (b && c))"),
    ("!a && b", "(!a && b)"),
    ("-a * b", "(-a * b)"),
    ("a - -1", "(a - -1)"),
    ("-3.5", "-3.5"),
    ("1e3", "1000.0"),
    (".5", "0.5"),
    ("'it\\'s'", "'it\\'s'"),
    ('"double"', "'double'"),
    ("upper(name)", "UPPER(name)"),
    ("IF(a == 1, 'x', null)", "IF((a == 1), 'x', null)"),
    ("COUNT()", "COUNT()"),
    ("IN(a, [1, 2, 'x'])", "IN(a, [1, 2, 'x'])"),
    ("`order date` >= 3", "(`order date` >= 3)"),
    ("`a.b`", "`a.b`"),
    ("$col", "$col"),
    ("$SourceRowNumber", "$sourcerownumber"),
    ("TRUE != false", "(true != false)"),
    ("Ünïcödé_col + 1", "(Ünïcödé_col + 1)"),
])
def test_parses_to_the_expected_tree(text, canonical):
    assert to_text(parse_expression(text)) == canonical


def test_nodes_carry_types_and_positions():
    node = parse_expression("IF(qty > 10, 'big', 2.5)")
    assert isinstance(node, Call) and node.name == "IF"
    cond, then, other = node.args
    assert cond == Binary(">", ColumnRef("qty"), Literal(10, "Integer"))
    assert then == Literal("big", "String") and other == Literal(2.5, "Decimal")
    assert cond.pos == 7
    assert parse_expression("null") == Literal(None, "Null")
    assert parse_expression("!x") == Unary("!", ColumnRef("x"))
    assert parse_expression("$col") == Special("col")
    assert parse_expression("[1]") == ArrayLit((Literal(1, "Integer"),))


def test_expression_list():
    nodes = parse_expression_list("SUM(a), COUNT(), MAX(IF(b, 1, 2))")
    assert [to_text(n) for n in nodes] == ["SUM(a)", "COUNT()", "MAX(IF(b, 1, 2))"]


@pytest.mark.parametrize("text, message", [
    ("x'); DROP TABLE t; --", "unterminated string"),
    ("a; DROP TABLE t", "unexpected character ';'"),
    ("`a` + `b`) --", "unexpected ')'"),
    ("`x` `; drop`", "unexpected name"),
    ("`a``b`", "unexpected name 'b'"),
    ("`unterminated", "unterminated `column name`"),
    ("``", "empty `column name`"),
    ("'abc", "unterminated string"),
    ('"abc\'', "unterminated string"),
    ("a = 1", "compare with =="),
    ("a & b", "use && or ||"),
    ("a < b < c", "cannot be chained"),
    ("a == b == c", "cannot be chained"),
    ("f(a,", "expected a value"),
    ("f(a b)", "expected ',' or ')'"),
    ("(a", "expected ')'"),
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("$other", "expected $col or $sourcerownumber"),
    ("a ? b : c", "unexpected character '?'"),
    ("a\n;b", "unexpected character ';'"),
])
def test_refuses_malformed_text_with_a_clear_message(text, message):
    with pytest.raises(ExprError) as e:
        parse_expression(text)
    assert message in str(e.value)


@pytest.mark.parametrize("text", [
    "(" * 10_000 + "1" + ")" * 10_000,
    "UPPER(" * 10_000 + "a" + ")" * 10_000,
    "-" * 10_000 + "1",
    "!" * 10_000 + "a",
    "[" * 10_000 + "]" * 10_000,
    "1" + " + 1" * 10_000,
    "a" + " && a" * 10_000,
])
def test_deep_nesting_is_a_clear_error_not_a_crash(text):
    with pytest.raises(ExprError) as e:
        parse_expression(text)
    assert f"nested more than {MAX_DEPTH} levels" in str(e.value)


def test_nesting_up_to_the_limit_is_accepted():
    depth = MAX_DEPTH - 2
    node = parse_expression("UPPER(" * depth + "a" + ")" * depth)
    assert node.depth == depth + 1


def test_positions_point_at_the_problem():
    with pytest.raises(ExprError) as e:
        parse_expression("UPPER(name) + @")
    assert e.value.pos == 14 and "position 14" in str(e.value)
