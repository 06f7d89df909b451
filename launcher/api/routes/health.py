"""``GET /health``: the one endpoint without a token; says whether the store answers."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from launcher.api.context import AppContext, ctx

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and store check (no token needed)")
def health(c: AppContext = Depends(ctx)):
    try:
        with c.sessions() as s:
            s.execute(text("SELECT 1"))
        store = "ok"
    except Exception as e:  # noqa: BLE001 - reported, not raised
        store = f"unavailable: {type(e).__name__}"
    envs = {}
    for name, env in getattr(c.dispatcher, "environments", {}).items():
        ready = getattr(env, "ready", None)
        envs[name] = "ready" if ready is None or (ready() if callable(ready) else ready) else "starting"
    body = {"status": "ok" if store == "ok" else "degraded", "store": store, "environments": envs}
    return JSONResponse(body, status_code=200 if store == "ok" else 503)
