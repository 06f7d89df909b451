"""Syntax tree -> pyspark Column, using built-in Spark functions only.

Types come from the input schema: a text column compared with a number is converted with
``try_cast`` (a value that does not fit is missing, it does not fail the job), numbers stay
integers where Wrangle keeps them integers, and literals become ``F.lit`` values. Column
names are quoted for Spark's name parser, so a name can never be read as anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from pyspark.sql import Column, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.recipes import types as W
from spark_jobs.recipes.context import RecipeError
from spark_jobs.recipes.expr_ast import ArrayLit, Binary, Call, ColumnRef, Literal, Node, Special, Unary
from spark_jobs.recipes.expr_check import (
    ROW,
    check_expression,
    find_column,
    literal_value,
    suggestion,
)
from spark_jobs.recipes.functions import FUNCTIONS, Args

# A helper column holding the source order, added by steps that read $sourcerownumber.
SOURCE_ROW = "__wrangle_source_row"


def col(name: str) -> Column:
    """A column by its exact name: backticks quote it for Spark (dots, spaces, quotes)."""
    return F.col("`" + name.replace("`", "``") + "`")


@dataclass
class Env:
    """What an expression can see: the columns, `$col`, and the window of its step."""

    schema: T.StructType
    context: str = ROW
    current: str | None = None
    partition: Sequence[Column] = ()
    order: Sequence[Column] = ()
    types: dict[str, str] = field(init=False)

    def __post_init__(self):
        self.types = {f.name: W.wrangle_type(f.dataType) for f in self.schema.fields}

    def window_spec(self, frame: tuple | None = None):
        w = Window.partitionBy(*self.partition).orderBy(*(self.order or [F.col(SOURCE_ROW)]))
        if frame is not None:
            w = w.rowsBetween(*frame)
        return w

    def aggregate_window(self):
        """None in aggregate/pivot (a plain aggregate); the whole group in derive/window."""
        if self.context != "window":
            return None
        w = Window.partitionBy(*self.partition)
        if self.order:
            # With an order Spark's default frame would be a running one; Wrangle means the group.
            w = w.orderBy(*self.order).rowsBetween(Window.unboundedPreceding,
                                                    Window.unboundedFollowing)
        return w


class Compiler:
    def __init__(self, env: Env):
        self.env = env

    def compile(self, node: Node) -> tuple[Column, str]:
        problems = check_expression(node, context=self.env.context,
                                    columns=list(self.env.types),
                                    allow_current=self.env.current is not None)
        if problems:
            raise RecipeError("; ".join(problems))
        return self._compile(node)

    def _compile(self, node: Node) -> tuple[Column, str]:
        if isinstance(node, Literal):
            if node.type == "Null":
                return F.lit(None), W.NULL
            return F.lit(node.value), node.type
        if isinstance(node, ColumnRef):
            name = find_column(node.name, list(self.env.types))
            if name is None:
                raise RecipeError(f"unknown column {node.name!r}"
                                  f"{suggestion(node.name, list(self.env.types))}")
            return col(name), self.env.types[name]
        if isinstance(node, Special):
            if node.name == "col":
                return col(self.env.current), self.env.types[self.env.current]
            # A value: 1-based row number in source order.
            return F.row_number().over(Window.orderBy(F.col(SOURCE_ROW))), W.INTEGER
        if isinstance(node, Unary):
            c, t = self._compile(node.operand)
            if node.op == "!":
                return ~W.as_boolean(c, t), W.BOOLEAN
            return -W.as_number(c, t), t if t in W.NUMERIC else W.DECIMAL
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Call):
            f = FUNCTIONS[node.name]
            compiled, literals = [], []
            for i, arg in enumerate(node.args):
                spec = f.literals.get(i)
                if spec is not None and spec.kind != "array":
                    value, _ = literal_value(arg, spec)
                    literals.append(value)
                    compiled.append((F.lit(None), W.NULL))
                elif spec is not None:
                    literals.append(None)
                    compiled.append((F.lit(None), W.NULL))
                else:
                    literals.append(None)
                    compiled.append(self._compile(arg))
            args = Args(self, node, compiled, literals)
            return f.build(args), f.result_type([t for _, t in compiled])
        if isinstance(node, ArrayLit):
            raise RecipeError("a [list] is allowed only as an argument of IN, MERGE or PARSEDATE")
        raise RecipeError(f"cannot compile {type(node).__name__}")

    def array_items(self, node: Node) -> list[tuple[Column, str]]:
        assert isinstance(node, ArrayLit)
        return [self._compile(i) for i in node.items]

    def _binary(self, node: Binary) -> tuple[Column, str]:
        op = node.op
        lc, lt = self._compile(node.left)
        rc, rt = self._compile(node.right)
        if op in ("&&", "||"):
            a, b = W.as_boolean(lc, lt), W.as_boolean(rc, rt)
            return (a & b if op == "&&" else a | b), W.BOOLEAN
        if op in ("+", "-", "*"):
            a, b = W.as_number(lc, lt), W.as_number(rc, rt)
            out = a + b if op == "+" else a - b if op == "-" else a * b
            return out, W.INTEGER if lt == rt == W.INTEGER else W.DECIMAL
        if op == "/":
            return F.try_divide(W.as_number(lc, lt), W.as_number(rc, rt)), W.DECIMAL
        if op == "%":
            return (F.try_mod(W.as_number(lc, lt), W.as_number(rc, rt)),
                    W.INTEGER if lt == rt == W.INTEGER else W.DECIMAL)
        # Comparisons. `x == null` asks whether x is missing (SQL's `= NULL` is never true).
        if op in ("==", "!=") and (lt == W.NULL or rt == W.NULL):
            other = rc if lt == W.NULL else lc
            return (other.isNull() if op == "==" else other.isNotNull()), W.BOOLEAN
        a, b = _comparable(lc, lt, rc, rt)
        out = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
               ">=": a >= b}[op]
        return out, W.BOOLEAN


def _comparable(lc: Column, lt: str, rc: Column, rt: str) -> tuple[Column, Column]:
    """Both sides as one type, converting the text side when the other one is typed."""
    if lt == rt:
        return lc, rc
    if lt in W.NUMERIC and rt in W.NUMERIC:
        return lc, rc
    if lt in W.NUMERIC or rt in W.NUMERIC:
        return W.as_number(lc, lt), W.as_number(rc, rt)
    for typed in (W.DATETIME, W.DATE, W.BOOLEAN):
        if typed in (lt, rt):
            if {lt, rt} == {W.DATE, W.DATETIME}:
                return W.as_datetime(lc, lt), W.as_datetime(rc, rt)
            return W.convert(lc, lt, typed), W.convert(rc, rt, typed)
    return W.as_string(lc, lt), W.as_string(rc, rt)


def compile_expression(node: Node, env: Env) -> tuple[Column, str]:
    return Compiler(env).compile(node)
