"""Jobs: one job, and its log lines paged (``/v4/jobs/{id}/log?from=&size=``).

The log is the run's: the environment reads it where it is (a local file for photon and
spark-submit, the run's output for Databricks); when the environment is not there any more,
the launcher's own copy under ``LAUNCHER_HOME/logs/<jobGroupId>.log`` is read.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from launcher import auth
from launcher.api import present
from launcher.api.context import AppContext, ctx, current_user, db
from launcher.environments.base import Handle
from launcher.store import repo_jobs
from launcher.store.models import Status, User

log = logging.getLogger("launcher.api")

router = APIRouter(tags=["jobs"])

MAX_PAGE = 10_000


def read_lines(path: Path, start: int, size: int) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in itertools.islice(f, start, start + size)]
    except FileNotFoundError:
        return []


def log_lines(c: AppContext, group, start: int, size: int) -> list[str]:
    env = c.environment(group.execution)
    if env is not None and group.handle:
        try:
            return list(env.logs(Handle(**group.handle), start, size))
        except Exception as e:  # noqa: BLE001 - fall back to the launcher's own copy
            log.warning("logs of job group %s from %s failed: %s", group.id, group.execution, e)
    return read_lines(Path(c.settings.logs_dir) / f"{group.id}.log", start, size)


def get_job(job_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    return present.job(auth.require_job(s, user, job_id))


def get_log(job_id: int, c: AppContext = Depends(ctx), s: Session = Depends(db),
            user: User = Depends(current_user),
            start: int = Query(0, ge=0, alias="from", description="first line, counting from 0"),
            size: int = Query(1000, ge=1, le=MAX_PAGE, description="lines at most")):
    job = auth.require_job(s, user, job_id)
    group = repo_jobs.get_job_group(s, job.job_group_id)
    lines = log_lines(c, group, start, size)
    ended = Status(group.status).terminal
    return {
        "jobId": job.id,
        "jobGroupId": group.id,
        "from": start,
        "size": size,
        "data": lines,
        "next": start + len(lines),
        # Nothing more will come: the run ended and this page was not full.
        "complete": ended and len(lines) < size,
    }


for version in ("v3", "v4"):
    router.add_api_route(f"/{version}/jobs/{{job_id}}", get_job, methods=["GET"], summary="A job")
    router.add_api_route(f"/{version}/jobs/{{job_id}}/log", get_log, methods=["GET"],
                         summary="The job's log lines, paged; kept after the job ends")
