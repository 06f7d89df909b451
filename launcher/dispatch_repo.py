"""Store operations of the dispatcher that sit on a request's path, in as few statements as can be.

``enqueue`` runs inside POST /jobGroups: moving a group and its jobs from Created to Pending
with their events is four SQLAlchemy Core statements here (the ORM path through
``repo_jobs.set_*_status`` takes a dozen round trips). Same rules as ``repo_jobs``: a status
only moves out of the expected one, and every change is recorded in job_events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from launcher.store.models import Job, JobEvent, JobGroup, Status, utcnow

CREATED, PENDING = Status.CREATED.value, Status.PENDING.value


@dataclass(frozen=True)
class Queued:
    execution: str
    status: str  # the group's status after the call
    changed: bool  # whether this call moved it Created -> Pending
    job_group_id: int | None = None


def mark_pending(s: Session, job_group_id: int, message: str, now: datetime | None = None) -> Queued | None:
    """Created -> Pending for the group and its Created jobs, with one event each.

    None when the group does not exist; ``changed`` False when it was not Created (already
    queued, canceled, ...), in which case nothing is written.
    """
    now = now or utcnow()
    row = s.execute(select(JobGroup.execution, JobGroup.status).where(JobGroup.id == job_group_id)).one_or_none()
    if row is None:
        return None
    execution, status = row
    if status != CREATED:
        return Queued(execution, status, False)
    moved = s.execute(update(JobGroup).where(JobGroup.id == job_group_id, JobGroup.status == CREATED)
                      .values(status=PENDING, updated_at=now)
                      .execution_options(synchronize_session=False)).rowcount
    if moved != 1:  # someone else moved it in between
        status = s.execute(select(JobGroup.status).where(JobGroup.id == job_group_id)).scalar_one()
        return Queued(execution, status, False)
    # RETURNING: SQLite >= 3.35 and PostgreSQL both have it.
    job_ids = sorted(s.execute(update(Job).where(Job.job_group_id == job_group_id, Job.status == CREATED)
                               .values(status=PENDING, percent_complete=0, updated_at=now)
                               .returning(Job.id).execution_options(synchronize_session=False)).scalars())
    s.execute(insert(JobEvent), [{"job_group_id": job_group_id, "job_id": None, "status": PENDING,
                                  "message": message, "at": now}]
              + [{"job_group_id": job_group_id, "job_id": jid, "status": PENDING, "message": None, "at": now}
                 for jid in job_ids])
    return Queued(execution, PENDING, True)
