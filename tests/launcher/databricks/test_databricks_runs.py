"""Real runs through the real databricks-sdk against the emulator, which runs the uploaded wheel
with a local spark-submit: success with outputs read back (followed across a launcher restart),
run_as, a task failure whose message reaches the job, and a cancel in the middle of a run.

Three spark-submits in all; each test says what it checks of them.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import pytest
from conftest import EMULATOR_TOKEN, TOKEN_ENV
from databricks_helpers import csv_spec, emulated_run, make_run, wait_for

from launcher.dispatch import job_outcomes
from launcher.environments.base import State
from launcher.environments.databricks import DatabricksEnvironment, DatabricksSettings

RENAME = [{"op": "rename", "mapping": {"name": "person"}}]


@pytest.fixture(scope="module")
def restarted_run(emulator, wheel_cache, tmp_path_factory):
    """One run submitted by one environment and followed to its end by a second one, as after a
    launcher restart (a new process knows the run only by the handle saved in the store)."""
    tmp = tmp_path_factory.mktemp("restarted-run")
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.upper().startswith("DATABRICKS_")]:
            mp.delenv(name)
        mp.setenv(TOKEN_ENV, EMULATOR_TOKEN)
        settings = DatabricksSettings(host=emulator.host, token_env=TOKEN_ENV, existing_cluster_id="0101-emulated",
                                      run_as_map={"alice": "alice@example.com"}, service_principal="sp-fallback",
                                      poll_interval_seconds=0.5, timeout_seconds=900)
        spec = csv_spec(tmp / "data", 201, RENAME)
        run = make_run(tmp, spec, user="alice")
        before = DatabricksEnvironment(settings, tmp / "work-before", wheel_cache=wheel_cache)
        handle = before.submit(run)
        seen_running = wait_for(before, handle, lambda s: s.state == State.RUNNING)
        del before  # the launcher stops; the run goes on in the workspace

        after = DatabricksEnvironment(settings, tmp / "work-after", wheel_cache=wheel_cache)
        recovered = after.recover(handle)
        final = wait_for(after, handle, lambda s: s.has_terminated())
        yield {"run": run, "handle": handle, "seen_running": seen_running, "recovered": recovered,
               "final": final, "result": after.result(handle), "env": after,
               "emulated": emulated_run(emulator, int(handle.external_id)),
               "wheel_on_cluster": emulator.volume_path(handle.data["wheelUri"]),
               "driver_output": _read(emulator.root / "runs" / handle.external_id / "stdout.txt")}


def test_success_with_outputs_read_back(restarted_run):
    r = restarted_run
    assert r["final"].state == State.SUCCEEDED, r["env"].logs(r["handle"], 0, 200)
    doc = r["result"]
    assert doc["status"] == "Complete"
    assert [(j["jobType"], j["status"], j["rows"]) for j in doc["jobs"]] == [
        ("wrangle", "Complete", 3), ("filewriter", "Complete", 3)]
    out = Path(r["run"].spec.outputs[0].path)
    assert doc["jobs"][1]["path"] == str(out)
    with open(out, newline="") as f:
        assert list(csv.reader(f)) == [["person", "age"], ["ada", "36"], ["grace", "45"], ["linus", "28"]]
    # The launcher keeps its own copy of the result document where its spec said.
    assert json.loads(Path(r["run"].spec.resultUri).read_text()) == doc


def test_the_run_goes_as_the_mapped_user_and_the_group_shows_it(restarted_run):
    r = restarted_run
    assert r["emulated"]["run_as"] == {"user_name": "alice@example.com"}
    assert r["handle"].data["runAs"] == "user alice@example.com (run_as_map)"
    assert "run as user alice@example.com (run_as_map)" in "\n".join(r["env"].logs(r["handle"], 0, 1))


def test_a_new_environment_follows_the_run_after_a_restart(restarted_run):
    r = restarted_run
    assert r["seen_running"].state == State.RUNNING
    assert r["recovered"].state in (State.RUNNING, State.SUCCEEDED)
    assert r["final"].state == State.SUCCEEDED
    log = "\n".join(r["env"].logs(r["handle"], 0, 500))
    assert f"launcher restarted: following Databricks run {r['handle'].external_id} again" in log
    assert f"Databricks run {r['handle'].external_id}: TERMINATED/SUCCESS" in log
    # One run in the workspace, and it ran the uploaded wheel, not the launcher's source tree.
    assert r["emulated"]["returncode"] == 0
    assert f"running spark_jobs.main:main from {r['wheel_on_cluster']}/spark_jobs/main.py" in r["driver_output"]


def test_a_task_failure_reaches_the_job(em, make_env, make_settings, tmp_path):
    """On workspace files (/Workspace/...), as the service principal (bob is not mapped)."""
    env = make_env(make_settings(upload_dir="/Workspace/Shared/launcher", service_principal="sp-etl-0001"))
    spec = csv_spec(tmp_path / "data", 202, [{"op": "rename", "mapping": {"no_such_column": "x"}}])
    run = make_run(tmp_path, spec, user="bob")
    handle = env.submit(run)
    assert emulated_run(em, int(handle.external_id))["run_as"] == {"service_principal_name": "sp-etl-0001"}
    assert handle.data["runAs"] == "service principal sp-etl-0001 (service_principal)"

    state = wait_for(env, handle, lambda s: s.has_terminated())
    assert state.state == State.FAILED
    assert state.message.startswith("the Databricks run failed: Workload failed, see run output for details; "
                                    "task error: ")
    assert "no_such_column" in state.message
    doc = env.result(handle)
    assert doc["status"] == "Failed"
    outcomes = job_outcomes([spec.jobs.wrangle, spec.outputs[0].jobId], doc, state, cancel_requested=False)
    wrangle = outcomes[spec.jobs.wrangle]
    assert wrangle.status == "Failed" and "no_such_column" in wrangle.error_message
    assert outcomes[spec.outputs[0].jobId].status == "Failed"
    assert not Path(spec.outputs[0].path).exists()
    log = "\n".join(env.logs(handle, 0, 1000))
    assert "task error trace:" in log and "task error: " in log


def test_cancel_in_the_middle_of_a_run(em, make_env, tmp_path):
    env = make_env()
    spec = csv_spec(tmp_path / "data", 203, RENAME)
    handle = env.submit(make_run(tmp_path, spec))
    wait_for(env, handle, lambda s: s.state == State.RUNNING)
    # In the middle: the wheel's entry point has started inside spark-submit's driver (whose
    # Python output spark-submit passes to its stdout).
    stdout = em.root / "runs" / handle.external_id / "stdout.txt"
    deadline = time.monotonic() + 300
    while "emulator: running spark_jobs.main:main" not in _read(stdout) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "launcher/wheels/" in _read(stdout)  # imported from the uploaded wheel
    pid = emulated_run(em, int(handle.external_id))["pid"]
    assert pid and _alive(pid)

    env.cancel(handle)
    env.cancel(handle)  # idempotent
    state = wait_for(env, handle, lambda s: s.has_terminated(), timeout=60)
    assert state.state == State.CANCELED
    assert emulated_run(em, int(handle.external_id))["result_state"] == "CANCELED"
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    assert not Path(spec.outputs[0].path).exists()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_the_timeout_from_the_settings_ends_the_run_failed(em, make_env, make_settings, tmp_path):
    env = make_env(make_settings(timeout_seconds=1))
    spec = csv_spec(tmp_path / "data", 204, RENAME)
    handle = env.submit(make_run(tmp_path, spec))
    state = wait_for(env, handle, lambda s: s.has_terminated(), timeout=120)
    assert state.state == State.FAILED
    assert state.message.startswith(
        "the Databricks run timed out (raise [environments.databricksSpark] timeout_seconds)")
    assert emulated_run(em, int(handle.external_id))["result_state"] == "TIMEDOUT"
    assert env.result(handle) is None and not Path(spec.outputs[0].path).exists()
