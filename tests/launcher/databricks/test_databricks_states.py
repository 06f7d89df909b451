"""Every Databricks run state maps to one launcher state, in one function."""

from __future__ import annotations

import pytest

from launcher.environments.base import RunState, State
from launcher.environments.databricks.states import map_run_state

P, R, S, F, C = State.PENDING, State.RUNNING, State.SUCCEEDED, State.FAILED, State.CANCELED


@pytest.mark.parametrize("life, result, expected", [
    ("PENDING", None, P), ("QUEUED", None, P), ("BLOCKED", None, P), ("WAITING_FOR_RETRY", None, P),
    ("RUNNING", None, R), ("TERMINATING", None, R), ("TERMINATING", "SUCCESS", R),
    ("TERMINATED", "SUCCESS", S),
    ("TERMINATED", "FAILED", F), ("TERMINATED", "TIMEDOUT", F),
    ("TERMINATED", "CANCELED", C), ("TERMINATED", "CANCELLED", C), ("CANCELED", None, C),
    ("CANCELLED", None, C), ("TERMINATED", "UPSTREAM_CANCELED", C),
    ("INTERNAL_ERROR", None, F), ("INTERNAL_ERROR", "FAILED", F), ("SKIPPED", None, F),
    ("TERMINATED", None, F), ("TERMINATED", "SUCCESS_WITH_FAILURES", F),
    ("TERMINATED", "MAXIMUM_CONCURRENT_RUNS_REACHED", F),
])
def test_state_table(life, result, expected):
    assert map_run_state(life, result).state == expected


def test_success_has_no_message_and_waiting_keeps_the_vendor_message():
    assert map_run_state("TERMINATED", "SUCCESS") == RunState(S, None)
    assert map_run_state("PENDING", None, "Waiting for cluster") == RunState(P, "Waiting for cluster")


def test_failure_messages_carry_the_vendor_message():
    assert map_run_state("TERMINATED", "FAILED", "Workload failed") == RunState(
        F, "the Databricks run failed: Workload failed")
    assert map_run_state("INTERNAL_ERROR", None, "cluster lost") == RunState(
        F, "the Databricks run ended INTERNAL_ERROR: cluster lost")
    assert map_run_state("SKIPPED", None) == RunState(F, "the Databricks run was SKIPPED")
    assert map_run_state("TERMINATED", "TIMEDOUT").message == (
        "the Databricks run timed out (raise [environments.databricksSpark] timeout_seconds)")


def test_unknown_states_fail_with_the_raw_values():
    assert map_run_state("HIBERNATING", "MAYBE") == RunState(
        F, "unknown Databricks run state: life_cycle_state='HIBERNATING' result_state='MAYBE'")
    assert map_run_state(None, None) == RunState(
        F, "unknown Databricks run state: life_cycle_state=None result_state=None")
