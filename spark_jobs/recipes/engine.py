"""The recipe engine: parse every step, check it, then apply the steps lazily in order."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from spark_jobs.recipes import ops  # noqa: F401 - registers the ops
from spark_jobs.recipes.context import Problem, RecipeContext, RecipeError
from spark_jobs.recipes.steps import Step, parse_step
from spark_jobs.spec import DatasetRef


def parse_recipe(steps: Sequence[Any]) -> tuple[list[Step], list[Problem]]:
    if not isinstance(steps, (list, tuple)):
        return [], [Problem(0, None, "a recipe is a list of steps (JSON objects or Wrangle "
                                     f"text lines), got {type(steps).__name__}")]
    parsed, problems = [], []
    for i, raw in enumerate(steps):
        p = parse_step(raw, i)
        problems.extend(Problem(i, param, msg) for param, msg in p.problems)
        if p.step is not None:
            parsed.append(p.step)
    return parsed, problems


def _columns(schema: Any) -> list[str] | None:
    if schema is None:
        return None
    if isinstance(schema, T.StructType):
        return [f.name for f in schema.fields]
    if isinstance(schema, dict):
        return list(schema)
    if isinstance(schema, Iterable) and not isinstance(schema, (str, bytes)):
        return [str(c) for c in schema]
    raise TypeError("schema: a StructType, a list of column names or a {name: type} dict")


def validate_recipe(steps: Sequence[Any], schema: Any = None) -> list[Problem]:
    """Every problem of a recipe, in step order; [] when it is valid.

    With a schema (a StructType, column names, or {name: type}) columns are followed through
    the steps and unknown ones reported; after a step whose columns depend on another dataset
    (join, union, pivot...) the remaining steps are checked without columns.
    """
    parsed, problems = parse_recipe(steps)
    columns = _columns(schema)
    for s in parsed:
        problems.extend(Problem(s.index, param, msg) for param, msg in s.check(columns))
        if columns is not None:
            try:
                columns = s.output_columns(list(columns))
            except Exception:  # noqa: BLE001 - a bad step already has its problem listed
                columns = None
    return sorted(problems, key=lambda p: p.step)


def apply_recipe(df: DataFrame, steps: Sequence[Any], ctx: RecipeContext) -> DataFrame:
    """The steps applied in order, lazily (no Spark job per step)."""
    parsed, problems = parse_recipe(steps)
    if problems:
        raise RecipeError("invalid recipe: " + "; ".join(str(p) for p in problems))
    for s in parsed:
        try:
            df = s.apply(df, ctx)
        except RecipeError:
            raise
        except Exception as e:  # noqa: BLE001 - Spark's analysis errors, named by step
            raise RecipeError(f"step {s.index} ({s.op}): {e}") from e
    return df


def recipe_dependencies(steps: Sequence[Any]) -> list[DatasetRef]:
    """Datasets named by join / union / lookup steps, in order of appearance, once each."""
    parsed, _ = parse_recipe(steps)
    out: list[DatasetRef] = []
    for s in parsed:
        for ref in s.dependencies():
            if ref not in out:
                out.append(ref)
    return out
