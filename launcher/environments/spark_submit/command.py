"""What a run sends to Spark, as pure functions of (spec location, settings, tag, user).

``build_argv`` gives the spark-submit argument list (a list, never a shell string: nothing in a
tag, path or setting can be read as shell syntax); ``build_rest_request`` gives the body of a
standalone master's ``/v1/submissions/create`` for cluster mode, where spark-submit refuses
Python apps. Both are tested by exact equality against golden lists.
"""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Callable

from launcher.environments.spark_submit.settings import SparkSettings

# The Kubernetes label (driver and executor pods) that carries the run's tag.
TAG_LABEL = "launcher-tag"
PYTHON_RUNNER = "org.apache.spark.deploy.PythonRunner"


def main_py() -> str:
    """The driver script: spark_jobs/main.py of the installed spark_jobs package."""
    spec = importlib.util.find_spec("spark_jobs")
    assert spec is not None and spec.submodule_search_locations
    return os.path.join(list(spec.submodule_search_locations)[0], "main.py")


def label_value(tag: str) -> str:
    """The tag as YARN keeps it (lower case) and as a Kubernetes label value allows it
    (at most 63 of [a-z0-9-_.], beginning and ending with a letter or digit)."""
    v = re.sub(r"[^a-z0-9_.-]", "-", tag.lower())[:63]
    return v.strip("-_.") or "run"


def _yarn_conf(settings: SparkSettings, tag: str) -> dict[str, str]:
    own = settings.conf.get("spark.yarn.tags")
    conf = {"spark.yarn.tags": f"{own},{label_value(tag)}" if own else label_value(tag)}
    if settings.deploy_mode == "cluster":
        # spark-submit returns once YARN accepted the app; the launcher follows it by its tag.
        conf["spark.yarn.submit.waitAppCompletion"] = "false"
    return conf


def _k8s_conf(settings: SparkSettings, tag: str) -> dict[str, str]:
    conf = {
        f"spark.kubernetes.driver.label.{TAG_LABEL}": label_value(tag),
        f"spark.kubernetes.executor.label.{TAG_LABEL}": label_value(tag),
    }
    if settings.deploy_mode == "cluster":
        conf["spark.kubernetes.submission.waitAppCompletion"] = "false"
    return conf


# What each cluster manager needs so that the run can be found again by its tag.
TRACKING_CONF: dict[str, Callable[[SparkSettings, str], dict[str, str]]] = {
    "yarn": _yarn_conf,
    "k8s": _k8s_conf,
}


def run_conf(settings: SparkSettings, tag: str) -> dict[str, str]:
    """The settings' conf plus what the launcher needs (that part wins on a clash)."""
    conf = dict(settings.conf)
    if settings.pyspark_python:
        conf["spark.pyspark.python"] = settings.pyspark_python
    conf.update(TRACKING_CONF.get(settings.kind, lambda s, t: {})(settings, tag))
    return conf


def ships_spec(settings: SparkSettings, spec_location: str) -> bool:
    """YARN and Kubernetes drivers run elsewhere: a local spec goes with them (--files lands it
    in the driver's working directory)."""
    local = "://" not in spec_location and not spec_location.startswith("file:")
    return local and settings.deploy_mode == "cluster" and settings.kind in ("yarn", "k8s")


def build_argv(spec_location: str, py_files: list[str], settings: SparkSettings, tag: str,
               proxy_user: str | None, *, driver_script: str | None = None) -> list[str]:
    argv = [settings.spark_submit, "--master", settings.master, "--deploy-mode", settings.deploy_mode,
            "--name", tag]
    if settings.queue:
        argv += ["--queue", settings.queue]
    if proxy_user:
        argv += ["--proxy-user", proxy_user]
    resources = (
        ("--driver-memory", settings.driver_memory),
        ("--driver-cores", settings.driver_cores),
        ("--executor-memory", settings.executor_memory),
        ("--executor-cores", settings.executor_cores),
        ("--num-executors", settings.num_executors),
        ("--total-executor-cores", settings.total_executor_cores),
    )
    for flag, value in resources:
        if value is not None:
            argv += [flag, str(value)]
    for key, value in sorted(run_conf(settings, tag).items()):
        argv += ["--conf", f"{key}={value}"]
    if py_files:
        argv += ["--py-files", ",".join(py_files)]
    spec_arg = spec_location
    if ships_spec(settings, spec_location):
        argv += ["--files", spec_location]
        spec_arg = os.path.basename(spec_location)
    argv += [driver_script or main_py(), "--spec", spec_arg]
    return argv


def build_rest_request(spec_location: str, py_files: list[str], settings: SparkSettings, tag: str,
                       proxy_user: str | None, *, spark_version: str,
                       driver_script: str | None = None) -> dict:
    """The CreateSubmissionRequest a standalone master's REST server takes for a Python driver.

    The worker runs ``DriverWrapper <appResource> PythonRunner <appArgs>``; PythonRunner's own
    arguments are the script, the comma-separated py-files, then the script's arguments.
    """
    script = driver_script or main_py()
    props = dict(run_conf(settings, tag))
    resources = {
        "spark.driver.memory": settings.driver_memory,
        "spark.driver.cores": settings.driver_cores,
        "spark.executor.memory": settings.executor_memory,
        "spark.executor.cores": settings.executor_cores,
        "spark.executor.instances": settings.num_executors,
        "spark.cores.max": settings.total_executor_cores,
    }
    props.update({k: str(v) for k, v in resources.items() if v is not None})
    props.update({
        "spark.app.name": tag,
        "spark.master": settings.master,
        "spark.submit.deployMode": "cluster",
        "spark.submit.pyFiles": ",".join(py_files),
        "spark.driver.supervise": "false",
    })
    env = driver_env(settings)
    if proxy_user:
        # A standalone master has no impersonation; SPARK_USER is the user the app reports.
        env = dict(sorted({**env, "SPARK_USER": proxy_user}.items()))
    return {
        "action": "CreateSubmissionRequest",
        "appResource": script,
        "mainClass": PYTHON_RUNNER,
        "appArgs": [script, ",".join(py_files), "--spec", spec_location],
        "clientSparkVersion": spark_version,
        "environmentVariables": env,
        "sparkProperties": dict(sorted(props.items())),
    }


def driver_env(settings: SparkSettings) -> dict[str, str]:
    """Environment variables the run adds to spark-submit's (client) or the driver's (REST)."""
    env: dict[str, str] = {}
    if settings.pyspark_python:
        env["PYSPARK_PYTHON"] = settings.pyspark_python
    env.update(settings.env)
    return dict(sorted(env.items()))
