"""API errors: one small hierarchy, the HTTP status on each class, one shape on the wire.

Every error answer is ``{"exception": {"name", "message", "details"}}``. Code anywhere (routes,
the translator, auth) raises one of these classes; ``install(app)`` maps them, FastAPI's request
validation errors, Starlette's HTTP errors and anything unexpected to that shape. A client's
mistake is never a 500, and a 500 never shows a traceback.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

log = logging.getLogger("launcher.api")


class ApiError(Exception):
    status: int = 500
    name: str = "InternalError"

    def __init__(self, message: str, details: Any = None, *, name: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if name:
            self.name = name
        self.headers = headers or {}

    def body(self) -> dict:
        return {"exception": {"name": self.name, "message": self.message, "details": self.details}}


class BadRequest(ApiError):
    status, name = 400, "ValidationFailed"


class ProfilingDataNotFound(BadRequest):
    name = "ProfilingDataNotFound"


class Unauthorized(ApiError):
    status, name = 401, "AuthenticationFailed"

    def __init__(self, message: str, details: Any = None, **kw: Any):
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, details, **kw)


class Forbidden(ApiError):
    status, name = 403, "Forbidden"


class PathNotAllowed(Forbidden):
    name = "PathNotAllowed"


class NotFound(ApiError):
    status, name = 404, "NotFound"


class MethodNotAllowed(ApiError):
    status, name = 405, "MethodNotAllowed"


class Conflict(ApiError):
    status, name = 409, "Conflict"


class PayloadTooLarge(ApiError):
    status, name = 413, "PayloadTooLarge"


class UnsupportedMediaType(ApiError):
    status, name = 415, "UnsupportedMediaType"


class TooManyRequests(ApiError):
    status, name = 429, "TooManyRequests"


class ServiceUnavailable(ApiError):
    status, name = 503, "ServiceUnavailable"


_BY_STATUS = {c.status: c for c in (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed,
                                    Conflict, PayloadTooLarge, UnsupportedMediaType,
                                    TooManyRequests, ServiceUnavailable)}


def for_status(status: int, message: str) -> ApiError:
    cls = _BY_STATUS.get(status)
    if cls is None:
        err = ApiError(message)
        err.status = status
        return err
    return cls(message)


# -- validation errors -> one readable message ----------------------------------------------

def field_path(loc: Iterable[Any]) -> str:
    """('overrides', 'writesettings', 0, 'format') -> 'overrides.writesettings[0].format'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(errors: Sequence[dict], accepted_fields: Any = None) -> tuple[str, list[dict]]:
    """Pydantic/FastAPI error dicts -> (message, details) naming each field.

    ``accepted_fields(loc) -> list[str] | None`` lists the fields an object at ``loc`` takes, so
    an unknown field's message says what is accepted.
    """
    details, parts = [], []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        field = field_path(loc) or "body"
        item: dict[str, Any] = {"field": field}
        if kind == "extra_forbidden":
            accepted = accepted_fields(loc[:-1]) if accepted_fields else None
            msg = "unknown field"
            if accepted:
                msg += "; accepted: " + ", ".join(accepted)
                item["accepted"] = accepted
        elif kind == "missing":
            msg = "required"
        elif kind == "json_invalid":
            field = item["field"] = "body"
            msg = "the body is not valid JSON: " + str(err.get("ctx", {}).get("error", err.get("msg")))
        else:
            msg = str(err.get("msg", "invalid"))
            # pydantic's "Value error, ..." prefix says nothing to a client.
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            expected = (err.get("ctx") or {}).get("expected")
            if expected:
                item["accepted"] = expected
            if "input" in err and kind not in ("json_invalid",) and not isinstance(err["input"], (dict, list)):
                msg += f", got {_short(err['input'])}"
        item["message"] = msg
        details.append(item)
        parts.append(f"{field}: {msg}")
    return "; ".join(parts), details


def bad_request_from(errors: Sequence[dict], accepted_fields: Any = None) -> BadRequest:
    message, details = describe(errors, accepted_fields)
    return BadRequest(message, details)
