"""Shared pieces of the API tests: the app on a temp LAUNCHER_HOME with the real Dispatcher and
photon sharing the test session's SparkSession, users with tokens, demo data, waiting helpers.

Imported by the test_api*.py modules (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "data"
TERMINAL = ("Complete", "Failed", "Canceled")


@dataclass
class Api:
    """A TestClient plus the tokens of the test's users."""

    client: object
    app: object
    root: Path  # the users' storage root
    tokens: dict[str, str] = field(default_factory=dict)

    def h(self, user: str | None = "alice", **extra: str) -> dict:
        headers = dict(extra)
        if user is not None:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        return headers

    def get(self, path, user="alice", **kw):
        return self.client.get(path, headers=self.h(user), **kw)

    def post(self, path, body=None, user="alice", headers=None, **kw):
        return self.client.post(path, json=body, headers={**self.h(user), **(headers or {})}, **kw)

    def put(self, path, body=None, user="alice", **kw):
        return self.client.put(path, json=body, headers=self.h(user), **kw)

    @property
    def sessions(self):
        return self.app.state.ctx.sessions

    def ok(self, response, status=200):
        assert response.status_code == status, (response.status_code, response.text)
        return response.json()

    # -- objects ----------------------------------------------------------------------------------
    def imported(self, path: Path | str, user="alice", name=None, **kw) -> int:
        body = {"name": name or Path(path).name, "uri": str(path), **kw}
        return self.ok(self.post("/v4/importedDatasets", body, user), 201)["id"]

    def wrangled(self, imported_id: int | None = None, recipe=None, user="alice", name="w",
                 wrangled_id: int | None = None) -> int:
        body = {"name": name, "recipe": recipe or []}
        if wrangled_id is not None:
            body["wrangledDataset"] = {"id": wrangled_id}
        else:
            body["importedDataset"] = {"id": imported_id}
        return self.ok(self.post("/v4/wrangledDatasets", body, user), 201)["id"]

    def wait(self, group_id: int, user="alice", timeout=180.0, until=TERMINAL) -> str:
        deadline = time.monotonic() + timeout
        while True:
            status = self.ok(self.get(f"/v4/jobGroups/{group_id}/status", user))
            if status in until:
                return status
            if time.monotonic() > deadline:
                group = self.get(f"/v4/jobGroups/{group_id}?embed=jobs", user).json()
                raise AssertionError(f"job group {group_id} still {status} after {timeout} s: {group}")
            time.sleep(0.05)


def add_user(sessions, name: str, admin: bool = False, lifetime_seconds: int | None = None) -> str:
    """A user (created if missing) and a new token of theirs, saved through ``sessions``."""
    from launcher import auth
    from launcher.store import repo_users

    with sessions() as s:
        user = repo_users.get_user_by_name(s, name) or repo_users.create_user(s, name, is_admin=admin)
        secret = auth.create_token(s, user, lifetime_seconds=lifetime_seconds).secret
        s.commit()
    return secret


def expire_token(sessions, secret: str) -> None:
    """Move a token's expiry into the past (as if its lifetime had run out)."""
    from launcher import auth
    from launcher.store import repo_users
    from launcher.store.models import utcnow

    with sessions() as s:
        token = repo_users.find_token(s, auth.token_hash(secret))
        token.expires_at = utcnow() - timedelta(seconds=1)
        s.commit()


def make_settings(home: Path, roots: list[str], **kw):
    from launcher.settings import load_settings

    s = load_settings(home=home, storage_roots=roots, **kw)
    s.ensure_dirs()
    return s


@contextlib.contextmanager
def running_api(tmp: Path, home: Path, spark):
    """The app with the real Dispatcher; photon shares the test session's SparkSession.

    Users admin, alice and bob; storage root ``tmp/data`` holding orders.csv and customers.csv;
    relative paths resolve against ``tmp``."""
    from fastapi.testclient import TestClient

    from launcher.api.app import create_app

    root = tmp / "data"
    root.mkdir()
    shutil.copy(EXAMPLES / "orders.csv", root / "orders.csv")
    shutil.copy(EXAMPLES / "customers.csv", root / "customers.csv")
    settings = make_settings(home, [str(root)])
    app = create_app(settings, spark=spark, base_dir=str(tmp))
    with TestClient(app) as client:
        a = Api(client=client, app=app, root=root)
        sessions = app.state.ctx.sessions
        a.tokens["admin"] = add_user(sessions, "admin", admin=True)
        a.tokens["alice"] = add_user(sessions, "alice")
        a.tokens["bob"] = add_user(sessions, "bob")
        yield a


@pytest.fixture
def api(tmp_path, spark, launcher_home):
    with running_api(tmp_path, launcher_home, spark) as a:
        yield a


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory, spark):
    """One app for a module whose tests save nothing (bad requests)."""
    tmp = tmp_path_factory.mktemp("shared-api")
    with running_api(tmp, tmp / "home", spark) as a:
        yield a


def read_csv_rows(path: Path, delimiter=",") -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f, delimiter=delimiter))


def orders() -> tuple[list[str], list[list[str]]]:
    rows = read_csv_rows(EXAMPLES / "orders.csv")
    return rows[0], rows[1:]


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Uvicorn:
    """A real uvicorn server on 127.0.0.1 in a thread of this process (stopped by the test)."""

    def __init__(self, app, port: int | None = None):
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)
