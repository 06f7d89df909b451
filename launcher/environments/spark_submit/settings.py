"""``[environments.spark]``: how the ``spark`` environment runs spark-submit.

Out of the box it runs the installed pyspark's spark-submit against ``local[2]`` in client mode,
so ``execution: "spark"`` works on one machine with nothing configured. Every field is checked
here, so a typo in ``conf/launcher.toml`` is an error naming the field at start, not a failed run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MEMORY = re.compile(r"^\d+[kmgtp]?b?$", re.IGNORECASE)


def spark_home() -> str:
    """The installed pyspark's folder (found without importing pyspark: settings load fast)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise RuntimeError("pyspark is not installed; set [environments.spark] spark_submit")
    return os.path.dirname(spec.origin)


def default_spark_submit() -> str:
    return os.path.join(spark_home(), "bin", "spark-submit")


def master_kind(master: str) -> Literal["local", "standalone", "yarn", "k8s"]:
    """Which cluster manager a ``--master`` value names (raises ValueError for anything else)."""
    if master == "local" or re.fullmatch(r"local\[(\*|\d+)(,\d+)?\]", master):
        return "local"
    if master.startswith("spark://") and len(master) > len("spark://"):
        return "standalone"
    if master == "yarn":
        return "yarn"
    if master.startswith("k8s://") and len(master) > len("k8s://"):
        return "k8s"
    raise ValueError(
        f"master {master!r} is not a master spark-submit accepts here; use local, local[N], "
        "local[*], spark://HOST:PORT, yarn or k8s://https://HOST:PORT")


class SparkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(2, ge=1, description="job groups running at once")
    spark_submit: str = Field(default_factory=default_spark_submit,
                              description="the spark-submit to run; default: the installed pyspark's")
    master: str = Field("local[2]", description="local[N], spark://HOST:PORT, yarn or k8s://https://HOST:PORT")
    deploy_mode: Literal["client", "cluster"] = "client"
    conf: dict[str, str] = Field(default_factory=dict, description="--conf KEY=VALUE for every run")
    env: dict[str, str] = Field(default_factory=dict, description="environment variables for spark-submit / the driver")
    python: str | None = Field(
        None, description="PYSPARK_PYTHON of drivers and executors; default: the launcher's python "
                          "for local and spark:// masters, the cluster's own for yarn and k8s")
    queue: str | None = Field(None, description="YARN queue (yarn masters only)")
    impersonate: bool = Field(False, description="run as the launcher user: --proxy-user")
    user_map: dict[str, str] = Field(default_factory=dict, description="launcher user -> proxy user")
    driver_memory: str | None = None
    driver_cores: int | None = Field(None, ge=1)
    executor_memory: str | None = None
    executor_cores: int | None = Field(None, ge=1)
    num_executors: int | None = Field(None, ge=1)
    total_executor_cores: int | None = Field(None, ge=1, description="spark.cores.max (standalone)")
    rest_url: str | None = Field(
        None, description="standalone cluster mode: the master's REST submission server; "
                          "default http://<master host>:6066")
    master_ui_url: str | None = Field(
        None, description="standalone cluster mode: the master's web UI (it leads to the driver's "
                          "log on its worker); default http://<master host>:8080")
    yarn_rm_url: str | None = Field(None, description="YARN ResourceManager web address, http://HOST:8088")
    k8s_api_url: str | None = Field(None, description="Kubernetes API server; default: the master's URL")
    k8s_namespace: str = "default"
    k8s_token_file: str | None = Field(None, description="bearer token for the Kubernetes API")
    k8s_ca_file: str | None = Field(None, description="CA bundle for the Kubernetes API")
    poll_interval_seconds: float = Field(1.0, gt=0)
    kill_timeout_seconds: float = Field(10.0, gt=0, description="how long a cancel waits before SIGKILL / giving up")
    http_timeout_seconds: float = Field(10.0, gt=0)

    @field_validator("conf", "env", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        # TOML gives booleans and numbers; spark-submit wants the text Spark parses.
        if isinstance(v, dict):
            return {str(k): (str(x).lower() if isinstance(x, bool) else str(x)) for k, x in v.items()}
        return v

    @field_validator("master")
    @classmethod
    def _known_master(cls, v: str) -> str:
        master_kind(v)
        return v

    @field_validator("driver_memory", "executor_memory")
    @classmethod
    def _memory(cls, v: str | None) -> str | None:
        if v is not None and not MEMORY.match(v):
            raise ValueError(f"{v!r} is not a JVM memory size; use e.g. 512m, 2g")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "SparkSettings":
        kind = self.kind
        if self.deploy_mode == "cluster" and kind == "local":
            raise ValueError("deploy_mode: cluster needs a spark://, yarn or k8s:// master, not " + self.master)
        if self.queue is not None and kind != "yarn":
            raise ValueError(f"queue: applies to yarn masters only, not {self.master}")
        if self.deploy_mode == "cluster" and kind == "yarn" and not self.yarn_rm_url:
            raise ValueError("yarn_rm_url: yarn cluster mode needs the ResourceManager address "
                             "(http://HOST:8088) to follow and kill runs")
        return self

    # -- derived ---------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return master_kind(self.master)

    @property
    def mode(self) -> str:
        """The run mode: client, standalone-cluster, yarn-cluster or k8s-cluster."""
        return "client" if self.deploy_mode == "client" else f"{self.kind}-cluster"

    @property
    def pyspark_python(self) -> str | None:
        if self.python:
            return self.python
        # The launcher's interpreter exists on this machine only (local and local standalone).
        return sys.executable if self.kind in ("local", "standalone") else None

    @property
    def rest_submission_url(self) -> str:
        if self.rest_url:
            return self.rest_url.rstrip("/")
        return f"http://{self._master_host()}:6066"

    @property
    def master_ui(self) -> str:
        if self.master_ui_url:
            return self.master_ui_url.rstrip("/")
        return f"http://{self._master_host()}:8080"

    def _master_host(self) -> str:
        first = self.master[len("spark://"):].split(",")[0]
        return first.rsplit(":", 1)[0]

    @property
    def kubernetes_api_url(self) -> str:
        if self.k8s_api_url:
            return self.k8s_api_url.rstrip("/")
        url = self.master[len("k8s://"):]
        return (url if urlparse(url).scheme else f"https://{url}").rstrip("/")

    def proxy_user(self, user: str) -> str | None:
        """The --proxy-user for a launcher user, None when not impersonating."""
        return self.user_map.get(user, user) if self.impersonate else None
