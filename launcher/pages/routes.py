"""The Job Results page (/jobs), the profile page (/jobGroups/{id}/profile) and their login.

The pages take the same API tokens as the API: the login form checks a token and keeps it in an
HttpOnly, SameSite=Strict cookie (scripts cannot read it, other sites cannot send it). Without a
valid cookie every page redirects to the form. A user sees only their own job groups here, even
an admin: the page is "my jobs"; the API's list is where an admin sees everyone's.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from launcher import auth
from launcher.api.context import db
from launcher.api.errors import ApiError
from launcher.pages import render
from launcher.store import repo_jobs
from launcher.store.models import JobGroup, User

router = APIRouter(include_in_schema=False)

COOKIE = auth.PAGE_COOKIE
PAGE_LIMIT = 200


class _LoginNeeded(Exception):
    pass


def _page_user(request: Request, s: Session) -> User:
    secret = request.cookies.get(COOKIE) or auth.bearer_secret(request.headers.get("authorization"))
    try:
        user = auth.authenticate(s, secret)
    except ApiError:
        raise _LoginNeeded() from None
    s.commit()
    return user


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _safe_next(next_url: str | None) -> str:
    # Only a path on this server: an absolute or scheme-relative URL would be an open redirect.
    if not next_url or not next_url.startswith("/") or next_url.startswith("//"):
        return "/jobs"
    return next_url


@router.get("/login", response_class=HTMLResponse)
def login_form(next: str | None = None) -> HTMLResponse:
    return HTMLResponse(render.login_page(next_url=_safe_next(next)))


@router.post("/login")
def login(request: Request, token: str = Form(""), next: str = Form("/jobs"), s: Session = Depends(db)) -> Response:
    try:
        auth.authenticate(s, token.strip())
    except ApiError as e:
        return HTMLResponse(render.login_page(error=e.message, next_url=_safe_next(next)), status_code=401)
    s.commit()
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", path="/",
                    secure=request.url.scheme == "https")
    return resp


@router.get("/logout")
def logout() -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


def _duration(g: JobGroup) -> str | None:
    if g.started_at is None:
        return None
    end = g.finished_at or datetime.now(g.started_at.tzinfo)
    secs = max((end - g.started_at).total_seconds(), 0)
    return f"{secs:.1f} s" if secs < 120 else f"{secs / 60:.1f} min"


def _row(g: JobGroup) -> render.JobRow:
    outputs = [j.output_path or (j.write_setting or {}).get("path", "") for j in g.jobs if j.job_type == "filewriter"]
    errors = [j.error_message for j in g.jobs if j.error_message]
    return render.JobRow(
        id=g.id,
        dataset=f"{g.wrangled_dataset.name} (#{g.wrangled_dataset_id})" if g.wrangled_dataset else str(g.wrangled_dataset_id),
        environment=g.execution,
        status=str(g.status),
        user=g.creator.name if g.creator else str(g.creator_id),
        ranfrom=g.ranfrom,
        started=g.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") if g.started_at else None,
        duration=_duration(g),
        error=g.error_message or (errors[0] if errors else None),
        outputs=[o for o in outputs if o],
        profiled=bool(g.profiling_enabled and g.profile),
    )


@router.get("/jobs", response_class=HTMLResponse)
def job_results(request: Request, s: Session = Depends(db)) -> Response:
    try:
        user = _page_user(request, s)
    except _LoginNeeded:
        return _to_login(request)
    # ranfrom null: the reference page says such jobs do not show here.
    groups, _ = repo_jobs.list_job_groups(s, user.id, limit=PAGE_LIMIT, ranfrom_set=True, with_jobs=True)
    return HTMLResponse(render.job_results_page([_row(g) for g in groups], user=user.name))


@router.get("/jobGroups/{group_id}/profile", response_class=HTMLResponse)
def profile_page(group_id: int, request: Request, s: Session = Depends(db)) -> Response:
    try:
        user = _page_user(request, s)
    except _LoginNeeded:
        return _to_login(request)
    group = repo_jobs.get_job_group(s, group_id)
    if group is None or group.creator_id != user.id:
        return HTMLResponse(render.message_page("Not found", f"Job group {group_id} not found.", user.name), status_code=404)
    if not group.profile:
        why = ("was not profiled (run it with overrides.profiler: true)" if not group.profiling_enabled
               else f"has no profile yet (status {group.status})")
        return HTMLResponse(render.message_page("No profile", f"Job group {group_id} {why}.", user.name), status_code=400)
    name = group.wrangled_dataset.name if group.wrangled_dataset else str(group.wrangled_dataset_id)
    return HTMLResponse(render.profile_page(group.id, name, group.profile, user=user.name))
