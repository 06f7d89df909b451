"""Store rows -> the JSON the API answers (camelCase, ISO-8601 UTC times ending in Z)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from launcher.store.models import ApiToken, ImportedDataset, Job, JobGroup, Permission, WrangledDataset


def iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job(j: Job) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": j.id,
        "status": j.status,
        "jobType": j.job_type,
        "percentComplete": j.percent_complete,
        "errorMessage": j.error_message,
        "createdAt": iso(j.created_at),
        "updatedAt": iso(j.updated_at),
        "startedAt": iso(j.started_at),
        "finishedAt": iso(j.finished_at),
        "jobGroup": {"id": j.job_group_id},
    }
    if j.job_type == "wrangle":
        out["executionLanguage"] = "spark"
    if j.job_type == "filewriter":
        out["writeSetting"] = j.write_setting
        out["outputPath"] = j.output_path
    return out


def run_as(g: JobGroup) -> str | None:
    """Who the work runs as where it runs: the Databricks principal or the spark-submit proxy
    user the environment recorded in the run's handle, else the launcher user."""
    data = (g.handle or {}).get("data") or {}
    return data.get("runAs") or data.get("proxyUser") or g.run_as


def job_group(g: JobGroup, jobs: list[Job] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": g.id,
        "name": None,
        "description": None,
        "status": g.status,
        "ranfrom": g.ranfrom,
        "ranfor": "recipe",
        "execution": g.execution,
        "runAs": run_as(g),
        "profilingEnabled": g.profiling_enabled,
        "sessionId": g.session_id,
        "errorMessage": g.error_message,
        "createdAt": iso(g.created_at),
        "updatedAt": iso(g.updated_at),
        "startedAt": iso(g.started_at),
        "finishedAt": iso(g.finished_at),
        "wrangledDataset": {"id": g.wrangled_dataset_id},
        "creator": {"id": g.creator_id},
        "updater": {"id": g.creator_id},
    }
    if jobs is not None:
        out["jobs"] = {"data": [job(j) for j in jobs]}
    return out


def output(j: Job) -> dict[str, Any]:
    return {
        "jobId": j.id,
        "status": j.status,
        "writeSetting": j.write_setting,
        "path": j.output_path,
        "files": j.files or [],
        "rows": j.rows,
        "deltaVersion": j.delta_version,
        "errorMessage": j.error_message,
    }


def imported_dataset(d: ImportedDataset) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "uri": d.uri,
        "format": d.format,
        "options": d.options or {},
        "creator": {"id": d.owner_id},
        "createdAt": iso(d.created_at),
        "updatedAt": iso(d.updated_at),
    }


def wrangled_dataset(d: WrangledDataset, role: str | None = None) -> dict[str, Any]:
    key = "importedDataset" if d.input_kind == "imported" else "wrangledDataset"
    out: dict[str, Any] = {
        "id": d.id,
        "name": d.name,
        key: {"id": d.input_id},
        "recipe": list(d.recipe or []),
        "lastRun": d.last_run,
        "creator": {"id": d.owner_id},
        "createdAt": iso(d.created_at),
        "updatedAt": iso(d.updated_at),
    }
    if role is not None:
        out["role"] = role
    return out


def permission(p: Permission, user_name: str) -> dict[str, Any]:
    return {"id": p.id, "wrangledDataset": {"id": p.wrangled_dataset_id},
            "user": {"id": p.user_id, "name": user_name}, "role": p.role}


def token_info(t: ApiToken) -> dict[str, Any]:
    return {
        "tokenId": t.id,
        "description": t.description,
        "expiredAt": iso(t.expires_at),
        "lastUsed": iso(t.last_used_at),
        "createdAt": iso(t.created_at),
    }
