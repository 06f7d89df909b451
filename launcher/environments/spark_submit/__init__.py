"""The ``spark`` environment: spark-submit to local, standalone, YARN and Kubernetes masters.

The registry (``launcher.environments``) calls ``build(settings)`` and asks
``configuration_problem(settings)``. Imports are deferred so that ``launcher.settings`` can load
``settings.SparkSettings`` from here without pulling in the adapter.
"""

from __future__ import annotations

import os
from typing import Any


def _own(settings: Any):
    return settings.environments.spark


def configuration_problem(settings: Any) -> str | None:
    spark = _own(settings)
    path = spark.spark_submit
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return (f"[environments.spark] spark_submit: {path} is not an executable spark-submit; "
                "point it at one or leave it unset for the installed pyspark's")
    return None


def build(settings: Any):
    from launcher.environments.spark_submit.environment import SparkSubmitEnvironment

    return SparkSubmitEnvironment(_own(settings), work_dir=settings.staging_dir / "spark")


__all__ = ["build", "configuration_problem"]
