"""Databricks run states -> the launcher's RunState, in this one function.

A run's ``state`` has a ``life_cycle_state`` and, once terminal, a ``result_state``. The SDK's
waiter does not raise on ``TERMINATED`` + ``FAILED``, so every terminal combination is decided
here explicitly; anything not listed is ``FAILED`` with the raw values in the message, so a new
vendor state can never leave a job ``InProgress``.
"""

from __future__ import annotations

from launcher.environments.base import RunState, State

WAITING = frozenset({"PENDING", "QUEUED", "BLOCKED", "WAITING_FOR_RETRY", "WAITING"})
ACTIVE = frozenset({"RUNNING", "TERMINATING"})
CANCELED_RESULTS = frozenset({"CANCELED", "CANCELLED", "UPSTREAM_CANCELED"})


def map_run_state(life_cycle_state: str | None, result_state: str | None = None,
                  state_message: str | None = None) -> RunState:
    life = (life_cycle_state or "").upper()
    result = (result_state or "").upper()
    detail = f": {state_message}" if state_message else ""

    if life in WAITING:
        return RunState(State.PENDING, state_message or None)
    if life in ACTIVE:
        return RunState(State.RUNNING, state_message or None)
    if life in ("CANCELED", "CANCELLED") or result in CANCELED_RESULTS:
        return RunState(State.CANCELED, state_message or "the Databricks run was canceled")
    if life == "TERMINATED":
        if result == "SUCCESS":
            return RunState(State.SUCCEEDED, state_message or None)
        if result == "FAILED":
            return RunState(State.FAILED, f"the Databricks run failed{detail}")
        if result == "TIMEDOUT":
            return RunState(
                State.FAILED,
                "the Databricks run timed out (raise [environments.databricksSpark] timeout_seconds)"
                + detail)
        return RunState(State.FAILED, f"the Databricks run ended TERMINATED with result_state "
                                      f"{result_state or '(none)'}{detail}")
    if life == "INTERNAL_ERROR":
        return RunState(State.FAILED, f"the Databricks run ended INTERNAL_ERROR{detail}")
    if life == "SKIPPED":
        return RunState(State.FAILED, f"the Databricks run was SKIPPED{detail}")
    return RunState(State.FAILED, f"unknown Databricks run state: life_cycle_state="
                                  f"{life_cycle_state!r} result_state={result_state!r}{detail}")
