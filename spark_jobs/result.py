"""The result document a run writes for the launcher to read back.

One per job group run: a record per job (the ``wrangle`` transform, one ``filewriter`` per
output, the ``profile``), with rows, files, timings and, for a failure, the error class and
message. Statuses use the contract's words so the launcher copies them as they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Status = Literal["Complete", "Failed", "Canceled"]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileInfo(_Model):
    path: str
    size: int


class JobError(_Model):
    errorClass: str
    message: str


class JobResult(_Model):
    jobId: int
    jobType: Literal["wrangle", "filewriter", "profile"]
    status: Status
    startedAt: str | None = None
    finishedAt: str | None = None
    rows: int | None = None
    # filewriter jobs: the concrete path written and the files it holds after the commit.
    path: str | None = None
    files: list[FileInfo] = []
    deltaVersion: int | None = None
    error: JobError | None = None


class RunResult(_Model):
    specVersion: int = 1
    jobGroupId: int
    status: Status
    startedAt: str
    finishedAt: str | None = None
    jobs: list[JobResult] = []
    # settype: per column, the values that did not fit the type.
    mismatches: dict[str, int] = {}
    profile: dict[str, Any] | None = None

    def job(self, job_id: int) -> JobResult:
        return next(j for j in self.jobs if j.jobId == job_id)
