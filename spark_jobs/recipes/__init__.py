"""Recipes: steps applied to a dataset's input, compiled to Spark DataFrame operations.

The runner uses exactly these four names; everything else in the package is free to change.

- ``apply_recipe(df, steps, ctx) -> DataFrame``: applies the steps (JSON objects or Wrangle text
  lines) in order. Lazy: no Spark action per step.
- ``recipe_dependencies(steps) -> list[DatasetRef]``: the datasets that join / union / lookup
  steps name, in the order they appear.
- ``validate_recipe(steps, schema=None) -> list[Problem]``: every problem, each naming the step's
  index and parameter; an empty list means the recipe is valid.
- ``RecipeContext``: what a step may need beyond its input (the session, other datasets).
"""

from spark_jobs.recipes.context import Problem, RecipeContext, RecipeError
from spark_jobs.recipes.engine import apply_recipe, recipe_dependencies, validate_recipe
from spark_jobs.recipes.dependencies import DependencyCycleError, order_datasets

__all__ = [
    "DependencyCycleError",
    "order_datasets",
    "Problem",
    "RecipeContext",
    "RecipeError",
    "apply_recipe",
    "recipe_dependencies",
    "validate_recipe",
]
