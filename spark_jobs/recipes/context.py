"""What steps are given besides their input, and the errors they raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pyspark.sql import DataFrame, Observation, SparkSession

from spark_jobs.spec import DatasetRef


class RecipeError(ValueError):
    """A step that cannot be applied; the message names the step index and the cause."""


@dataclass(frozen=True)
class Problem:
    step: int
    param: str | None
    message: str

    def __str__(self) -> str:
        where = f"step {self.step}" + (f", {self.param}" if self.param else "")
        return f"{where}: {self.message}"


@dataclass
class RecipeContext:
    spark: SparkSession
    # The computed DataFrame of another dataset of the spec (join / union / lookup).
    resolve: Callable[[DatasetRef], DataFrame]
    # settype attaches an Observation per step (df.observe) counting, per column, the values
    # that did not fit the type. The runner reads them only after a successful write: a
    # metric whose plan never ran would block forever.
    mismatch_observations: list[Observation] = field(default_factory=list)
