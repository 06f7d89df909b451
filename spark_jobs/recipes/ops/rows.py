"""Ops that keep, remove, order or multiply rows."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.recipes import types as W
from spark_jobs.recipes.compiler import SOURCE_ROW, col
from spark_jobs.recipes.context import RecipeContext
from spark_jobs.recipes.ops.common import (
    compile_in,
    env_for,
    fail,
    order_columns,
    resolve,
    resolve_all,
    uses_source_row,
    with_source_row,
)
from spark_jobs.recipes.params import Expr, OrderKey, Pattern
from spark_jobs.recipes.steps import Step, param, step


@step("filter", "keep", "delete")
@dataclass
class Filter(Step):
    row: Expr = param("expr", required=True)
    action: str = param("word", default="Keep", choices=("Keep", "Delete"))
    type: str | None = param("word", choices=("custom",), ignored=True)
    rowType: str | None = param("word", choices=("single",), ignored=True)

    def from_alias(self, alias: str) -> "Filter":
        # `keep row: ...` / `delete row: ...` are filter with that action.
        self.action = "Keep" if alias == "keep" else "Delete"
        return self

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        added = uses_source_row([self.row])
        if added:
            df = with_source_row(df)
        cond, t = compile_in(env_for(df), self.row, self.index, "row")
        cond = W.as_boolean(cond, t)
        # A missing condition matches nothing: Keep drops the row, Delete keeps it.
        df = df.filter(cond) if self.action == "Keep" else df.filter(
            ~F.coalesce(cond, F.lit(False)))
        return df.drop(SOURCE_ROW) if added else df


@step("deduplicate")
@dataclass
class Deduplicate(Step):
    col: list[str] | None = param("cols")

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        if self.col:
            return df.dropDuplicates(resolve_all(df, self.col, self.index, "col"))
        return df.dropDuplicates()


@step("sort")
@dataclass
class Sort(Step):
    order: list[OrderKey] = param("order", required=True)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        added = any(k.name == "$sourcerownumber" for k in self.order)
        if added:
            df = with_source_row(df)
        df = df.orderBy(*order_columns(df, self.order, self.index, "order"))
        return df.drop(SOURCE_ROW) if added else df


@step("splitrows")
@dataclass
class SplitRows(Step):
    col: str = param("col", required=True)
    on: Pattern = param("pattern", required=True)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        name = resolve(df, self.col, self.index, "col")
        types = {f.name: W.wrangle_type(f.dataType) for f in df.schema.fields}
        pieces = F.split(W.as_string(col(name), types[name]), self.on.java_regex(), -1)
        # explode_outer: a missing value stays one row (with a missing piece).
        return df.withColumn(name, F.explode_outer(pieces))


@step("flatten")
@dataclass
class Flatten(Step):
    col: str = param("col", required=True)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        name = resolve(df, self.col, self.index, "col")
        field = df.schema[name].dataType
        c = col(name)
        if isinstance(field, T.StringType):
            # JSON array text: elements keep their JSON text form.
            c = F.from_json(c, T.ArrayType(T.StringType()))
        elif not isinstance(field, T.ArrayType):
            raise fail(self.index, "col", f"column {name!r} is not an array "
                                          f"(it is {field.simpleString()})")
        return df.withColumn(name, F.explode_outer(c))

