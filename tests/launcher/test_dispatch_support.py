"""Helpers shared by the dispatcher and photon tests (no tests here).

- ``FakeClock``: the dispatcher's injected clock and sleep; sleeping advances it, instantly.
- ``ScriptedEnv``: a tiny in-test Environment for the dispatcher's state machine: the test says
  what each look at a run returns. Spark itself is never faked: the photon tests run real jobs.
- ``make_group``: a user, an imported and a wrangled dataset, a job group with its jobs (Created)
  and its saved job spec, as the API leaves them before it calls ``enqueue``.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launcher.environments.base import Handle, Run, RunState, State
from launcher.store import repo_datasets, repo_jobs, repo_users
from launcher.store.db import session_scope
from launcher.store.models import JobGroup


class FakeClock:
    def __init__(self, start: float = 1000.0):
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class ScriptedEnv:
    """Runs nothing; each run's state and result document are set by the test."""

    name: str = "scripted"
    concurrency: int = 1
    poll_interval: float = 5.0
    states: dict[str, RunState] = field(default_factory=dict)
    docs: dict[str, dict] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    polls: list[str] = field(default_factory=list)
    submit_errors: list[Exception] = field(default_factory=list)  # raised by the next submits
    poll_error: Exception | None = None
    confirm_cancel: bool = True
    recovered: dict[str, RunState] = field(default_factory=dict)

    def submit(self, run: Run) -> Handle:
        if self.submit_errors:
            raise self.submit_errors.pop(0)
        self.runs.append(run)
        self.states[run.tag] = RunState(State.RUNNING)
        return Handle(environment=self.name, tag=run.tag, external_id=f"run-{len(self.runs)}",
                      data={"resultUri": run.spec.resultUri})

    def poll(self, handle: Handle) -> RunState:
        self.polls.append(handle.tag)
        if self.poll_error is not None:
            raise self.poll_error
        return self.states[handle.tag]

    def cancel(self, handle: Handle) -> None:
        self.canceled.append(handle.tag)
        if self.confirm_cancel and not self.states[handle.tag].has_terminated():
            self.states[handle.tag] = RunState(State.CANCELED, "stopped by the test environment")

    def logs(self, handle: Handle, start: int, size: int) -> list[str]:
        return []

    def result(self, handle: Handle) -> dict | None:
        return self.docs.get(handle.tag)

    def recover(self, handle: Handle) -> RunState:
        return self.recovered.get(handle.tag, RunState(State.FAILED, "not found"))

    # -- test helpers -----------------------------------------------------------------------
    def run_of(self, job_group_id: int) -> Run:
        return next(r for r in self.runs if r.job_group_id == job_group_id)

    def end(self, job_group_id: int, state: State, doc: dict | None = None, message: str | None = None) -> None:
        tag = self.run_of(job_group_id).tag
        self.states[tag] = RunState(state, message)
        if doc is not None:
            self.docs[tag] = doc


def make_user(session_factory, name: str = "alice") -> int:
    with session_scope(session_factory) as s:
        user = repo_users.get_user_by_name(s, name) or repo_users.create_user(s, name)
        return user.id


def make_group(session_factory, settings, *, execution: str = "photon", input_uri: str = "/nowhere.csv",
               input_format: str = "csv", recipe: list | None = None, outputs: list[dict] | None = None,
               profiler: bool = False, save_spec: bool = True, user: str = "alice") -> int:
    """A job group as the API saves it: Created, jobs Created, spec JSON at spec_path."""
    from spark_jobs.spec import JobSpec

    outputs = list(outputs or [])
    uid = make_user(session_factory, user)
    with session_scope(session_factory) as s:
        imp = repo_datasets.create_imported(s, uid, "input", input_uri, input_format)
        wr = repo_datasets.create_wrangled(s, uid, "wrangled", "imported", imp.id, recipe or [])
        jobs = [repo_jobs.NewJob("wrangle")]
        jobs += [repo_jobs.NewJob("filewriter", write_setting=o, output_path=o["path"]) for o in outputs]
        if profiler:
            jobs.append(repo_jobs.NewJob("profile"))
        group = repo_jobs.create_job_group(s, creator_id=uid, wrangled_dataset_id=wr.id, execution=execution,
                                           jobs=jobs, profiling_enabled=profiler, ranfrom="api")
        ids = [j.id for j in group.jobs]
        gid = group.id
        spec = JobSpec(
            jobGroupId=gid,
            jobs={"wrangle": ids[0], "profile": ids[-1] if profiler else None},
            datasets=[
                {"kind": "imported", "id": imp.id, "name": "input", "uri": input_uri, "format": input_format},
                {"kind": "wrangled", "id": wr.id, "name": "wrangled", "input": {"kind": "imported", "id": imp.id},
                 "recipe": recipe or []},
            ],
            target=wr.id,
            outputs=[dict(o, jobId=jid) for o, jid in zip(outputs, ids[1:])],
            profiler=profiler,
            resultUri=str(Path(settings.results_dir) / f"{gid}.json"),
            runAs=user,
        )
        if save_spec:
            path = Path(settings.specs_dir) / f"{gid}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(spec.to_json())
            repo_jobs.update_group(s, group, spec_path=str(path))
    return gid


def group_state(session_factory, gid: int) -> dict[str, Any]:
    """The group and its jobs as plain data (read in a fresh session)."""
    with session_scope(session_factory) as s:
        g = repo_jobs.get_job_group(s, gid, with_jobs=True)
        return {
            "status": g.status,
            "error": g.error_message,
            "profile": g.profile,
            "handle": g.handle,
            "tag": g.tag,
            "started_at": g.started_at,
            "finished_at": g.finished_at,
            "jobs": [
                {"id": j.id, "type": j.job_type, "status": j.status, "percent": j.percent_complete,
                 "error": j.error_message, "rows": j.rows, "files": j.files, "path": j.output_path,
                 "delta_version": j.delta_version, "started_at": j.started_at, "finished_at": j.finished_at}
                for j in g.jobs
            ],
        }


def history(session_factory, gid: int) -> list[tuple[str | None, str]]:
    """(job type or None for the group, status) per recorded change, in order."""
    with session_scope(session_factory) as s:
        types = {j.id: j.job_type for j in repo_jobs.jobs_of(s, gid)}
        return [(types.get(e.job_id) if e.job_id else None, e.status) for e in repo_jobs.events_of(s, gid)]


def group_history(session_factory, gid: int) -> list[str]:
    return [status for who, status in history(session_factory, gid) if who is None]


def wait_for(predicate, timeout: float = 300.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_status(session_factory, gid: int, statuses: set[str], timeout: float = 300.0) -> dict:
    return wait_for(lambda: (st := group_state(session_factory, gid))["status"] in statuses and st,
                    timeout=timeout, what=f"job group {gid} to reach {sorted(statuses)}")


def write_csv(path: Path, rows: list[tuple]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    return path


def write_big_gzip_csv(path: Path, repeats: int = 50) -> Path:
    """~5M rows of csv in one gzip file: not splittable, so one slow task to scan (cancel tests)."""
    chunk = b"".join(b"%d,name%d,%d.5\n" % (i, i % 1000, i % 97) for i in range(100_000))
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(b"id,name,amount\n")
        for _ in range(repeats):
            f.write(chunk)
    return path


def read_result(settings, gid: int) -> dict:
    return json.loads((Path(settings.results_dir) / f"{gid}.json").read_text())


__all__ = ["FakeClock", "JobGroup", "ScriptedEnv", "group_history", "group_state", "history", "make_group",
           "make_user", "read_result", "wait_for", "wait_status", "write_big_gzip_csv", "write_csv"]
