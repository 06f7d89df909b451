"""Shared by the recipe tests: a context, and row comparison that tolerates float rounding."""

from __future__ import annotations

import math

from spark_jobs.recipes import RecipeContext


def context(spark, frames=None):
    frames = frames or {}

    def resolve(ref):
        return frames[(ref.kind, ref.id)]

    return RecipeContext(spark=spark, resolve=resolve)


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b) if isinstance(a, bool) or isinstance(b, bool) else a == b


def rows(df, order_by=None):
    out = [tuple(r) for r in df.collect()]
    return sorted(out, key=lambda r: tuple((v is None, str(v)) for v in r)) if order_by else out
