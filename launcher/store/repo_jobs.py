"""Job groups, their jobs and the status history (job_events).

Status changes go through ``set_group_status`` / ``set_job_status``: one conditional UPDATE that
never moves a row out of a terminal status (Complete, Failed, Canceled) and never repeats the
current one, so the API's cancel and the dispatcher's poll may race without one undoing the
other; each change that happened is recorded in job_events with its time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from launcher.store.models import (
    JOB_TYPES,
    TERMINAL_STATUSES,
    Job,
    JobEvent,
    JobGroup,
    Status,
    id_in_range,
    row_bound,
    utcnow,
)

_TERMINAL = tuple(s.value for s in TERMINAL_STATUSES)


@dataclass(frozen=True)
class NewJob:
    job_type: str  # wrangle | filewriter | profile
    write_setting: dict[str, Any] | None = None  # filewriter: the normalised write setting
    output_path: str | None = None  # filewriter: the concrete path it will write


def create_job_group(
    s: Session,
    *,
    creator_id: int,
    wrangled_dataset_id: int,
    execution: str,
    jobs: Iterable[NewJob],
    profiling_enabled: bool = False,
    ranfrom: str | None = None,
    request: dict[str, Any] | None = None,
    run_as: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> JobGroup:
    """The group and its jobs, all Created, with one Created event each (flushed, not committed)."""
    now = now or utcnow()
    group = JobGroup(
        creator_id=creator_id, wrangled_dataset_id=wrangled_dataset_id, execution=execution,
        status=Status.CREATED.value, profiling_enabled=profiling_enabled, ranfrom=ranfrom,
        session_id=str(uuid.uuid4()), request=dict(request or {}), run_as=run_as,
        idempotency_key=idempotency_key, created_at=now, updated_at=now)
    for nj in jobs:
        if nj.job_type not in JOB_TYPES:
            raise ValueError(f"job_type must be one of {', '.join(JOB_TYPES)}, got {nj.job_type!r}")
        group.jobs.append(Job(job_type=nj.job_type, status=Status.CREATED.value, percent_complete=0,
                              write_setting=nj.write_setting, output_path=nj.output_path,
                              created_at=now, updated_at=now))
    s.add(group)
    s.flush()
    s.add(JobEvent(job_group_id=group.id, job_id=None, status=Status.CREATED.value, at=now))
    for job in group.jobs:
        s.add(JobEvent(job_group_id=group.id, job_id=job.id, status=Status.CREATED.value, at=now))
    s.flush()
    return group


def find_by_idempotency_key(s: Session, creator_id: int, key: str) -> JobGroup | None:
    return s.scalar(select(JobGroup).where(JobGroup.creator_id == creator_id,
                                           JobGroup.idempotency_key == key))


def get_job_group(s: Session, group_id: int, *, with_jobs: bool = False) -> JobGroup | None:
    if not id_in_range(group_id):
        return None
    if not with_jobs:
        return s.get(JobGroup, group_id)
    return s.scalar(select(JobGroup).options(selectinload(JobGroup.jobs)).where(JobGroup.id == group_id))


def get_job(s: Session, job_id: int) -> Job | None:
    return s.get(Job, job_id) if id_in_range(job_id) else None


def jobs_of(s: Session, group_id: int) -> list[Job]:
    return list(s.scalars(select(Job).where(Job.job_group_id == group_id).order_by(Job.id)))


def list_job_groups(s: Session, creator_id: int | None = None, *, limit: int | None = None,
                    offset: int = 0, ranfrom_set: bool = False,
                    with_jobs: bool = False) -> tuple[list[JobGroup], int]:
    """Newest first; ``creator_id=None`` lists everyone's (admins). ``ranfrom_set`` leaves out
    groups run with ranfrom null (they do not show on the Job Results page)."""
    q = select(JobGroup)
    if creator_id is not None:
        q = q.where(JobGroup.creator_id == creator_id)
    if ranfrom_set:
        q = q.where(JobGroup.ranfrom.is_not(None))
    count = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    q = q.order_by(JobGroup.id.desc()).offset(row_bound(offset))
    if limit is not None:
        q = q.limit(row_bound(limit))
    if with_jobs:
        q = q.options(selectinload(JobGroup.jobs))
    return list(s.scalars(q)), count


def groups_in_status(s: Session, statuses: Iterable[Status | str], *,
                     execution: str | None = None) -> list[JobGroup]:
    """Oldest first: what the dispatcher re-queues or recovers at start."""
    q = select(JobGroup).where(JobGroup.status.in_([str(x) for x in statuses]))
    if execution is not None:
        q = q.where(JobGroup.execution == execution)
    return list(s.scalars(q.order_by(JobGroup.id)))


def update_group(s: Session, group: JobGroup, *, now: datetime | None = None, **fields: Any) -> None:
    """Set plain columns (spec_path, tag, handle, run_as, profile, ...); not the status."""
    _update(s, group, "set_group_status", now, fields)


def update_job(s: Session, job: Job, *, now: datetime | None = None, **fields: Any) -> None:
    """Set plain columns (percent_complete, rows, files, output_path, delta_version, ...)."""
    _update(s, job, "set_job_status", now, fields)


def _update(s: Session, row, status_setter: str, now: datetime | None, fields: dict[str, Any]) -> None:
    if "status" in fields:
        raise ValueError(f"change a status with {status_setter}, it records the event")
    model = type(row)
    for name, value in fields.items():
        if not hasattr(model, name):
            raise AttributeError(f"{model.__tablename__} has no column {name!r}")
        setattr(row, name, value)
    row.updated_at = now or utcnow()
    s.flush()


def _set_status(s: Session, model, row, status: Status | str, *, message: str | None,
                expected: Iterable[Status | str] | None, now: datetime | None,
                extra: dict[str, Any]) -> bool:
    status = Status(status)
    now = now or utcnow()
    values: dict[str, Any] = {"status": status.value, "updated_at": now, **extra}
    if status is Status.IN_PROGRESS:
        values["started_at"] = func.coalesce(model.started_at, now)
    if status in TERMINAL_STATUSES:
        values["finished_at"] = now
        if status is Status.FAILED and message is not None:
            values["error_message"] = message
    cond = [model.id == row.id, model.status.not_in(_TERMINAL), model.status != status.value]
    if expected is not None:
        cond.append(model.status.in_([str(Status(e)) for e in expected]))
    s.flush()  # pending attribute changes first, so the UPDATE below is the last word
    result = s.execute(update(model).where(*cond).values(**values)
                       .execution_options(synchronize_session=False))
    changed = result.rowcount == 1
    if changed:
        group_id = row.id if model is JobGroup else row.job_group_id
        job_id = None if model is JobGroup else row.id
        s.add(JobEvent(job_group_id=group_id, job_id=job_id, status=status.value, message=message, at=now))
        s.flush()
        # The row now holds what the UPDATE wrote: set it here rather than read the row back
        # (a SELECT of every column, request and profile documents included, per change).
        for key, value in values.items():
            set_committed_value(row, key, (row.started_at or now) if key == "started_at" else value)
    else:
        s.refresh(row)  # someone else moved it: read what it is now
    return changed


def set_group_status(s: Session, group: JobGroup, status: Status | str, *, message: str | None = None,
                     expected: Iterable[Status | str] | None = None,
                     now: datetime | None = None) -> bool:
    """Move a group to ``status`` unless it already ended (or is not in ``expected``).

    Returns whether it changed. InProgress sets started_at once; a terminal status sets
    finished_at; Failed keeps ``message`` as the error_message. The change is recorded in
    job_events.
    """
    return _set_status(s, JobGroup, group, status, message=message, expected=expected, now=now, extra={})


def set_job_status(s: Session, job: Job, status: Status | str, *, message: str | None = None,
                   percent_complete: int | None = None, expected: Iterable[Status | str] | None = None,
                   now: datetime | None = None) -> bool:
    """Like set_group_status for one job; Complete also sets percent_complete to 100."""
    extra: dict[str, Any] = {}
    if percent_complete is not None:
        extra["percent_complete"] = max(0, min(100, int(percent_complete)))
    elif Status(status) is Status.COMPLETE:
        extra["percent_complete"] = 100
    return _set_status(s, Job, job, status, message=message, expected=expected, now=now, extra=extra)


def finish_unfinished_jobs(s: Session, group: JobGroup, status: Status | str, message: str | None,
                           *, now: datetime | None = None) -> list[Job]:
    """End every job of the group that has not ended (e.g. all Failed with the env's message)."""
    changed = []
    for job in jobs_of(s, group.id):
        if Status(job.status) not in TERMINAL_STATUSES and set_job_status(
                s, job, status, message=message, now=now):
            changed.append(job)
    return changed


def events_of(s: Session, group_id: int) -> list[JobEvent]:
    return list(s.scalars(select(JobEvent).where(JobEvent.job_group_id == group_id)
                          .order_by(JobEvent.id)))
