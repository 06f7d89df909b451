"""The dispatcher: a queue per environment, submits within its concurrency, follows each run.

Life of a job group (every change recorded in ``job_events`` with its time):

    Created --enqueue--> Pending --slot free, submit--> InProgress --result--> Complete | Failed | Canceled
                          |                                |
                          +--cancel--> Canceled            +--cancel--> env.cancel -> Canceled

Request threads only call ``enqueue`` (or its halves ``mark_queued`` in their own transaction,
then ``queue``) and ``cancel``; both are a short write to the store plus a note for the
dispatcher's one background thread, which does all talking to environments
(submit, poll, cancel, result): a slow environment can never hold up a request.

Time for polling comes from an injected ``clock``; ``step()`` is one pass of the loop and
returns how long to wait, so tests drive the state machine with a fake clock and no sleeping.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from launcher import dispatch_repo
from launcher.store import repo_jobs as repo
from launcher.environments.base import Environment, Handle, Run, RunState, State
from launcher.store.db import session_scope
from launcher.store.models import TERMINAL_STATUSES, JobGroup, Status, utcnow

log = logging.getLogger("launcher.dispatch")

CREATED, PENDING, IN_PROGRESS = Status.CREATED.value, Status.PENDING.value, Status.IN_PROGRESS.value
COMPLETE, FAILED, CANCELED = Status.COMPLETE.value, Status.FAILED.value, Status.CANCELED.value
TERMINAL = frozenset(s.value for s in TERMINAL_STATUSES)

DEFAULT_POLL_SECONDS = 1.0
# Consecutive failed looks at a run before it is given up as lost (Failed, with the error).
MAX_POLL_ERRORS = 20
# After env.cancel, how long the environment gets to confirm before the group is Canceled anyway.
CANCEL_GRACE_SECONDS = 60.0


# -- pure parts -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobOutcome:
    status: str
    error_message: str | None = None
    rows: int | None = None
    files: list[dict] | None = None
    output_path: str | None = None
    delta_version: int | None = None
    started_at: str | None = None
    finished_at: str | None = None


def group_status(job_statuses: list[str], fallback: str) -> str:
    """A group's status from its jobs: any Failed -> Failed, any Canceled -> Canceled, all Complete."""
    if not job_statuses:
        return fallback
    if FAILED in job_statuses:
        return FAILED
    if CANCELED in job_statuses:
        return CANCELED
    if all(s == COMPLETE for s in job_statuses):
        return COMPLETE
    return fallback


def _error_text(err: dict | None) -> str | None:
    if not err:
        return None
    return err.get("message") or err.get("errorClass")


def job_outcomes(job_ids: list[int], doc: dict | None, state: RunState,
                 cancel_requested: bool) -> dict[int, JobOutcome]:
    """What each job of a finished run ends as, from the result document and the final state.

    Jobs the document does not mention (or all of them, when the run wrote none) end as the run
    did, with the environment's message. After a cancel, a job that failed failed because of it.
    """
    by_id = {j.get("jobId"): j for j in (doc or {}).get("jobs", [])}
    if state.state == State.CANCELED or cancel_requested:
        missing_status, missing_message = CANCELED, state.message or "canceled"
    elif state.state == State.SUCCEEDED:
        missing_status = FAILED
        missing_message = ("the run ended without a result document" if doc is None
                           else "the run's result document does not mention this job")
    else:
        missing_status, missing_message = FAILED, state.message or "the run failed"
    out: dict[int, JobOutcome] = {}
    for jid in job_ids:
        jr = by_id.get(jid)
        if jr is None:
            out[jid] = JobOutcome(missing_status, missing_message)
            continue
        status = jr.get("status")
        if status not in (COMPLETE, FAILED, CANCELED):
            status, message = FAILED, f"unknown job status {status!r} in the result document"
        else:
            message = _error_text(jr.get("error"))
        if cancel_requested and status == FAILED:
            status = CANCELED
        out[jid] = JobOutcome(
            status=status,
            error_message=message,
            rows=jr.get("rows"),
            files=jr.get("files") or None,
            output_path=jr.get("path"),
            delta_version=jr.get("deltaVersion"),
            started_at=jr.get("startedAt"),
            finished_at=jr.get("finishedAt"),
        )
    return out


def group_message(outcomes: dict[int, JobOutcome], state: RunState) -> str | None:
    """The group's error: the first real error of its jobs (not a "not run" echo), else the env's."""
    errors = [o.error_message for o in outcomes.values() if o.status != COMPLETE and o.error_message]
    real = [m for m in errors if not m.startswith(("not run", "not written"))]
    if real or errors:
        return (real or errors)[0]
    return state.message if state.state != State.SUCCEEDED else None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


# -- in-memory bookkeeping ------------------------------------------------------------------------
@dataclass
class _Active:
    """A group this dispatcher has taken out of its queue: being submitted or running."""

    job_group_id: int
    environment: str
    handle: Handle | None = None
    next_poll: float = 0.0
    cancel_requested: bool = False
    cancel_sent_at: float | None = None
    poll_errors: int = 0
    percent: int = 0


@dataclass
class _Queue:
    concurrency: int
    poll_interval: float
    waiting: deque[int] = field(default_factory=deque)


class Dispatcher:
    def __init__(self, settings: Any, session_factory: Callable, environments: dict[str, Environment],
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.sessions = session_factory
        self.environments = environments
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._active: dict[int, _Active] = {}
        self._queues: dict[str, _Queue] = {name: self._queue_for(name, env) for name, env in environments.items()}
        for env in environments.values():
            # Optional extension: an environment that knows when a run ends (photon runs in
            # this process) says so, and the run is looked at at once instead of at the next poll.
            listen = getattr(env, "set_listener", None)
            if callable(listen):
                listen(self.run_changed)

    def _queue_for(self, name: str, env: Environment) -> _Queue:
        own = self.settings.environment(name) if hasattr(self.settings, "environment") else None
        # The environment's own figure first: photon sizes its thread pool with it.
        concurrency = getattr(env, "concurrency", None) or getattr(own, "concurrency", None) or 1
        interval = (getattr(env, "poll_interval", None) or getattr(own, "poll_interval_seconds", None)
                    or DEFAULT_POLL_SECONDS)
        return _Queue(int(concurrency), float(interval))

    # -- the public face ----------------------------------------------------------------------
    def start(self) -> None:
        """Recover what a previous launcher left, then follow runs in a background thread."""
        self.recover()
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop following runs. Work already submitted is left where it runs (a restart recovers it)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def enqueue(self, job_group_id: int) -> None:
        """Queue a saved group (Created) for its environment; it shows Pending until it starts."""
        with session_scope(self.sessions) as s:
            queued = self.mark_queued(s, job_group_id)
        self.queue(queued)

    def mark_queued(self, s, job_group_id: int) -> dispatch_repo.Queued | None:
        """The store half of ``enqueue``, in the caller's transaction (POST saves the group and
        marks it Pending in one write transaction); after the commit, ``queue`` the answer.
        None: nothing to queue (the environment is not available and the group was Failed)."""
        queued = dispatch_repo.mark_pending(s, job_group_id, "queued")
        if queued is None:
            raise KeyError(f"job group {job_group_id} does not exist")
        if queued.execution not in self._queues and queued.status in (CREATED, PENDING):
            self._fail_unavailable(s, repo.get_job_group(s, job_group_id, with_jobs=True))
            return None
        return dataclasses.replace(queued, job_group_id=job_group_id)

    def queue(self, queued: dispatch_repo.Queued | None) -> None:
        """The memory half of ``enqueue``, once ``mark_queued``'s transaction has committed."""
        if queued is not None and queued.status == PENDING:  # a repeated enqueue queues once
            self._add_to_queue(queued.job_group_id, queued.execution)

    def cancel(self, job_group_id: int) -> None:
        """Queued: Canceled at once. Running: stopped where it runs, then Canceled."""
        with self._lock:
            for q in self._queues.values():
                if job_group_id in q.waiting:
                    q.waiting.remove(job_group_id)
                    break
            active = self._active.get(job_group_id)
            if active is not None:
                active.cancel_requested = True
        if active is not None:
            self._wake.set()
            return
        with session_scope(self.sessions) as s:
            group = repo.get_job_group(s, job_group_id, with_jobs=True)
            if group is None:
                raise KeyError(f"job group {job_group_id} does not exist")
            if group.status in (CREATED, PENDING):
                self._end_unstarted(s, group, CANCELED, "canceled before it started")
            elif group.status == IN_PROGRESS and _handle_of(group) is None:
                self._apply(s, group, None, RunState(State.CANCELED, "canceled"), cancel_requested=True)
            elif group.status == IN_PROGRESS:
                # Running, but not followed by this dispatcher (yet): follow it and cancel it.
                with self._lock:
                    self._active.setdefault(job_group_id, _Active(
                        job_group_id, group.execution,
                        handle=_handle_of(group), cancel_requested=True))
                self._wake.set()

    def run_changed(self, tag: str) -> None:
        """An environment's note that the run with this tag changed: look at it now."""
        with self._lock:
            for a in self._active.values():
                if a.handle is not None and a.handle.tag == tag:
                    a.next_poll = float("-inf")
        self._wake.set()

    def queued(self, environment: str) -> list[int]:
        with self._lock:
            return list(self._queues[environment].waiting)

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._active)

    @property
    def idle(self) -> bool:
        with self._lock:
            return not self._active and not any(q.waiting for q in self._queues.values())

    # -- recovery -----------------------------------------------------------------------------
    def recover(self) -> None:
        """After a restart: re-queue what waited, ask each environment about what ran.

        Nothing is left InProgress: a run its environment cannot find any more ends Failed
        with the environment's reason (photon: the launcher restarted).
        """
        with session_scope(self.sessions) as s:
            running = [(g.id, g.execution, _handle_of(g)) for g in repo.groups_in_status(s, [IN_PROGRESS])]
        for gid, execution, handle in running:
            with self._lock:
                if gid in self._active:
                    continue
            env = self.environments.get(execution)
            if env is None or handle is None:
                why = (f"the {execution} environment is not available after the launcher restarted"
                       if env is None else "the launcher restarted before the run was started")
                self._finish(gid, None, RunState(State.FAILED, why), cancel_requested=False, doc=None)
                continue
            try:
                state = env.recover(handle)
            except Exception as e:  # noqa: BLE001
                state = RunState(State.FAILED, f"could not find the run again after a restart: {e}")
            if state.has_terminated():
                self._finish(gid, env, state, cancel_requested=False, handle=handle)
            else:
                with self._lock:
                    self._active[gid] = _Active(gid, execution, handle=handle, next_poll=self.clock())
        with session_scope(self.sessions) as s:
            waiting = repo.groups_in_status(s, [CREATED, PENDING])
            requeue = []
            for group in waiting:
                if group.execution not in self._queues:
                    self._fail_unavailable(s, group)
                elif not group.spec_path:
                    self._end_unstarted(s, group, FAILED,
                                        "the launcher stopped before this job group's spec was saved; run it again")
                else:
                    self._mark_pending(s, group, "queued again after a launcher restart")
                    requeue.append((group.id, group.execution))
        for gid, execution in requeue:
            self._add_to_queue(gid, execution)

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                delay = self.step()
            except Exception:  # noqa: BLE001 - the loop must outlive any one bad group
                log.exception("dispatcher step failed")
                delay = 1.0
            if self._stopping.is_set():
                break
            self._wake.wait(delay)

    def run_until_idle(self, timeout: float = 60.0) -> None:
        """Drive the loop on the calling thread until nothing is queued or running (tests, CLI).

        Waits with the injected ``sleep``; ``timeout`` is measured on the injected clock.
        """
        deadline = self.clock() + timeout
        while not self.idle:
            if self.clock() > deadline:
                raise TimeoutError(f"still busy after {timeout} s: running {self.running()}")
            delay = self.step()
            if not self.idle:
                self.sleep(delay if delay is not None else 0.05)

    def step(self) -> float | None:
        """One pass: start what fits, send cancels, poll what is due. Returns seconds to wait
        (None: nothing to do until enqueue/cancel wakes the loop)."""
        self._start_what_fits()
        now = self.clock()
        with self._lock:
            actives = list(self._active.values())
        for a in actives:
            if a.handle is None:
                continue  # being submitted (or failed to be) by _start_what_fits
            env = self.environments.get(a.environment)
            if a.cancel_requested and a.cancel_sent_at is None:
                self._send_cancel(a, env)
                a.next_poll = now
            if a.next_poll <= now:
                self._poll(a, env, now)
        self._start_what_fits()  # into the slots the runs that just ended freed
        with self._lock:
            due = [a.next_poll for a in self._active.values() if a.handle is not None]
            if any(q.waiting and self._free_slots(name) for name, q in self._queues.items()):
                return 0.0
        if not due:
            return None
        return max(0.0, min(due) - self.clock())

    def _free_slots(self, name: str) -> int:
        used = sum(1 for a in self._active.values() if a.environment == name)
        return self._queues[name].concurrency - used

    def _start_what_fits(self) -> None:
        todo: list[_Active] = []
        with self._lock:
            for name, q in self._queues.items():
                while q.waiting and self._free_slots(name) > 0:
                    gid = q.waiting.popleft()
                    a = _Active(gid, name)
                    self._active[gid] = a
                    todo.append(a)
        for a in todo:
            try:
                self._submit(a)
            except Exception as e:  # noqa: BLE001 - a group that cannot start fails, others go on
                log.warning("job group %s could not be submitted: %s", a.job_group_id, e,
                            exc_info=not isinstance(e, (ValueError, OSError)))
                self._finish(a.job_group_id, None, RunState(State.FAILED, f"could not start the run: {e}"),
                             cancel_requested=False, doc=None)

    def _submit(self, a: _Active) -> None:
        env = self.environments[a.environment]
        gid = a.job_group_id
        with session_scope(self.sessions) as s:
            group = repo.get_job_group(s, gid, with_jobs=True)
            if group is None or group.status not in (CREATED, PENDING):
                self._drop(gid)
                return
            if a.cancel_requested:
                self._end_unstarted(s, group, CANCELED, "canceled before it started")
                self._drop(gid)
                return
            spec = self._read_spec(group)
            # The tag is saved before the launch: after a crash, recovery finds the run by it.
            if not group.tag:
                repo.update_group(s, group, tag=f"jg-{gid}-{uuid.uuid4().hex[:12]}")
            run = Run(job_group_id=gid, spec=spec, spec_path=group.spec_path, user=group.run_as or group.creator.name,
                      tag=group.tag, log_path=str(Path(self.settings.logs_dir) / f"{gid}.log"))
        handle = env.submit(run)
        try:
            with session_scope(self.sessions) as s:
                group = repo.get_job_group(s, gid, with_jobs=True)
                at = utcnow()
                repo.update_group(s, group, handle=dataclasses.asdict(handle), now=at)
                started = repo.set_group_status(s, group, IN_PROGRESS, message=f"submitted to {a.environment}",
                                                expected=[CREATED, PENDING], now=at)
                for job in group.jobs if started else []:
                    if job.status not in TERMINAL:
                        repo.set_job_status(s, job, IN_PROGRESS, now=at)
        except Exception:
            # The group is about to be marked Failed: its run must not go on unrecorded.
            try:
                env.cancel(handle)
            except Exception as e:  # noqa: BLE001
                log.warning("cancel of unrecorded run %s failed: %s", handle.tag, e)
            raise
        a.handle = handle
        if not started:  # ended meanwhile (canceled behind our back): stop what we started
            a.cancel_requested = True
        # One look right away: a run that ended before its handle was saved here (so its
        # environment's run_changed notice found nothing to wake) is seen at once.
        a.next_poll = self.clock()

    def _read_spec(self, group: JobGroup):
        from spark_jobs.spec import parse_spec

        if not group.spec_path:
            raise ValueError(f"job group {group.id} has no saved job spec")
        try:
            text = Path(group.spec_path).read_text()
        except FileNotFoundError:
            raise ValueError(f"the job spec {group.spec_path} is missing (the launcher stopped before "
                             "it was written?); run the job group again") from None
        return parse_spec(text)

    def _send_cancel(self, a: _Active, env: Environment | None) -> None:
        a.cancel_sent_at = self.clock()
        if env is None:
            return
        try:
            env.cancel(a.handle)
        except Exception as e:  # noqa: BLE001 - keep polling; the grace period ends it anyway
            log.warning("cancel of job group %s on %s failed: %s", a.job_group_id, a.environment, e)

    def _poll(self, a: _Active, env: Environment | None, now: float) -> None:
        interval = self._queues[a.environment].poll_interval if a.environment in self._queues else DEFAULT_POLL_SECONDS
        a.next_poll = now + interval
        if env is None:
            self._finish(a.job_group_id, None, RunState(State.FAILED, f"the {a.environment} environment is gone"),
                         cancel_requested=a.cancel_requested, doc=None)
            return
        try:
            state = env.poll(a.handle)
            a.poll_errors = 0
        except Exception as e:  # noqa: BLE001 - one failed look is not a failed run
            a.poll_errors += 1
            log.warning("poll of job group %s failed (%d in a row): %s", a.job_group_id, a.poll_errors, e)
            if a.poll_errors >= MAX_POLL_ERRORS:
                self._finish(a.job_group_id, env, RunState(State.FAILED, f"lost track of the run: {e}"),
                             cancel_requested=a.cancel_requested, handle=a.handle)
            return
        if state.has_terminated():
            self._finish(a.job_group_id, env, state, cancel_requested=a.cancel_requested, handle=a.handle)
            return
        if a.cancel_sent_at is not None and now - a.cancel_sent_at > CANCEL_GRACE_SECONDS:
            self._finish(a.job_group_id, env, RunState(
                State.CANCELED, f"the {a.environment} environment did not confirm the cancel "
                                f"within {CANCEL_GRACE_SECONDS:.0f} s"), cancel_requested=True, handle=a.handle)
            return
        self._update_progress(a, env)

    def _update_progress(self, a: _Active, env: Environment) -> None:
        progress = getattr(env, "progress", None)
        if progress is None:
            return
        try:
            pct = progress(a.handle)
        except Exception:  # noqa: BLE001 - progress is a nicety
            return
        if pct is None or pct <= a.percent:
            return  # never goes backwards (a later Spark job adds stages)
        a.percent = min(99, int(pct))
        with session_scope(self.sessions) as s:
            group = repo.get_job_group(s, a.job_group_id, with_jobs=True)
            for job in group.jobs if group else []:
                if job.status == IN_PROGRESS and job.percent_complete < a.percent:
                    repo.update_job(s, job, percent_complete=a.percent)

    # -- ends -----------------------------------------------------------------------------------
    def _finish(self, gid: int, env: Environment | None, state: RunState, *, cancel_requested: bool,
                handle: Handle | None = None, doc: dict | None | bool = False) -> None:
        """Read the result back into the group and its jobs; the group ends terminal."""
        if doc is False:
            doc = None
            if env is not None and handle is not None:
                try:
                    doc = env.result(handle)
                except Exception as e:  # noqa: BLE001
                    log.warning("result of job group %s unreadable: %s", gid, e)
        with session_scope(self.sessions) as s:
            group = repo.get_job_group(s, gid, with_jobs=True)
            if group is not None and group.status not in TERMINAL:
                self._apply(s, group, doc, state, cancel_requested)
        self._drop(gid)
        forget = getattr(env, "forget", None)
        if forget is not None and handle is not None:
            forget(handle.tag)

    def _apply(self, s, group: JobGroup, doc: dict | None, state: RunState, cancel_requested: bool) -> None:
        open_jobs = [j for j in group.jobs if j.status not in TERMINAL]
        outcomes = job_outcomes([j.id for j in open_jobs], doc, state, cancel_requested)
        at = utcnow()
        for job in open_jobs:
            o = outcomes[job.id]
            job.error_message = o.error_message
            job.rows = o.rows if o.rows is not None else job.rows
            job.files = o.files if o.files is not None else job.files
            job.output_path = o.output_path or job.output_path
            job.delta_version = o.delta_version if o.delta_version is not None else job.delta_version
            job.started_at = job.started_at or _parse_time(o.started_at)
            # The work has ended, whatever its outcome: nothing more to wait for.
            if repo.set_job_status(s, job, o.status, message=o.error_message, percent_complete=100, now=at):
                finished = _parse_time(o.finished_at)
                if finished is not None:
                    repo.update_job(s, job, finished_at=finished, now=at)
        statuses = [j.status for j in group.jobs]
        fallback = {State.SUCCEEDED: COMPLETE, State.CANCELED: CANCELED}.get(state.state, FAILED)
        if cancel_requested and fallback != COMPLETE:
            fallback = CANCELED
        status = group_status(statuses, fallback)
        if doc is not None and doc.get("profile") is not None:
            group.profile = doc["profile"]
        message = group_message(outcomes, state) if status != COMPLETE else None
        if status == CANCELED and cancel_requested:
            message = "canceled by request"
        group.error_message = message
        repo.set_group_status(s, group, status, message=message, now=at)

    def _end_unstarted(self, s, group: JobGroup, status: str, message: str) -> None:
        at = utcnow()
        for job in group.jobs:
            if job.status not in TERMINAL:
                repo.set_job_status(s, job, status, message=message, now=at)
        repo.set_group_status(s, group, status, message=message, now=at)

    def _fail_unavailable(self, s, group: JobGroup) -> None:
        from launcher.environments import configuration_problem

        why = configuration_problem(self.settings, group.execution) or "it could not be started"
        self._end_unstarted(s, group, FAILED, f"the {group.execution} environment is not available: {why}")

    def _mark_pending(self, s, group: JobGroup, message: str) -> None:
        at = utcnow()
        repo.set_group_status(s, group, PENDING, message=message, expected=[CREATED], now=at)
        for job in group.jobs:
            if job.status not in TERMINAL:
                repo.set_job_status(s, job, PENDING, percent_complete=0, expected=[CREATED], now=at)

    def _add_to_queue(self, gid: int, execution: str) -> None:
        with self._lock:
            q = self._queues[execution]
            if gid not in q.waiting and gid not in self._active:
                q.waiting.append(gid)
        self._wake.set()

    def _drop(self, gid: int) -> None:
        with self._lock:
            self._active.pop(gid, None)
        self._wake.set()


def _handle_of(group: JobGroup) -> Handle | None:
    if group.handle:
        return Handle(**group.handle)
    if group.tag:
        # Saved tag, no handle: the launch may or may not have happened; the env looks by tag.
        return Handle(environment=group.execution, tag=group.tag)
    return None
