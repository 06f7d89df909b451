"""The environments registry: execution name -> the adapter that runs job groups there.

Adapters are imported lazily, by module name, so one that is missing or broken takes only its
own environment down (``photon`` never depends on the spark-submit or Databricks code).

An adapter module may offer, in this order of preference:
- ``build(settings) -> Environment`` (or ``create_environment(settings)``); otherwise the first
  class in the module whose ``name`` is the execution name is called with ``settings``;
- ``configuration_problem(settings) -> str | None``: why the environment cannot run as
  configured (the API answers 400 with it).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from types import ModuleType
from typing import Any

from launcher.environments.base import Environment

log = logging.getLogger("launcher.environments")

EXECUTIONS = ("photon", "spark", "databricksSpark")
MODULES = {
    "photon": "launcher.environments.photon",
    "spark": "launcher.environments.spark_submit",
    "databricksSpark": "launcher.environments.databricks",
}


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(MODULES[name])
    except ModuleNotFoundError as e:
        if e.name and MODULES[name].startswith(e.name):
            return None  # the adapter is not there (yet); its own bugs still raise
        raise


def _factory(module: ModuleType, name: str):
    for attr in ("build", "create_environment"):
        fn = getattr(module, attr, None)
        if callable(fn):
            return fn
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if getattr(obj, "name", None) == name and hasattr(obj, "submit") and hasattr(obj, "poll"):
            return obj
    return None


def configuration_problem(settings: Any, name: str) -> str | None:
    """Why ``name`` cannot run with these settings, or None when it can."""
    if name not in MODULES:
        return f"unknown execution {name!r}; accepted: {', '.join(EXECUTIONS)}"
    if name == "databricksSpark" and getattr(settings.environments, "databricksSpark", None) is None:
        return ("databricksSpark is not configured: it needs [environments.databricksSpark] host "
                "and a token (token_env or token_file) in the launcher configuration")
    try:
        module = _module(name)
    except Exception as e:  # noqa: BLE001 - a broken adapter is a configuration problem to report
        return f"the {name} environment cannot be loaded: {type(e).__name__}: {e}"
    if module is None:
        return f"the {name} environment is not installed ({MODULES[name]} is missing)"
    check = getattr(module, "configuration_problem", None)
    if callable(check):
        try:
            return check(settings)
        except Exception as e:  # noqa: BLE001
            return f"the {name} environment's settings cannot be used: {e}"
    if _factory(module, name) is None:
        return f"the {name} environment has no adapter in {MODULES[name]}"
    return None


def build_environment(settings: Any, name: str, **kwargs: Any) -> Environment:
    problem = configuration_problem(settings, name)
    if problem:
        raise ValueError(problem)
    factory = _factory(_module(name), name)  # type: ignore[arg-type]
    return factory(settings, **kwargs)


def build_environments(settings: Any, *, spark: Any = None) -> dict[str, Environment]:
    """Every environment that can run here: photon, spark, and databricksSpark when configured.

    ``spark``: an existing SparkSession for photon to share (a test's; one per process).
    """
    envs: dict[str, Environment] = {}
    for name in EXECUTIONS:
        if configuration_problem(settings, name):
            continue
        try:
            envs[name] = build_environment(settings, name, **({"spark": spark} if name == "photon" else {}))
        except Exception as e:  # noqa: BLE001 - one broken adapter must not take the others down
            log.error("environment %s not available: %s: %s", name, type(e).__name__, e)
    return envs


__all__ = ["EXECUTIONS", "build_environment", "build_environments", "configuration_problem"]
