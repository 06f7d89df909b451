"""Every vendor state a spark-submit run can report, mapped to a RunState in one function per
source. Whatever a function does not know maps to FAILED with the raw state in the message, so a
new vendor state can never leave a job InProgress forever.
"""

from __future__ import annotations

import signal
from typing import Any

from launcher.environments.base import RunState, State


def _unknown(source: str, raw: Any) -> RunState:
    return RunState(State.FAILED, f"unknown {source} state {raw!r}; treated as failed")


# -- client mode: the spark-submit process -------------------------------------------------------
def from_exit(returncode: int | None) -> RunState:
    """The spark-submit process: still running, or how it ended."""
    if returncode is None:
        return RunState(State.RUNNING)
    if returncode == 0:
        return RunState(State.SUCCEEDED)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return RunState(State.FAILED, f"spark-submit was stopped by {name}")
    return RunState(State.FAILED, f"spark-submit exited with code {returncode}; see the job's log")


# -- standalone cluster mode: the master's REST submission server ------------------------------
_STANDALONE = {
    "SUBMITTED": RunState(State.PENDING, "SUBMITTED: waiting for a worker with room for the driver"),
    "RUNNING": RunState(State.RUNNING),
    "RELAUNCHING": RunState(State.PENDING, "RELAUNCHING: the driver is being started again"),
    # Only while a master recovers its state; it resolves to one of the others.
    "UNKNOWN": RunState(State.RUNNING, "UNKNOWN: the master is recovering and does not know yet"),
    "FINISHED": RunState(State.SUCCEEDED),
    "KILLED": RunState(State.CANCELED, "KILLED: the driver was killed"),
    "FAILED": RunState(State.FAILED, "FAILED: the driver exited with an error; see the job's log"),
    "ERROR": RunState(State.FAILED, "ERROR: the driver could not be started"),
}


def from_standalone(status: dict) -> RunState:
    """A ``/v1/submissions/status/<id>`` answer (SubmissionStatusResponse)."""
    if not status.get("success", False) and not status.get("driverState"):
        sid = status.get("submissionId", "?")
        why = status.get("message")
        return RunState(State.FAILED, f"the master does not know submission {sid}"
                        + (f": {why}" if why else " (it may have restarted without recovery)"))
    raw = status.get("driverState")
    mapped = _STANDALONE.get(raw)
    if mapped is None:
        return _unknown("standalone driver", raw)
    if mapped.state is State.FAILED and status.get("message"):
        return RunState(State.FAILED, f"{mapped.message}: {status['message'].strip()}")
    return mapped


# -- YARN: the ResourceManager's application report ----------------------------------------------
_YARN_WAITING = {"NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED"}


def from_yarn(app: dict) -> RunState:
    """One ``app`` of ``/ws/v1/cluster/apps`` (state + finalStatus + diagnostics)."""
    state, final = app.get("state"), app.get("finalStatus")
    diagnostics = (app.get("diagnostics") or "").strip()
    where = f"YARN application {app.get('id', '?')}"
    if state in _YARN_WAITING:
        return RunState(State.PENDING, f"{state}: waiting for YARN to start the application master")
    if state == "RUNNING":
        return RunState(State.RUNNING)
    if state == "KILLED":
        return RunState(State.CANCELED, f"{where} was killed" + (f": {diagnostics}" if diagnostics else ""))
    if state == "FAILED":
        return RunState(State.FAILED, f"{where} failed" + (f": {diagnostics}" if diagnostics else ""))
    if state == "FINISHED":
        if final == "SUCCEEDED":
            return RunState(State.SUCCEEDED)
        if final == "KILLED":
            return RunState(State.CANCELED, f"{where} was killed")
        if final == "FAILED":
            return RunState(State.FAILED, f"{where} finished FAILED" + (f": {diagnostics}" if diagnostics else ""))
        return _unknown("YARN final", f"{state}/{final}")
    return _unknown("YARN application", state)


# -- Kubernetes: the driver pod -------------------------------------------------------------------
# Waiting reasons that never resolve on their own: the pod would stay Pending forever.
_K8S_STUCK = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
              "CreateContainerError", "CrashLoopBackOff"}


def _driver_container(pod: dict) -> dict:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    named = [c for c in statuses if c.get("name") in ("spark-kubernetes-driver", "driver")]
    return (named or statuses or [{}])[0]


def from_k8s_pod(pod: dict | None) -> RunState:
    """The driver pod (an item of ``/api/v1/namespaces/NS/pods?labelSelector=...``), None when
    no pod carries the run's label."""
    if pod is None:
        return RunState(State.FAILED, "no driver pod carries the run's label (deleted, or never created)")
    name = (pod.get("metadata") or {}).get("name", "?")
    phase = (pod.get("status") or {}).get("phase")
    container = _driver_container(pod).get("state") or {}
    waiting, terminated = container.get("waiting") or {}, container.get("terminated") or {}
    if phase == "Pending":
        if waiting.get("reason") in _K8S_STUCK:
            return RunState(State.FAILED, f"driver pod {name}: {waiting['reason']}: {waiting.get('message', '')}".rstrip(": "))
        return RunState(State.PENDING, f"driver pod {name} is Pending")
    if phase == "Running":
        if terminated:
            # The container ended; the phase follows shortly. Decide by the exit code now.
            return _terminated(name, terminated)
        return RunState(State.RUNNING)
    if phase == "Succeeded":
        return RunState(State.SUCCEEDED)
    if phase == "Failed":
        return _terminated(name, terminated) if terminated else RunState(
            State.FAILED, f"driver pod {name} Failed: {(pod.get('status') or {}).get('reason', '')}".rstrip(": "))
    if phase == "Unknown":
        # The node stopped reporting; the pod is not known to have ended.
        return RunState(State.RUNNING, f"driver pod {name}: phase Unknown (its node does not answer)")
    return _unknown("Kubernetes pod", phase)


def _terminated(name: str, terminated: dict) -> RunState:
    code = terminated.get("exitCode")
    if code == 0:
        return RunState(State.SUCCEEDED)
    reason = terminated.get("reason") or "Error"
    return RunState(State.FAILED, f"driver pod {name}: {reason}, exit code {code}")


# -- every source: what the run's own result document says ---------------------------------------
_RESULT = {"Complete": State.SUCCEEDED, "Failed": State.FAILED, "Canceled": State.CANCELED}


def settle(vendor: RunState, result_status: str | None, *, canceled: bool) -> RunState:
    """The run's state once the vendor says it ended: the result document, when there is one,
    knows best (it was written after the outputs were committed or aborted)."""
    if not vendor.has_terminated():
        return vendor
    if result_status is not None:
        state = _RESULT.get(result_status)
        if state is None:
            return _unknown("result document", result_status)
        if state is State.FAILED:
            return RunState(State.FAILED, "the job group failed; see the jobs' errors")
        return RunState(state, "canceled" if state is State.CANCELED else None)
    if canceled:
        return RunState(State.CANCELED, "canceled")
    if vendor.state is State.SUCCEEDED:
        return RunState(State.FAILED, "the driver ended without writing its result document; see the job's log")
    return vendor
