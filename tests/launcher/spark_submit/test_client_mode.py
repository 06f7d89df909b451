"""Client mode against a real spark-submit (local[2]): run, logs, result, cancel, restart."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from launcher.environments.base import State
from launcher.environments.spark_submit import client
from launcher.environments.spark_submit.environment import SparkSubmitEnvironment
from launcher.environments.spark_submit.settings import SparkSettings

from .conftest import EXPECTED, make_run, read_csv, wait

pytestmark = pytest.mark.slow


def test_local_client_mode_runs_the_job_and_reads_the_result_back(tmp_path):
    env = SparkSubmitEnvironment(SparkSettings(), tmp_path / "work")
    run = make_run(tmp_path, 501, user="alice")
    handle = env.submit(run)
    assert handle.environment == "spark" and handle.tag == run.tag
    assert handle.data["mode"] == "client" and int(handle.external_id) == handle.data["pid"]

    state = wait(env, handle)
    assert state.state is State.SUCCEEDED, env.logs(handle, 0, 10_000)[-40:]
    doc = env.result(handle)
    assert doc["status"] == "Complete" and doc["jobGroupId"] == 501
    writer = next(j for j in doc["jobs"] if j["jobType"] == "filewriter")
    assert writer["rows"] == 3 and writer["path"] == run.spec.outputs[0].path
    assert read_csv(run.spec.outputs[0].path) == EXPECTED

    lines = env.logs(handle, 0, 100_000)
    assert lines[0] == f"[launcher] job group 501, tag {run.tag}, user alice, client mode"
    assert lines[1].startswith("[launcher] ") and "spark-submit" in lines[1] and "--spec" in lines[1]
    assert any("job group 501: Complete" in line for line in lines)  # the driver's own log
    assert env.logs(handle, 1, 2) == lines[1:3]
    assert env.logs(handle, len(lines), 10) == []
    # The log is a file: it stays after the run and after the launcher forgets it.
    env.forget(handle.tag)
    assert env.logs(handle, 0, 100_000) == lines


def _driver_started(env, handle) -> bool:
    return any("spark_jobs" in line and " from " in line for line in env.logs(handle, 0, 100_000))


def test_cancel_in_client_mode_stops_the_driver_and_keeps_old_outputs(tmp_path):
    env = SparkSubmitEnvironment(SparkSettings(kill_timeout_seconds=20), tmp_path / "work")
    run = make_run(tmp_path, 502)
    out = Path(run.spec.outputs[0].path)
    out.parent.mkdir(parents=True)
    out.write_text("old,results\n")
    handle = env.submit(run)
    pgid = handle.data["pid"]
    deadline = time.monotonic() + 120
    while not _driver_started(env, handle):  # the Python driver is running run_job
        assert time.monotonic() < deadline, env.logs(handle, 0, 10_000)
        assert env.poll(handle).state is State.RUNNING
        time.sleep(0.2)

    env.cancel(handle)
    state = wait(env, handle, timeout=60)
    assert state.state is State.CANCELED
    assert client.group_members(pgid) == []  # spark-submit, its JVM and the Python driver are gone
    assert out.read_text() == "old,results\n"  # overwrite never happened
    assert [p.name for p in out.parent.iterdir()] == ["out.csv"]  # no staging left behind
    doc = env.result(handle)
    assert doc is None or doc["status"] == "Canceled"
    env.cancel(handle)  # idempotent


def test_after_a_restart_a_client_mode_run_is_failed_and_its_process_stopped(tmp_path):
    settings = SparkSettings()
    first = SparkSubmitEnvironment(settings, tmp_path / "work")
    run = make_run(tmp_path, 503)
    handle = first.submit(run)
    pgid = handle.data["pid"]
    # Found by group and command line, once the child has exec'd spark-submit (until then its
    # command line is still this test's).
    deadline = time.monotonic() + 20
    while not client.group_members(pgid, run.spec_path):
        assert time.monotonic() < deadline, "the run's process never showed its spec"
        time.sleep(0.05)

    restarted = SparkSubmitEnvironment(settings, tmp_path / "work")  # knows nothing of the process
    state = restarted.recover(handle)
    assert state.state is State.FAILED
    assert "launcher restarted" in state.message and f"pid {pgid}" in state.message
    assert "still running and has been stopped" in state.message
    first.ctx.procs[handle.tag].wait(10)  # reap it (it was this test's child)
    assert client.group_members(pgid) == []
    # Whether the small job committed its output before it was stopped depends on timing; what
    # is certain is that nothing half-written is left beside it.
    out = Path(run.spec.outputs[0].path)
    assert [p.name for p in out.parent.iterdir()] in ([], [out.name]) if out.parent.exists() else True


def test_recover_never_signals_a_process_that_is_not_the_run(tmp_path):
    env = SparkSubmitEnvironment(SparkSettings(), tmp_path / "work")
    from launcher.environments.base import Handle

    # Our own process group, but without the run's spec on any command line: left alone.
    mine = os.getpgid(0)
    handle = Handle("spark", "jg-9-x", str(mine), {"mode": "client", "pid": mine,
                                                   "specLocation": str(tmp_path / "specs" / "9.json")})
    state = env.recover(handle)
    assert state.state is State.FAILED and "ended with the launcher" in state.message


def test_a_run_whose_pid_was_never_saved_is_found_by_its_tag(tmp_path):
    """The launcher died between starting spark-submit and saving the handle: only the tag is
    in the store. The tag is on the command line (--name), so the process is found and stopped."""
    import subprocess
    import sys

    from launcher.environments.base import Handle

    tag = "jg-77-" + os.urandom(6).hex()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "--name", tag, "--spec", "x"],
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while tag not in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace"):
            assert time.monotonic() < deadline  # until the child has exec'd its own command line
            time.sleep(0.05)
        env = SparkSubmitEnvironment(SparkSettings(kill_timeout_seconds=5), tmp_path / "work")
        state = env.recover(Handle("spark", tag))
        assert state.state is State.FAILED and "while it was starting spark-submit" in state.message
        assert proc.wait(10) == -15  # SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
