"""Ops that read another dataset of the spec: join, union, lookup.

The other dataset comes from ``ctx.resolve(ref)`` (its own recipe already applied, in the same
job). Columns of the other side whose names the input has already get the suffix ``_right``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from spark_jobs.recipes.compiler import col
from spark_jobs.recipes.context import RecipeContext
from spark_jobs.recipes.expr_check import find_column, suggestion
from spark_jobs.recipes.ops.common import fail, resolve, resolve_all
from spark_jobs.recipes.params import JoinKey
from spark_jobs.recipes.steps import Step, param, step
from spark_jobs.spec import DatasetRef

JOIN_TYPES = ("inner", "left", "right", "full", "leftsemi", "leftanti")
_SPARK_JOIN = {"inner": "inner", "left": "left", "right": "right", "full": "full",
               "leftsemi": "left_semi", "leftanti": "left_anti"}


def _free_name(name: str, taken: list[str]) -> str:
    candidate = f"{name}_right"
    n = 2
    while find_column(candidate, taken) is not None:
        candidate = f"{name}_right{n}"
        n += 1
    return candidate


def _other(ctx: RecipeContext, ref: DatasetRef, index: int) -> DataFrame:
    try:
        return ctx.resolve(ref)
    except Exception as e:  # noqa: BLE001 - name the step and the dataset
        raise fail(index, "with", f"cannot read {ref.kind} dataset {ref.id}: {e}") from e


@step("join")
@dataclass
class Join(Step):
    with_: DatasetRef = param("dataset", required=True, wire="with")
    on: list[JoinKey] = param("joinkeys", required=True, must_exist=False)
    type: str = param("word", default="inner", choices=JOIN_TYPES)
    columns: list[str] | None = param("cols", must_exist=False)

    def dependencies(self) -> list[DatasetRef]:
        return [self.with_]

    def check(self, columns):
        problems = super().check(columns)
        if columns is not None:
            for k in self.on:
                if find_column(k.left, columns) is None:
                    problems.append(("on", f"unknown column {k.left!r} on the left"
                                           f"{suggestion(k.left, columns)}"))
        return problems

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        right = _other(ctx, self.with_, self.index)
        lkeys = [resolve(df, k.left, self.index, "on") for k in self.on]
        try:
            rkeys = [resolve(right, k.right, self.index, "on") for k in self.on]
        except Exception as e:
            raise fail(self.index, "on", f"{e} (in {self.with_.kind} dataset {self.with_.id})")
        keep = resolve_all(right, self.columns, self.index, "columns") if self.columns else [
            c for c in right.columns if c not in rkeys]
        keep = [c for c in keep if c not in rkeys]
        how = _SPARK_JOIN[self.type]
        same = all(l.lower() == r.lower() for l, r in zip(lkeys, rkeys))
        taken = list(df.columns)
        sel = []
        if same:
            # Keys of the same name: a join USING them, each key once in the output.
            sel = [col(r).alias(l) for l, r in zip(lkeys, rkeys)]
            out_keys = lkeys
        else:
            out_keys = []
            for r in rkeys:
                new = r if find_column(r, taken) is None else _free_name(r, taken)
                taken.append(new)
                out_keys.append(new)
                sel.append(col(r).alias(new))
        for c in keep:
            new = c if find_column(c, taken) is None else _free_name(c, taken)
            taken.append(new)
            sel.append(col(c).alias(new))
        other = right.select(sel)
        if same:
            return df.join(other, on=lkeys, how=how)
        cond = None
        for l, r in zip(lkeys, out_keys):
            c = col(l) == col(r)
            cond = c if cond is None else cond & c
        return df.join(other, on=cond, how=how)

    def output_columns(self, columns):
        return columns if self.type in ("leftsemi", "leftanti") else None


def _align(df: DataFrame, other: DataFrame, pairs: list[tuple[str, str]]):
    """Columns paired in a union whose types differ (other than two numbers) become text on
    both sides: Spark would otherwise pick a type whose cast can fail the job (ANSI mode)."""
    numeric = (T.NumericType,)
    to_text_l, to_text_r = set(), set()
    for left, right in pairs:
        lt, rt = df.schema[left].dataType, other.schema[right].dataType
        if lt != rt and not (isinstance(lt, numeric) and isinstance(rt, numeric)):
            to_text_l.add(left)
            to_text_r.add(right)
    if to_text_l:
        df = df.withColumns({c: col(c).cast("string") for c in to_text_l})
        other = other.withColumns({c: col(c).cast("string") for c in to_text_r})
    return df, other


@step("union")
@dataclass
class Union(Step):
    with_: list[DatasetRef] = param("datasets", required=True, wire="with")
    by: str = param("word", default="name", choices=("name", "position"))

    def dependencies(self) -> list[DatasetRef]:
        return list(self.with_)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        for ref in self.with_:
            other = _other(ctx, ref, self.index)
            if self.by == "name":
                pairs = {c: find_column(c, other.columns) for c in df.columns}
                df, other = _align(df, other, [(c, o) for c, o in pairs.items() if o])
                df = df.unionByName(other, allowMissingColumns=True)
            else:
                if len(other.columns) != len(df.columns):
                    raise fail(self.index, "with", f"{ref.kind} dataset {ref.id} has "
                               f"{len(other.columns)} columns, this one {len(df.columns)}: "
                               "a union by position needs the same number")
                df, other = _align(df, other, list(zip(df.columns, other.columns)))
                df = df.union(other)
        return df

    def output_columns(self, columns):
        return columns if self.by == "position" else None


@step("lookup")
@dataclass
class Lookup(Step):
    with_: DatasetRef = param("dataset", required=True, wire="with")
    col: str = param("col", required=True)
    key: str = param("col", required=True, must_exist=False)

    def dependencies(self) -> list[DatasetRef]:
        return [self.with_]

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        right = _other(ctx, self.with_, self.index)
        left_key = resolve(df, self.col, self.index, "col")
        key = resolve(right, self.key, self.index, "key")
        taken = list(df.columns)
        tmp = "__lookup_key"
        sel = [col(key).alias(tmp)]
        for c in right.columns:
            if c == key:
                continue
            new = c if find_column(c, taken) is None else _free_name(c, taken)
            taken.append(new)
            sel.append(col(c).alias(new))
        # One row per key, so a lookup adds columns and never multiplies rows.
        other = right.dropDuplicates([key]).select(sel)
        return df.join(other, on=col(left_key) == col(tmp), how="left").drop(tmp)

    def output_columns(self, columns):
        return None
