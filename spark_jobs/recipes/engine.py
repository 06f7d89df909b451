"""Placeholder engine (rename and drop only) until the recipes package lands in full."""

from __future__ import annotations

from pyspark.sql import DataFrame

from spark_jobs.recipes.context import Problem, RecipeContext, RecipeError
from spark_jobs.spec import DatasetRef


def apply_recipe(df: DataFrame, steps: list, ctx: RecipeContext) -> DataFrame:
    for i, step in enumerate(steps):
        op = step.get("op") if isinstance(step, dict) else None
        if op == "rename":
            for old, new in step["mapping"].items():
                if old not in df.columns:
                    raise RecipeError(f"step {i} (rename): no column {old!r}")
                df = df.withColumnRenamed(old, new)
        elif op == "drop":
            df = df.drop(*step["col"])
        else:
            raise RecipeError(f"step {i}: unsupported op {op!r}")
    return df


def recipe_dependencies(steps: list) -> list[DatasetRef]:
    return []


def validate_recipe(steps: list, schema=None) -> list[Problem]:
    return []
