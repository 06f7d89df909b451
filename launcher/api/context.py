"""What every route needs: the app's context (settings, store, dispatcher), the caller, a session.

Routes are plain ``def`` functions (FastAPI runs them on its thread pool): the store is
synchronous SQLAlchemy, and a request never waits on Spark.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from launcher import auth
from launcher.store.models import User


@dataclass
class AppContext:
    settings: Any
    sessions: sessionmaker
    dispatcher: Any
    # Relative paths in requests are resolved against where the launcher runs.
    base_dir: str = field(default_factory=os.getcwd)

    def environment(self, name: str):
        return getattr(self.dispatcher, "environments", {}).get(name)


# ctx and db are async only so that FastAPI calls them on the event loop instead of handing each
# to its thread pool: neither waits on anything (a Session connects on first use).

async def ctx(request: Request) -> AppContext:
    return request.app.state.ctx


async def db(request: Request) -> AsyncIterator[Session]:
    """One session per request. Routes that write commit themselves, before they answer (a
    dependency's exit may run after the answer is sent); whatever is left is rolled back."""
    s: Session = request.app.state.ctx.sessions()
    try:
        yield s
    finally:
        s.close()


async def current_user(request: Request, s: Session = Depends(db)) -> User:
    """The token's user; 401 for a missing, unknown or expired token.

    Checked on the event loop (one indexed read) rather than on the thread pool: a route's
    dependency and the route each taking a thread hop was a third of a status poll's cost.
    The write of last_used_at (at most once a minute per token) goes to a thread.
    """
    user, token_id = auth.find_user(s, auth.bearer_secret(request.headers.get("authorization")))
    if token_id is not None:
        def record() -> None:
            auth.record_use(s, token_id)
            # Kept even if the route later fails.
            s.commit()

        await run_in_threadpool(record)
    else:
        s.commit()  # ends the read (nothing to write; objects stay loaded: expire_on_commit off)
    return user
