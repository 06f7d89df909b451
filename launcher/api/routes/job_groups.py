"""Job groups, v3 and v4 alike: create (run), read, status, jobs, list, cancel, outputs, profile.

Creating one: check everything (translator), save the group and its jobs as Created with the
spec written beside them (one transaction), then hand the id to the dispatcher and answer 201.
Nothing waits for Spark.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from launcher import auth, translate
from launcher.api import present
from launcher.api.catalog import StoreCatalog
from launcher.api.context import AppContext, ctx, current_user, db
from launcher.api.errors import BadRequest, Conflict, ProfilingDataNotFound
from launcher.api.job_group_rows import SavedGroup, insert_job_group
from launcher.api.schemas import JobGroupCreate
from launcher.store import repo_jobs
from launcher.store.db import session_scope
from launcher.store.models import JobGroup, Status, User

log = logging.getLogger("launcher.api")

router = APIRouter(tags=["jobGroups"])

MAX_IDEMPOTENCY_KEY = 200


# -- create -------------------------------------------------------------------------------------

def environment_problem(c: AppContext, name: str) -> str | None:
    if name in getattr(c.dispatcher, "environments", {}):
        return None
    from launcher.environments import configuration_problem

    return configuration_problem(c.settings, name) or f"the {name} environment is not available in this launcher"


def submit(c: AppContext, s: Session, user: User, body: JobGroupCreate,
           idempotency_key: str | None) -> tuple[SavedGroup, list[int], bool]:
    """Save and queue a job group; returns (group, job ids, whether it is new)."""
    request_doc = body.model_dump(mode="json", exclude_unset=True)
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise BadRequest(f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} characters, "
                             f"got {len(idempotency_key)}", [{"field": "Idempotency-Key"}])
        earlier = repo_jobs.find_by_idempotency_key(s, user.id, idempotency_key)
        if earlier is not None:
            return _replay(earlier, request_doc, idempotency_key, s)

    ds = auth.require_wrangled(s, user, body.wrangledDataset.id, "viewer")
    plan = translate.plan_run(
        body, StoreCatalog(s), last_run=ds.last_run, roots=c.settings.roots_for(user.name),
        base_dir=c.base_dir, environment_problem=lambda name: environment_problem(c, name))

    specs_dir = Path(c.settings.specs_dir)
    try:
        saved = insert_job_group(
            s, creator_id=user.id, wrangled_dataset_id=ds.id, execution=plan.execution,
            profiling_enabled=plan.profiler, ranfrom=plan.ranfrom, request=request_doc, run_as=user.name,
            idempotency_key=idempotency_key, job_types=plan.job_types(),
            write_settings=[dict(ws) for ws in plan.writesettings], output_path=translate.concrete_path,
            spec_path=lambda gid: specs_dir / f"{gid}.json", last_run=plan.last_run())
        # The spec is on disk before the group is committed Pending: whatever reads a queued
        # group (the dispatcher, a restarted launcher) finds it. One write transaction per POST:
        # under load each transaction waits its turn for the store's one writer.
        spec = translate.build_spec(plan, saved.id, saved.job_ids,
                                    result_uri=str(Path(c.settings.results_dir) / f"{saved.id}.json"),
                                    run_as=user.name)
        write_atomically(specs_dir / f"{saved.id}.json", spec.to_json())
        queued = c.dispatcher.mark_queued(s, saved.id)
        s.commit()
    except IntegrityError:
        # The same key from a concurrent request won the race: answer with its group.
        s.rollback()
        earlier = repo_jobs.find_by_idempotency_key(s, user.id, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return _replay(earlier, request_doc, idempotency_key, s)
    c.dispatcher.queue(queued)
    return saved, saved.job_ids, True


def write_atomically(path: Path, text: str) -> None:
    """Readers see the whole file or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _replay(group: JobGroup, request_doc: dict, key: str, s: Session) -> tuple[SavedGroup, list[int], bool]:
    if (group.request or {}) != request_doc:
        raise Conflict(f"Idempotency-Key {key!r} was already used for a different request "
                       f"(job group {group.id}); use a new key for a new request",
                       [{"field": "Idempotency-Key", "jobGroupId": group.id}])
    job_ids = [j.id for j in repo_jobs.jobs_of(s, group.id)]
    return SavedGroup(group.id, group.session_id, job_ids), job_ids, False


def _created(content: dict, new: bool) -> JSONResponse:
    headers = {} if new else {"Idempotent-Replayed": "true"}
    return JSONResponse(content, status_code=201, headers=headers)


@router.post("/v3/jobGroups", status_code=201, summary="Run a job (v3 answer)")
def create_v3(body: JobGroupCreate, c: AppContext = Depends(ctx), s: Session = Depends(db),
              user: User = Depends(current_user),
              idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    group, job_ids, new = submit(c, s, user, body, idempotency_key)
    return _created({"jobgroupId": group.id, "jobIds": job_ids, "reason": "JobStarted",
                     "sessionId": group.session_id}, new)


@router.post("/v4/jobGroups", status_code=201, summary="Run a job (v4 answer)")
def create_v4(body: JobGroupCreate, c: AppContext = Depends(ctx), s: Session = Depends(db),
              user: User = Depends(current_user),
              idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    group, job_ids, new = submit(c, s, user, body, idempotency_key)
    return _created({"id": group.id, "jobs": {"data": [{"id": j} for j in job_ids]},
                     "jobGraph": translate.job_graph(job_ids), "reason": "JobStarted",
                     "sessionId": group.session_id}, new)


# -- read -----------------------------------------------------------------------------------------

def _embed_jobs(embed: str | None) -> bool:
    if not embed:
        return False
    parts = {p.strip() for p in embed.split(",") if p.strip()}
    unknown = parts - {"jobs"}
    if unknown:
        raise BadRequest(f"embed: unknown value {', '.join(sorted(unknown))}; accepted: jobs",
                         [{"field": "embed", "accepted": ["jobs"]}])
    return "jobs" in parts


def list_groups(s: Session = Depends(db), user: User = Depends(current_user),
                limit: int = Query(25, ge=0, le=1000), offset: int = Query(0, ge=0),
                embed: str | None = Query(None, description="jobs: include each group's jobs")):
    with_jobs = _embed_jobs(embed)
    groups, count = repo_jobs.list_job_groups(s, None if user.is_admin else user.id, limit=limit,
                                              offset=offset, with_jobs=with_jobs)
    return {"data": [present.job_group(g, list(g.jobs) if with_jobs else None) for g in groups],
            "count": count}


def get_group(group_id: int, s: Session = Depends(db), user: User = Depends(current_user),
              embed: str | None = Query(None, description="jobs: include the group's jobs")):
    with_jobs = _embed_jobs(embed)
    g = auth.require_job_group(s, user, group_id, with_jobs=with_jobs)
    return present.job_group(g, list(g.jobs) if with_jobs else None)


async def get_status(group_id: int, request: Request):
    # async, one prepared read on the event loop: clients poll this, many at once.
    status, token_id = auth.job_group_status(request.app.state.engine,
                                             auth.bearer_secret(request.headers.get("authorization")), group_id)
    if token_id is not None:
        await run_in_threadpool(_record_use, request.app.state.ctx.sessions, token_id)
    return JSONResponse(status)


def _record_use(sessions, token_id: int) -> None:
    with session_scope(sessions) as s:
        auth.record_use(s, token_id)


def get_jobs(group_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    auth.require_job_group(s, user, group_id)
    return {"data": [present.job(j) for j in repo_jobs.jobs_of(s, group_id)]}


def cancel(group_id: int, c: AppContext = Depends(ctx), s: Session = Depends(db),
           user: User = Depends(current_user)):
    g = auth.require_job_group(s, user, group_id)
    if Status(g.status).terminal:
        raise Conflict(f"job group {group_id} already ended {g.status}; there is nothing to cancel",
                       [{"field": "id", "status": g.status}])
    s.rollback()  # the dispatcher writes the change in its own transaction
    c.dispatcher.cancel(group_id)
    g = repo_jobs.get_job_group(s, group_id, with_jobs=True)
    s.refresh(g)
    return present.job_group(g, repo_jobs.jobs_of(s, group_id))


def outputs(group_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    auth.require_job_group(s, user, group_id)
    return {"data": [present.output(j) for j in repo_jobs.jobs_of(s, group_id) if j.job_type == "filewriter"]}


def profile(group_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    g = auth.require_job_group(s, user, group_id)
    if not g.profiling_enabled:
        raise ProfilingDataNotFound(
            f"job group {group_id} was not profiled; run the dataset with overrides.profiler true",
            {"jobGroupId": group_id, "profilingEnabled": False})
    if g.profile is None:
        why = ("the profile job has not finished" if not Status(g.status).terminal
               else f"the job group ended {g.status} without a profile")
        raise ProfilingDataNotFound(f"job group {group_id} has no profile: {why}",
                                    {"jobGroupId": group_id, "status": g.status})
    return g.profile


for version in ("v3", "v4"):
    router.add_api_route(f"/{version}/jobGroups", list_groups, methods=["GET"],
                         summary="Job groups, newest first (the caller's own; an admin's: all)")
    router.add_api_route(f"/{version}/jobGroups/{{group_id}}", get_group, methods=["GET"], summary="A job group")
    router.add_api_route(f"/{version}/jobGroups/{{group_id}}/status", get_status, methods=["GET"],
                         summary="The status as a bare JSON string", response_model=str)
    router.add_api_route(f"/{version}/jobGroups/{{group_id}}/jobs", get_jobs, methods=["GET"],
                         summary="The jobs of a job group")
    router.add_api_route(f"/{version}/jobGroups/{{group_id}}/cancel", cancel, methods=["POST"],
                         summary="Stop the work where it runs; the group ends Canceled")
    router.add_api_route(f"/{version}/jobGroups/{{group_id}}/outputs", outputs, methods=["GET"],
                         summary="Each output: write setting, concrete path, files, rows")
    router.add_api_route(f"/{version}/jobGroups/{{group_id}}/profile", profile, methods=["GET"],
                         summary="The profile; 400 ProfilingDataNotFound when not profiled")
