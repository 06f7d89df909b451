"""Helpers shared by the op modules: column lookup, environments, the source-order column."""

from __future__ import annotations

from typing import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_jobs.recipes.compiler import SOURCE_ROW, Env, col
from spark_jobs.recipes.context import RecipeError
from spark_jobs.recipes.expr_check import find_column, suggestion
from spark_jobs.recipes.expr_check import references as _refs
from spark_jobs.recipes.params import Expr, OrderKey


def resolve(df: DataFrame, name: str, step: int, param: str) -> str:
    found = find_column(name, df.columns)
    if found is None:
        raise RecipeError(f"step {step}, {param}: unknown column {name!r}"
                          f"{suggestion(name, df.columns)}")
    return found


def resolve_all(df: DataFrame, names: Sequence[str], step: int, param: str) -> list[str]:
    return [resolve(df, n, step, param) for n in names]


def uses_source_row(exprs: Sequence[Expr], order: Sequence[OrderKey] = ()) -> bool:
    if any(k.name == "$sourcerownumber" for k in order):
        return True
    return any("sourcerownumber" in _refs(e.node)[1] for e in exprs)


def with_source_row(df: DataFrame) -> DataFrame:
    """The input order as a column (ids rise with the partition and the row within it)."""
    return df.withColumn(SOURCE_ROW, F.monotonically_increasing_id())


def order_columns(df: DataFrame, order: Sequence[OrderKey], step: int, param: str) -> list[Column]:
    out = []
    for key in order:
        if key.name == "$sourcerownumber":
            c = F.col(SOURCE_ROW)
        else:
            c = col(resolve(df, key.name, step, param))
        out.append(c.desc_nulls_last() if key.descending else c.asc_nulls_last())
    return out


def env_for(df: DataFrame, **kw) -> Env:
    return Env(schema=df.schema, **kw)


def fail(step: int, param: str | None, message: str) -> RecipeError:
    where = f"step {step}" + (f", {param}" if param else "")
    return RecipeError(f"{where}: {message}")


def compile_in(env: Env, expr: Expr, step: int, param: str):
    from spark_jobs.recipes.compiler import Compiler

    try:
        return Compiler(env).compile(expr.node)
    except RecipeError as e:
        raise fail(step, param, str(e)) from None


def new_name_taken(columns: Sequence[str], name: str) -> bool:
    return find_column(name, columns) is not None
