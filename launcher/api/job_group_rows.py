"""Saving a new job group in few statements: the POST hot path.

Rows as ``launcher.store.repo_jobs.create_job_group`` makes them (group and jobs Created, one
Created event each), written with three Core INSERTs and one UPDATE instead of the ORM's unit
of work: a POST holds the store's write lock for a fraction of the time, which is what its
latency under concurrent clients depends on. The output paths, which need the group's id, go in
with the jobs instead of in a second round of UPDATEs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from launcher.store.models import Job, JobEvent, JobGroup, Status, WrangledDataset, utcnow

CREATED = Status.CREATED.value
# The tables, not the mapped classes: plain Core statements skip the ORM's bulk-insert path.
GROUPS, JOBS, EVENTS, WRANGLED = (m.__table__ for m in (JobGroup, Job, JobEvent, WrangledDataset))


@dataclass(frozen=True)
class SavedGroup:
    id: int
    session_id: str
    job_ids: list[int]


def insert_job_group(
    s: Session,
    *,
    creator_id: int,
    wrangled_dataset_id: int,
    execution: str,
    profiling_enabled: bool,
    ranfrom: str | None,
    request: dict[str, Any],
    run_as: str | None,
    idempotency_key: str | None,
    job_types: list[str],
    write_settings: list[dict],
    output_path: Callable[[dict, int], str],
    spec_path: Callable[[int], Path],
    last_run: dict | None,
) -> SavedGroup:
    """Insert the group, its jobs and their Created events; set the dataset's last run.

    ``write_settings`` belong to the filewriter jobs in order; ``output_path(ws, group_id)``
    and ``spec_path(group_id)`` name where things go once the id is known. Not committed."""
    now = utcnow()
    session_id = str(uuid.uuid4())
    gid = s.execute(insert(GROUPS).returning(GROUPS.c.id), [{
        "creator_id": creator_id, "wrangled_dataset_id": wrangled_dataset_id, "status": CREATED,
        "ranfrom": ranfrom, "execution": execution, "profiling_enabled": profiling_enabled,
        "session_id": session_id, "request": request, "run_as": run_as,
        "idempotency_key": idempotency_key, "created_at": now,
        "updated_at": now}]).scalar_one()
    writers = iter(write_settings)
    rows = []
    for job_type in job_types:
        ws = next(writers) if job_type == "filewriter" else None
        rows.append({"job_group_id": gid, "job_type": job_type, "status": CREATED, "percent_complete": 0,
                     "write_setting": ws, "output_path": output_path(ws, gid) if ws else None,
                     "created_at": now, "updated_at": now})
    job_ids = list(s.execute(insert(JOBS).returning(JOBS.c.id, sort_by_parameter_order=True), rows).scalars())
    s.execute(insert(EVENTS), [{"job_group_id": gid, "job_id": None, "status": CREATED, "at": now}]
              + [{"job_group_id": gid, "job_id": jid, "status": CREATED, "at": now} for jid in job_ids])
    s.execute(update(GROUPS).where(GROUPS.c.id == gid).values(spec_path=str(spec_path(gid))))
    if last_run is not None:
        s.execute(update(WRANGLED).where(WRANGLED.c.id == wrangled_dataset_id)
                  .values(last_run=last_run))
    return SavedGroup(id=gid, session_id=session_id, job_ids=job_ids)
