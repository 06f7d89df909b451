"""Fixtures for the databricksSpark tests: one Databricks emulator process per test session
(a real HTTP server on 127.0.0.1, stopped by PID), the spark_jobs wheel built once, and helpers
to build specs and follow runs.

No DATABRICKS_* variable of the caller's shell reaches the SDK: each test clears them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from databricks_emulator import EmulatorProcess  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
EMULATOR_TOKEN = "dapi-emulator-token-0123456789"
TOKEN_ENV = "DBX_EMULATOR_TOKEN"


@pytest.fixture(autouse=True)
def _no_databricks_env(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith("DATABRICKS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(TOKEN_ENV, EMULATOR_TOKEN)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    em = EmulatorProcess(
        tmp_path_factory.mktemp("databricks-emulator"), EMULATOR_TOKEN, pending_seconds=0.3,
        spark_conf=[
            # Tiny jobs: the JVM's start-up dominates, so the quick JIT tier is enough.
            f"spark.driver.extraJavaOptions=-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}"
            " -XX:TieredStopAtLevel=1",
            "spark.sql.shuffle.partitions=2",
        ],
    ).start()
    yield em
    em.stop()


@pytest.fixture
def em(emulator):
    """The session's emulator, with its faults and hold cleared after the test."""
    yield emulator
    emulator.clear_faults()
    emulator.cancel_all()  # nothing a test left behind goes on running (or starts, once released)
    emulator.hold_runs(False)


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory):
    """Built once for the session; every environment of the tests shares it."""
    from launcher.environments.databricks.wheel import WheelCache

    cache = WheelCache(tmp_path_factory.mktemp("wheels"))
    cache.ensure()
    return cache


@pytest.fixture
def make_settings(em):
    from launcher.environments.databricks.settings import DatabricksSettings

    def make(**overrides):
        values = dict(host=em.host, token_env=TOKEN_ENV, existing_cluster_id="0101-emulated",
                      upload_dir="/Volumes/main/default/launcher", poll_interval_seconds=0.5,
                      retry_budget_seconds=20, timeout_seconds=600)
        values.update(overrides)
        return DatabricksSettings(**values)

    return make


@pytest.fixture
def make_env(make_settings, wheel_cache, tmp_path):
    from launcher.environments.databricks import DatabricksEnvironment

    def make(settings=None, **kw):
        return DatabricksEnvironment(settings or make_settings(), tmp_path / "work", wheel_cache=wheel_cache, **kw)

    return make
