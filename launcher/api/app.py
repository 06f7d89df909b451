"""The API application: ``create_app(settings, dispatcher=None) -> FastAPI``.

Builds the store (migrated to head) and, unless one is given, the environments and a
Dispatcher, which starts with the app and stops with it. Every answer carries X-Request-Id;
bodies over ``settings.max_body_bytes`` get 413 and non-JSON bodies 415 before any route runs;
every error has the ``{"exception": {...}}`` shape (``launcher.api.errors``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from launcher.api import errors
from launcher.api.context import AppContext
from launcher.api.errors import ApiError, PayloadTooLarge, UnsupportedMediaType
from launcher.api.routes import (
    api_document,
    api_tokens,
    health,
    imported_datasets,
    job_groups,
    jobs,
    wrangled_datasets,
)
from launcher.api.schemas import BODY_MODELS, accepted_fields

log = logging.getLogger("launcher.api")

REQUEST_ID = "x-request-id"
# A client's own request id is kept when it is short and plain; anything else gets a new one.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_FORM_PATHS = {"/login"}


def create_app(settings: Any = None, dispatcher: Any = None, *, spark: Any = None, seed: bool = False,
               base_dir: str | None = None) -> FastAPI:
    """The launcher's API.

    ``dispatcher``: one to use (its owner starts and stops it); None builds the environments
    (``spark``: a SparkSession photon should share) and a Dispatcher the app starts and stops.
    ``seed``: register the examples/ demo data on the first start (``launcher serve`` does).
    """
    from launcher.store.db import make_engine, session_factory, upgrade

    if settings is None:
        from launcher.settings import load_settings

        settings = load_settings()
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    own_dispatcher = dispatcher is None
    if own_dispatcher:
        from launcher.dispatch import Dispatcher
        from launcher.environments import build_environments

        dispatcher = Dispatcher(settings, sessions, build_environments(settings, spark=spark))
    if seed:
        from launcher.seed import seed_if_first_start

        seed_if_first_start(settings, sessions)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        if own_dispatcher:
            dispatcher.start()
        try:
            yield
        finally:
            if own_dispatcher:
                dispatcher.stop()
                for env in getattr(dispatcher, "environments", {}).values():
                    close = getattr(env, "close", None)
                    if callable(close):
                        with contextlib.suppress(Exception):
                            close()
            engine.dispose()

    app = FastAPI(
        title="Spark job groups launcher",
        version="1.0",
        description="Trifacta / Designer Cloud style job groups (POST /v3/jobGroups, /v4/jobGroups) "
                    "on Spark and Databricks. Every endpoint but GET /health needs "
                    "`Authorization: Bearer <token>`.",
        lifespan=lifespan,
        # Served by routes/api_document.py, behind a token; no Swagger UI (its script is on a CDN).
        openapi_url=None, docs_url=None, redoc_url=None,
    )
    app.state.ctx = AppContext(settings=settings, sessions=sessions, dispatcher=dispatcher,
                               base_dir=base_dir or os.getcwd())
    app.state.engine = engine
    install_error_handlers(app)
    for module in (health, job_groups, jobs, imported_datasets, wrangled_datasets, api_tokens, api_document):
        app.include_router(module.router)
    _include_pages(app)
    app.add_middleware(RequestGuard, max_body_bytes=int(settings.max_body_bytes))
    app.openapi = lambda: _openapi(app)
    return app


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"exception": {"type": "object", "properties": {
        "name": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        "required": ["name", "message", "details"]}},
    "required": ["exception"],
}


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document, saying what the API really answers: 400 (never 422) and 401, in the
    {"exception": ...} shape."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in doc.get("paths", {}).items():
        for op in operations.values():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            responses.setdefault("400", {"description": "ValidationFailed: the request breaks a rule; "
                                                        "the message names the field", **error})
            if path != "/health":
                responses.setdefault("401", {"description": "AuthenticationFailed: missing, unknown or "
                                                            "expired token", **error})
    doc["components"]["schemas"].pop("HTTPValidationError", None)
    doc["components"]["schemas"].pop("ValidationError", None)
    app.openapi_schema = doc
    return doc


def _include_pages(app: FastAPI) -> None:
    """The HTML pages (Job Results, profile) when that package offers a router."""
    for name in ("launcher.pages.routes", "launcher.pages"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
            return


# -- errors ---------------------------------------------------------------------------------------

def _request_id(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex


def _error_response(request: Request, err: ApiError) -> JSONResponse:
    headers = {**err.headers, "X-Request-Id": _request_id(request)}
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


def _body_model(request: Request):
    """The body model of the route that answered, for listing accepted fields."""
    route = request.scope.get("route")
    body_field = getattr(getattr(route, "dependant", None), "body_params", None)
    if body_field:
        annotation = getattr(body_field[0].field_info, "annotation", None)
        if annotation in BODY_MODELS:
            return annotation
    return None


def _strip_source(loc: tuple) -> tuple:
    # ("body", "overrides", ...) -> ("overrides", ...): clients know fields, not FastAPI's sources.
    return tuple(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") and len(loc) > 1 else tuple(loc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        model = _body_model(request)
        errs = []
        for e in exc.errors():
            e = dict(e)
            e["loc"] = _strip_source(tuple(e.get("loc", ())))
            errs.append(e)
        accepted = (lambda loc: accepted_fields(model, loc)) if model else None
        return _error_response(request, errors.bad_request_from(errs, accepted))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        err = errors.for_status(exc.status_code, message)
        if exc.headers:
            err.headers.update(exc.headers)
        return _error_response(request, err)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        rid = _request_id(request)
        log.error("request %s %s %s failed", rid, request.method, request.url.path, exc_info=exc)
        return _error_response(request, ApiError(
            f"the launcher failed on this request (request id {rid}); the details are in its log"))


# -- request guard (pure ASGI: cheaper than BaseHTTPMiddleware on every request) --------------

class RequestGuard:
    """Request ids on every answer; 413 for bodies over the limit; 415 for non-JSON bodies."""

    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        given = headers.get(REQUEST_ID, "")
        rid = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        rid_header = (b"x-request-id", rid.encode())
        began = time.perf_counter()

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message["headers"].append(rid_header)
                # The server's own share of the answer time, to tell it from the network's and
                # the client's (the latency benchmark reads it).
                took = f"app;dur={1000 * (time.perf_counter() - began):.1f}"
                message["headers"].append((b"server-timing", took.encode()))
            await send(message)

        if scope["method"] in _BODY_METHODS:
            problem = self._check(headers, scope.get("path", ""))
            if problem is None:
                body, over, finished = await _read_body(receive, self.max_body)
                if over:
                    problem = _too_large(self.max_body, None)
                else:
                    receive = _replay(body, receive)
            else:
                finished = headers.get("content-length") == "0"
            if problem is not None:
                if not finished:
                    await _drain(receive)
                await _send_error(send_with_id, problem)
                return
        await self.app(scope, receive, send_with_id)

    def _check(self, headers: dict[str, str], path: str = "") -> ApiError | None:
        length = headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return errors.BadRequest("Content-Length: not a number", [{"field": "Content-Length"}])
            if n > self.max_body:
                return _too_large(self.max_body, n)
            if n == 0:
                return None
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        # The pages' login form (launcher/pages) is the one place an HTML form posts.
        form_ok = path in _FORM_PATHS and ctype == "application/x-www-form-urlencoded"
        if ctype and not form_ok and not (ctype == "application/json" or ctype.endswith("+json")):
            return UnsupportedMediaType(
                f"Content-Type: send the body as application/json, not {ctype}",
                [{"field": "Content-Type", "accepted": ["application/json"]}])
        return None


async def _read_body(receive, limit: int) -> tuple[bytes, bool, bool]:
    """(body, over the limit, the whole body was read): stops as soon as it passes ``limit``.

    Read here, not in the route, so that a chunked body without Content-Length gets the same
    413 as one that announces its size."""
    chunks, seen = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False, True
        chunk = message.get("body", b"")
        seen += len(chunk)
        more = bool(message.get("more_body"))
        if seen > limit:
            return b"", True, not more
        chunks.append(chunk)
        if not more:
            return b"".join(chunks), False, True


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: http.disconnect when the client goes

    return replay


def _too_large(limit: int, n: int | None) -> PayloadTooLarge:
    size = f"{n} bytes" if n is not None else "more"
    return PayloadTooLarge(f"the body is {size}; the limit is {limit} bytes (settings.max_body_bytes)",
                           {"limit": limit})


async def _drain(receive) -> None:
    """Read what the client sends (up to a bound) so it gets the answer, not a reset connection."""
    budget = 64 * 1024 * 1024
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body"):
            return


async def _send_error(send, err: ApiError) -> None:
    body = json.dumps(err.body()).encode()
    await send({"type": "http.response.start", "status": err.status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            *[(k.lower().encode(), v.encode()) for k, v in err.headers.items()]]})
    await send({"type": "http.response.body", "body": body})
