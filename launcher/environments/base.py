"""The adapter interface: one class per running environment, no flag branches.

The dispatcher owns waiting, queueing and the store; an environment only knows how to start a
run, look at it once, stop it, read its logs and its result document. Every vendor state is
mapped to a ``RunState`` in one function per environment; an unknown vendor state maps to
``FAILED`` with the raw state in the message, so a new vendor state can never leave a job
``InProgress`` forever.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from spark_jobs.spec import JobSpec


class State(str, enum.Enum):
    PENDING = "PENDING"  # accepted by the environment, not running yet
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    @property
    def terminal(self) -> bool:
        return self in (State.SUCCEEDED, State.FAILED, State.CANCELED)


@dataclass(frozen=True)
class RunState:
    state: State
    message: str | None = None  # why it failed, the raw vendor state, ...

    def has_terminated(self) -> bool:
        return self.state.terminal


@dataclass(frozen=True)
class Run:
    """Everything an environment needs to start one job group's run."""

    job_group_id: int
    spec: JobSpec
    spec_path: str  # the spec, saved as JSON under LAUNCHER_HOME/specs before submit
    user: str  # the launcher user the job runs for
    tag: str  # unique; saved in the store before the launch (recovery finds the run by it)
    log_path: str  # where the submitter's own output goes (LAUNCHER_HOME/logs/...)


@dataclass(frozen=True)
class Handle:
    """Saved in the store; enough to find the run again after a launcher restart."""

    environment: str
    tag: str
    external_id: str | None = None  # process id, submission id, app id, Databricks run id
    data: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable extras


class Environment(Protocol):
    name: ClassVar[str]  # "photon", "spark", "databricksSpark"

    def submit(self, run: Run) -> Handle:
        """Start the run; returns once accepted, never blocks on the job itself."""

    def poll(self, handle: Handle) -> RunState:
        """One look at the run."""

    def cancel(self, handle: Handle) -> None:
        """Stop the work where it runs; idempotent and bounded in time."""

    def logs(self, handle: Handle, start: int, size: int) -> list[str]:
        """Log lines [start, start+size) of the run, kept after it ends."""

    def result(self, handle: Handle) -> dict | None:
        """The run's result document (spark_jobs.result.RunResult as a dict), if written."""

    def recover(self, handle: Handle) -> RunState:
        """After a launcher restart: the state of a run that was in flight."""
