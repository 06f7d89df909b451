"""Every vendor state -> RunState, on recorded answers.

The standalone answers were recorded from this machine's Spark 4.2.0 master; the YARN
ResourceManager and Kubernetes answers are written from their documented formats (no such
cluster runs here).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launcher.environments.base import RunState, State
from launcher.environments.spark_submit import states

RECORDED = Path(__file__).parent / "recorded"


def answer(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


def yarn_app(name: str) -> dict:
    return answer(f"yarn/{name}.json")["apps"]["app"][0]


def pod(name: str) -> dict | None:
    items = answer(f"k8s/{name}.json")["items"]
    return items[0] if items else None


@pytest.mark.parametrize("rc, expected", [
    (None, RunState(State.RUNNING)),
    (0, RunState(State.SUCCEEDED)),
    (1, RunState(State.FAILED, "spark-submit exited with code 1; see the job's log")),
    (-9, RunState(State.FAILED, "spark-submit was stopped by SIGKILL")),
    (-15, RunState(State.FAILED, "spark-submit was stopped by SIGTERM")),
])
def test_process_exit(rc, expected):
    assert states.from_exit(rc) == expected


@pytest.mark.parametrize("name, state", [
    ("status_submitted", State.PENDING),
    ("status_running", State.RUNNING),
    ("status_finished", State.SUCCEEDED),
    ("status_killed", State.CANCELED),
    ("status_failed", State.FAILED),
    ("status_error", State.FAILED),
    ("status_not_found", State.FAILED),
])
def test_standalone_recorded(name, state):
    assert states.from_standalone(answer(f"standalone/{name}.json")).state is state


def test_standalone_every_documented_driver_state():
    mapped = {s: states.from_standalone({"success": True, "driverState": s}).state
              for s in ("SUBMITTED", "RUNNING", "FINISHED", "RELAUNCHING", "UNKNOWN", "KILLED", "FAILED", "ERROR")}
    assert mapped == {
        "SUBMITTED": State.PENDING, "RUNNING": State.RUNNING, "FINISHED": State.SUCCEEDED,
        "RELAUNCHING": State.PENDING, "UNKNOWN": State.RUNNING, "KILLED": State.CANCELED,
        "FAILED": State.FAILED, "ERROR": State.FAILED,
    }


def test_standalone_messages():
    error = states.from_standalone(answer("standalone/status_error.json"))
    assert "could not be started" in error.message and "Cannot run program" in error.message
    gone = states.from_standalone(answer("standalone/status_not_found.json"))
    assert "does not know submission driver-nope" in gone.message


def test_standalone_unknown_state_fails_with_the_raw_state():
    assert states.from_standalone({"success": True, "driverState": "ZOMBIE"}) == RunState(
        State.FAILED, "unknown standalone driver state 'ZOMBIE'; treated as failed")


@pytest.mark.parametrize("name, state, words", [
    ("apps_accepted", State.PENDING, "ACCEPTED"),
    ("apps_running", State.RUNNING, None),
    ("apps_finished_succeeded", State.SUCCEEDED, None),
    ("apps_finished_failed", State.FAILED, "exited with status 1"),
    ("apps_failed", State.FAILED, "exitCode: 13"),
    ("apps_killed", State.CANCELED, "killed"),
])
def test_yarn_recorded(name, state, words):
    got = states.from_yarn(yarn_app(name))
    assert got.state is state
    if words:
        assert words in got.message


def test_yarn_every_documented_state():
    def m(state, final="UNDEFINED"):
        return states.from_yarn({"id": "application_1_1", "state": state, "finalStatus": final}).state

    assert [m(s) for s in ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED")] == [State.PENDING] * 4
    assert m("RUNNING") is State.RUNNING
    assert m("RUNNING", "SUCCEEDED") is State.RUNNING  # unregistered, not yet finished
    assert (m("FINISHED", "SUCCEEDED"), m("FINISHED", "FAILED"), m("FINISHED", "KILLED")) == (
        State.SUCCEEDED, State.FAILED, State.CANCELED)
    assert (m("FAILED", "FAILED"), m("KILLED", "KILLED")) == (State.FAILED, State.CANCELED)
    odd = states.from_yarn({"state": "FINISHED", "finalStatus": "UNDEFINED"})
    assert odd == RunState(State.FAILED, "unknown YARN final state 'FINISHED/UNDEFINED'; treated as failed")
    assert states.from_yarn({"state": "PAUSED"}) == RunState(
        State.FAILED, "unknown YARN application state 'PAUSED'; treated as failed")


@pytest.mark.parametrize("name, state, words", [
    ("pods_pending", State.PENDING, "Pending"),
    ("pods_image_pull", State.FAILED, "ImagePullBackOff"),
    ("pods_running", State.RUNNING, None),
    ("pods_running_container_ended", State.FAILED, "exit code 1"),
    ("pods_succeeded", State.SUCCEEDED, None),
    ("pods_failed", State.FAILED, "OOMKilled, exit code 137"),
    ("pods_evicted", State.FAILED, "Evicted"),
    ("pods_unknown", State.RUNNING, "Unknown"),
    ("pods_none", State.FAILED, "no driver pod"),
])
def test_kubernetes_recorded(name, state, words):
    got = states.from_k8s_pod(pod(name))
    assert got.state is state
    if words:
        assert words in got.message


def test_kubernetes_unknown_phase():
    assert states.from_k8s_pod({"metadata": {"name": "d"}, "status": {"phase": "Hibernating"}}) == RunState(
        State.FAILED, "unknown Kubernetes pod state 'Hibernating'; treated as failed")


@pytest.mark.parametrize("vendor, doc, canceled, expected", [
    (RunState(State.RUNNING), None, False, RunState(State.RUNNING)),
    (RunState(State.SUCCEEDED), "Complete", False, RunState(State.SUCCEEDED)),
    # The driver exits 1 when the job group failed: the document says why.
    (RunState(State.FAILED, "exit 1"), "Failed", False, RunState(State.FAILED, "the job group failed; see the jobs' errors")),
    # SIGTERM: the driver aborted its outputs and wrote Canceled before exiting.
    (RunState(State.FAILED, "exit 1"), "Canceled", True, RunState(State.CANCELED, "canceled")),
    # Killed before it wrote anything.
    (RunState(State.FAILED, "SIGKILL"), None, True, RunState(State.CANCELED, "canceled")),
    (RunState(State.CANCELED, "KILLED"), None, True, RunState(State.CANCELED, "canceled")),
    # A cancel that came too late: the outputs were committed, and that is what happened.
    (RunState(State.SUCCEEDED), "Complete", True, RunState(State.SUCCEEDED)),
    (RunState(State.SUCCEEDED), None, False,
     RunState(State.FAILED, "the driver ended without writing its result document; see the job's log")),
    (RunState(State.FAILED, "exit 2"), None, False, RunState(State.FAILED, "exit 2")),
    (RunState(State.SUCCEEDED), "Exploded", False,
     RunState(State.FAILED, "unknown result document state 'Exploded'; treated as failed")),
])
def test_settle(vendor, doc, canceled, expected):
    assert states.settle(vendor, doc, canceled=canceled) == expected
