"""Ops that change the shape of the data: aggregate, pivot, unpivot, window."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame

from spark_jobs.recipes.compiler import SOURCE_ROW, col
from spark_jobs.recipes.context import RecipeContext
from spark_jobs.recipes.expr_ast import Call, ColumnRef, Node
from spark_jobs.recipes.expr_check import AGGREGATE_CTX, WINDOW_CTX, find_column
from spark_jobs.recipes.ops.columns import _windowed
from spark_jobs.recipes.ops.common import compile_in, env_for, fail, resolve, resolve_all
from spark_jobs.recipes.params import Expr, OrderKey
from spark_jobs.recipes.steps import Step, param, step


def default_name(node: Node, i: int) -> str:
    """SUM(Sales) -> sum_Sales, COUNT() -> count; anything else value_<n>."""
    if isinstance(node, Call):
        if not node.args:
            return node.name.lower()
        if isinstance(node.args[0], ColumnRef):
            return f"{node.name.lower()}_{node.args[0].name}"
        return f"{node.name.lower()}_{i + 1}"
    return f"value_{i + 1}"


def _names(values: list[Expr], given: list[str] | None) -> list[str]:
    return given if given else [default_name(e.node, i) for i, e in enumerate(values)]


@step("aggregate")
@dataclass
class Aggregate(Step):
    value: list[Expr] = param("exprs", required=True, context=AGGREGATE_CTX)
    group: list[str] | None = param("cols")
    as_: list[str] | None = param("names", wire="as")

    def problems_after_init(self):
        if self.as_ is not None and len(self.as_) != len(self.value):
            return [("as", f"expected {len(self.value)} names, one per value")]
        return []

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        groups = resolve_all(df, self.group or [], self.index, "group")
        env = env_for(df, context=AGGREGATE_CTX)
        aggs = [compile_in(env, e, self.index, "value")[0].alias(n)
                for e, n in zip(self.value, _names(self.value, self.as_))]
        return df.groupBy(*[col(g) for g in groups]).agg(*aggs)

    def output_columns(self, columns):
        groups = [find_column(g, columns) or g for g in (self.group or [])]
        return groups + _names(self.value, self.as_)


@step("pivot")
@dataclass
class Pivot(Step):
    value: list[Expr] = param("exprs", required=True, context=AGGREGATE_CTX)
    col: str | None = param("col")
    group: list[str] | None = param("cols")
    limit: int = param("int", default=50)
    values: list[str] | None = param("names")

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        groups = resolve_all(df, self.group or [], self.index, "group")
        env = env_for(df, context=AGGREGATE_CTX)
        aggs = [compile_in(env, e, self.index, "value")[0].alias(n)
                for e, n in zip(self.value, _names(self.value, None))]
        grouped = df.groupBy(*[col(g) for g in groups])
        if self.col is None:
            return grouped.agg(*aggs)
        name = resolve(df, self.col, self.index, "col")
        if self.values is not None:
            values = list(self.values)
        else:
            # Like Spark's own pivot without values: one job to find them (at most `limit`).
            values = [r[0] for r in df.select(col(name)).distinct().orderBy(col(name))
                      .limit(self.limit).collect()]
        return grouped.pivot(name, values).agg(*aggs)

    def output_columns(self, columns):
        return None if self.col is not None and self.values is None else (
            [find_column(g, columns) or g for g in (self.group or [])]
            + (_names(self.value, None) if self.col is None else
               [v if len(self.value) == 1 else f"{v}_{n}" for v in self.values
                for n in _names(self.value, None)]))


@step("unpivot")
@dataclass
class Unpivot(Step):
    col: list[str] = param("cols", required=True)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = resolve_all(df, self.col, self.index, "col")
        for taken in ("key", "value"):
            if find_column(taken, [c for c in df.columns if c not in names]) is not None:
                raise fail(self.index, "col", f"unpivot makes a column {taken!r}, which exists")
        ids = [c for c in df.columns if c not in names]
        types = {df.schema[n].dataType for n in names}
        values = [col(n) if len(types) == 1 else col(n).cast("string").alias(n) for n in names]
        if len(types) != 1:
            df = df.select(*[col(c) for c in ids], *values)
        return df.unpivot([col(c) for c in ids], [col(n) for n in names], "key", "value")

    def output_columns(self, columns):
        names = {find_column(c, columns) for c in self.col}
        return [c for c in columns if c not in names] + ["key", "value"]


@step("window")
@dataclass
class WindowStep(Step):
    value: list[Expr] = param("exprs", required=True, context=WINDOW_CTX)
    group: list[str] | None = param("cols")
    order: list[OrderKey] | None = param("order")
    as_: list[str] | None = param("names", wire="as")

    def problems_after_init(self):
        if self.as_ is not None and len(self.as_) != len(self.value):
            return [("as", f"expected {len(self.value)} names, one per value")]
        return []

    def new_names(self, columns: list[str]) -> list[str]:
        if self.as_:
            return list(self.as_)
        out, i = [], 1
        while len(out) < len(self.value):
            name = f"window_{i}"
            if find_column(name, columns) is None:
                out.append(name)
            i += 1
        return out

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = self.new_names(df.columns)
        df, partition, orders, added = _windowed(df, self.value, self.group, self.order,
                                                 self.index)
        env = env_for(df, context=WINDOW_CTX, partition=partition, order=orders)
        new = {n: compile_in(env, e, self.index, "value")[0] for n, e in zip(names, self.value)}
        df = df.withColumns(new)
        return df.drop(SOURCE_ROW) if added else df

    def output_columns(self, columns):
        return columns + [n for n in self.new_names(columns) if find_column(n, columns) is None]

