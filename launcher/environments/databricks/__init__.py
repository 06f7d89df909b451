"""The ``databricksSpark`` environment: job groups as one-time Databricks runs (databricks-sdk).

The registry (``launcher.environments``) calls ``build(settings)`` and
``configuration_problem(settings)`` with the launcher's Settings. Importing this package (as
the settings do, for ``DatabricksSettings``) does not import the SDK: the adapter is loaded on
first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launcher.environments.databricks.settings import DatabricksSettings
from launcher.environments.databricks.settings import configuration_problem as _problem


def configuration_problem(settings: Any) -> str | None:
    return _problem(settings)


def build(settings: Any, **_: Any):
    """The adapter for the launcher's Settings (its [environments.databricksSpark] section)."""
    from launcher.environments.databricks.environment import DatabricksEnvironment

    section = settings.environments.databricksSpark
    problem = _problem(section)
    if problem:
        raise ValueError(problem)
    home = Path(getattr(settings, "home", "var"))
    return DatabricksEnvironment(section, work_dir=home / "databricks")


def __getattr__(name: str) -> Any:
    if name == "DatabricksEnvironment":
        from launcher.environments.databricks.environment import DatabricksEnvironment

        return DatabricksEnvironment
    if name == "DatabricksEnvironmentError":
        from launcher.environments.databricks.failures import DatabricksEnvironmentError

        return DatabricksEnvironmentError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DatabricksEnvironment", "DatabricksEnvironmentError", "DatabricksSettings", "build",
           "configuration_problem"]
