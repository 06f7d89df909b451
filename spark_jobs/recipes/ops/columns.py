"""Ops that add, change, rename, order, type or drop columns (no rows added or removed)."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from spark_jobs.recipes import types as W
from spark_jobs.recipes.compiler import SOURCE_ROW, col
from spark_jobs.recipes.context import RecipeContext
from spark_jobs.recipes.expr_check import WINDOW_CTX, find_column, suggestion, uses_kind
from spark_jobs.recipes.functions import WINDOW
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
from spark_jobs.recipes.params import Expr, OrderKey
from spark_jobs.recipes.steps import Step, param, step


def _windowed(df: DataFrame, exprs: list[Expr], group, order, index: int):
    """(df with the source-order column if needed, partition columns, order columns, added)."""
    needs_source = uses_source_row(exprs, order or []) or (
        not order and any(uses_kind(e.node, WINDOW) for e in exprs))
    if needs_source:
        df = with_source_row(df)
    partition = [col(c) for c in resolve_all(df, group or [], index, "group")]
    orders = order_columns(df, order or [], index, "order")
    return df, partition, orders, needs_source


@step("derive")
@dataclass
class Derive(Step):
    value: Expr = param("expr", required=True, context=WINDOW_CTX)
    as_: str = param("name", required=True, wire="as")
    group: list[str] | None = param("cols")
    order: list[OrderKey] | None = param("order")
    type: str | None = param("word", choices=("single", "multiple"), ignored=True)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        df, partition, orders, added = _windowed(df, [self.value], self.group, self.order,
                                                 self.index)
        env = env_for(df, context=WINDOW_CTX, partition=partition, order=orders)
        c, _ = compile_in(env, self.value, self.index, "value")
        existing = find_column(self.as_, df.columns)
        df = df.withColumn(existing or self.as_, c)
        return df.drop(SOURCE_ROW) if added else df

    def output_columns(self, columns):
        return columns if find_column(self.as_, columns) else columns + [self.as_]


@step("set")
@dataclass
class Set(Step):
    col: list[str] = param("cols", required=True)
    value: Expr = param("expr", required=True, context=WINDOW_CTX)
    group: list[str] | None = param("cols")
    order: list[OrderKey] | None = param("order")
    type: str | None = param("word", choices=("single", "multiple"), ignored=True)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = resolve_all(df, self.col, self.index, "col")
        df, partition, orders, added = _windowed(df, [self.value], self.group, self.order,
                                                 self.index)
        new = {}
        for name in names:
            env = env_for(df, context=WINDOW_CTX, current=name, partition=partition,
                          order=orders)
            new[name] = compile_in(env, self.value, self.index, "value")[0]
        df = df.withColumns(new)
        return df.drop(SOURCE_ROW) if added else df


@step("drop")
@dataclass
class Drop(Step):
    col: list[str] = param("cols", required=True)
    action: str = param("word", default="Drop", choices=("Drop", "Keep"))

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = set(resolve_all(df, self.col, self.index, "col"))
        keep = [c for c in df.columns if (c in names) == (self.action == "Keep")]
        return df.select([col(c) for c in keep])

    def output_columns(self, columns):
        names = {find_column(c, columns) for c in self.col}
        return [c for c in columns if (c in names) == (self.action == "Keep")]


@step("rename")
@dataclass
class Rename(Step):
    mapping: dict[str, str] | None = param("mapping")
    col: str | None = param("col")
    to: str | None = param("name")
    type: str | None = param("word", choices=("manual",), ignored=True)

    def problems_after_init(self):
        if self.mapping is None and (self.col is None or self.to is None):
            return [("mapping", "required: {old: new} (or col and to)")]
        if self.mapping is not None and (self.col is not None or self.to is not None):
            return [("mapping", "give either mapping, or col and to, not both")]
        return []

    def pairs(self) -> dict[str, str]:
        return self.mapping if self.mapping is not None else {self.col: self.to}

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        renames = {resolve(df, old, self.index, "mapping"): new
                   for old, new in self.pairs().items()}
        out = [renames.get(c, c) for c in df.columns]
        _check_unique(out, self.index, "mapping")
        return df.select([col(c).alias(renames[c]) if c in renames else col(c)
                          for c in df.columns])

    def check(self, columns):
        problems = super().check(columns)
        if columns is not None:
            for old in self.pairs():
                if find_column(old, columns) is None:
                    problems.append(("mapping", f"unknown column {old!r}"
                                                f"{suggestion(old, columns)}"))
        return problems

    def output_columns(self, columns):
        renames = {find_column(o, columns): n for o, n in self.pairs().items()}
        return [renames.get(c, c) for c in columns]


def _check_unique(names: list[str], index: int, param_name: str) -> None:
    seen = set()
    for n in names:
        if n.lower() in seen:
            raise fail(index, param_name, f"column {n!r} would appear twice")
        seen.add(n.lower())


@step("move")
@dataclass
class Move(Step):
    col: list[str] = param("cols", required=True)
    before: str | None = param("col")
    after: str | None = param("col")

    def problems_after_init(self):
        if (self.before is None) == (self.after is None):
            return [("before", "give exactly one of before or after")]
        return []

    def _order(self, columns: list[str]) -> list[str]:
        moving = [find_column(c, columns) for c in self.col]
        anchor = find_column(self.before or self.after, columns)
        if anchor in moving:
            raise fail(self.index, "before" if self.before else "after",
                       "cannot move columns next to one of themselves")
        rest = [c for c in columns if c not in moving]
        at = rest.index(anchor) + (0 if self.before else 1)
        return rest[:at] + moving + rest[at:]

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        resolve_all(df, self.col, self.index, "col")
        resolve(df, self.before or self.after, self.index, "before" if self.before else "after")
        return df.select([col(c) for c in self._order(df.columns)])

    def output_columns(self, columns):
        try:
            return self._order(columns)
        except Exception:  # noqa: BLE001 - reported by check()
            return columns


@step("settype")
@dataclass
class SetType(Step):
    col: list[str] = param("cols", required=True)
    type: str = param("word", required=True, choices=W.SETTYPE_TYPES)
    format: str | None = param("text")

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = resolve_all(df, self.col, self.index, "col")
        types = {f.name: W.wrangle_type(f.dataType) for f in df.schema.fields}
        converted, metrics = {}, []
        for name in names:
            src, t = col(name), types[name]
            new = self._convert(src, t)
            converted[name] = new
            # A value mismatches when it was there (not null, not empty) and did not convert.
            present = src.isNotNull() & (W.as_string(src, t) != F.lit("")) \
                if t in (W.STRING, W.ANY) else src.isNotNull()
            metrics.append(F.count_if(present & new.isNull()).alias(name))
        obs = Observation()
        ctx.mismatch_observations.append(obs)
        return df.observe(obs, *metrics).withColumns(converted)

    def _convert(self, src, t):
        if self.format and self.type in (W.DATETIME, W.DATE):
            s = W.as_string(src, t)
            f = F.try_to_timestamp(s, F.lit(self.format))
            return f if self.type == W.DATETIME else f.cast("date")
        if t == self.type:
            return src
        if self.type == W.STRING:
            return src.cast("string")
        if self.type == W.INTEGER and t == W.DECIMAL:
            # 3.0 fits an Integer; 2.5 does not (a plain cast would truncate it).
            return F.when(src == F.floor(src), src.try_cast("bigint"))
        if self.type == W.INTEGER and t == W.STRING:
            # '12' fits an Integer; '12.5' and 'abc' do not.
            return src.try_cast("bigint")
        return src.try_cast(W.SPARK_TYPE_NAMES[self.type])


@step("comment")
@dataclass
class Comment(Step):
    text: str = param("text", default="")

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        return df
