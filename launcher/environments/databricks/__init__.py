"""The ``databricksSpark`` environment: job groups as one-time Databricks runs (databricks-sdk).

The registry (``launcher.environments``) calls ``build(settings)`` and
``configuration_problem(settings)`` with the launcher's Settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launcher.environments.databricks.environment import DatabricksEnvironment
from launcher.environments.databricks.failures import DatabricksEnvironmentError
from launcher.environments.databricks.settings import DatabricksSettings
from launcher.environments.databricks.settings import configuration_problem as _problem


def configuration_problem(settings: Any) -> str | None:
    return _problem(settings)


def build(settings: Any, **_: Any) -> DatabricksEnvironment:
    """The adapter for the launcher's Settings (its [environments.databricksSpark] section)."""
    section = settings.environments.databricksSpark
    problem = _problem(section)
    if problem:
        raise ValueError(problem)
    home = Path(getattr(settings, "home", "var"))
    return DatabricksEnvironment(section, work_dir=home / "databricks")


__all__ = ["DatabricksEnvironment", "DatabricksEnvironmentError", "DatabricksSettings", "build",
           "configuration_problem"]
