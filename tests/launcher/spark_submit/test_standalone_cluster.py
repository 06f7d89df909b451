"""Standalone cluster mode on a real master + 2 workers: the driver runs on a worker through the
master's REST submission server, and is followed after a launcher restart. (Cancel in the middle
of a cluster-mode run: test_spark_api.py, through the API.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.environments.base import State
from launcher.environments.spark_submit.environment import ARCHIVED, SparkSubmitEnvironment
from launcher.environments.spark_submit.settings import SparkSettings
from launcher.environments.spark_submit.standalone_rest import RestSubmissionError

from .conftest import EXPECTED, make_run, read_csv, wait

pytestmark = pytest.mark.slow


def cluster_settings(cluster, **kw) -> SparkSettings:
    return SparkSettings(master=cluster.master_url, deploy_mode="cluster", rest_url=cluster.rest_url,
                         master_ui_url=cluster.webui_url, driver_memory="512m", executor_memory="512m",
                         total_executor_cores=1, **kw)


def app_named(cluster, tag: str, which: str = "completedapps") -> dict | None:
    # The submission names the app by the run's tag; spark_jobs.session currently renames it
    # jobGroup-<id> when it builds the session, so both names identify the run here.
    gid = tag.split("-")[1]
    return next((a for a in cluster.state()[which] if a["name"] in (tag, f"jobGroup-{gid}")), None)


def test_cluster_mode_run_is_followed_after_a_launcher_restart(cluster, tmp_path):
    settings = cluster_settings(cluster)
    first = SparkSubmitEnvironment(settings, tmp_path / "work")
    run = make_run(tmp_path, 601, user="carol")
    handle = first.submit(run)
    assert handle.data["mode"] == "standalone-cluster"
    assert handle.external_id.startswith("driver-") and handle.data["restUrl"] == cluster.rest_url
    wait(first, handle, until=lambda s: s.state is State.RUNNING, timeout=120)

    # The launcher "restarts": a new environment object with nothing in memory but the handle.
    restarted = SparkSubmitEnvironment(settings, tmp_path / "work")
    state = restarted.recover(handle)
    assert state.state in (State.RUNNING, State.SUCCEEDED)
    state = wait(restarted, handle)
    assert state.state is State.SUCCEEDED, restarted.logs(handle, 0, 10_000)[-60:]

    doc = restarted.result(handle)
    assert doc["status"] == "Complete"
    assert read_csv(run.spec.outputs[0].path) == EXPECTED
    app = app_named(cluster, run.tag)
    assert app is not None and app["state"] == "FINISHED"
    assert app["cores"] >= 1  # the Python app got executors beside its driver

    lines = restarted.logs(handle, 0, 100_000)
    assert lines[0] == f"[launcher] job group 601, tag {run.tag}, user carol, standalone-cluster mode"
    assert f"[launcher] submitted as {handle.external_id}" in lines
    # The driver's own log, copied from its worker once the run ended, and kept.
    assert any(line.startswith("---- driver stderr") for line in lines)
    assert any("job group 601: Complete" in line for line in lines)
    assert lines[-1] == ARCHIVED
    assert restarted.logs(handle, 0, 100_000) == lines  # archived once, not again


def test_an_unreachable_rest_server_is_a_clear_submit_error(tmp_path):
    from launcher.environments.spark_submit.local_cluster import free_port

    port = free_port()
    env = SparkSubmitEnvironment(SparkSettings(master="spark://127.0.0.1:7077", deploy_mode="cluster",
                                               rest_url=f"http://127.0.0.1:{port}"), tmp_path / "work")
    run = make_run(tmp_path, 603)
    with pytest.raises(RestSubmissionError, match="spark.master.rest.enabled=true"):
        env.submit(run)
    assert "submission failed" in Path(run.log_path).read_text()
