"""Launcher fixtures: a private LAUNCHER_HOME, settings, and the store on SQLite and PostgreSQL.

PostgreSQL is a real server from the distribution's packages (``apt-get install postgresql``;
``.ci/run`` does it): one throwaway cluster per test session, initdb'd into a temp dir, listening
on a free port on 127.0.0.1 with its socket in that dir, stopped by its PID at the end. Each test
gets a fresh database in it. A missing server fails loudly; it is never skipped.

Fixtures:
- ``launcher_home``: a temp LAUNCHER_HOME (autouse: every launcher test gets its own, and no
  LAUNCHER_* variable from the caller's shell leaks in).
- ``settings``: Settings on that home, storage root ``<tmp>/data``.
- ``pg_server``: the session's PostgreSQL (``.url(db)``, ``.create_database()``).
- ``db_url``: a fresh empty database, parametrized ``sqlite`` / ``postgresql``.
- ``engine`` (upgraded to head), ``session_factory``, ``session``: on ``db_url``.
- ``make_user``: creates users (with a token) in the test's store.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_INSTALL_HINT = ("install the PostgreSQL server: `apt-get install -y postgresql` "
                   "(Debian/Ubuntu; .ci/run does this), or put initdb and pg_ctl on PATH")


# -- home and settings ----------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def launcher_home(tmp_path, monkeypatch) -> Path:
    for name in list(os.environ):
        if name.upper().startswith("LAUNCHER_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("LAUNCHER_HOME", str(home))
    return home


@pytest.fixture
def storage_root(tmp_path) -> Path:
    root = tmp_path / "data"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture
def settings(launcher_home, storage_root):
    from launcher.settings import load_settings

    s = load_settings(home=launcher_home, storage_roots=[str(storage_root)])
    s.ensure_dirs()
    return s


# -- PostgreSQL -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bindir() -> Path | None:
    for exe in ("pg_ctl", "initdb"):
        found = shutil.which(exe)
        if found and Path(found).with_name("initdb").exists() and Path(found).with_name("pg_ctl").exists():
            return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    socket_dir: Path
    pid: int
    _counter = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_postgres_user() -> tuple[list[str], int | None]:
    """PostgreSQL refuses to run as root: run its programs as the 'postgres' account then."""
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        pytest.fail("running as root and there is no 'postgres' account to run the server as; "
                    + PG_INSTALL_HINT, pytrace=False)
    return ["runuser", "-u", "postgres", "--"], uid


@pytest.fixture(scope="session")
def pg_server():
    bindir = pg_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found; " + PG_INSTALL_HINT,
                    pytrace=False)
    prefix, uid = _as_postgres_user()
    base = Path(tempfile.mkdtemp(prefix="launcher-pg-"))
    if uid is not None:
        os.chown(base, uid, -1)
    data, log = base / "data", base / "server.log"
    user = "launcher"
    init = subprocess.run(
        prefix + [str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions"],
        capture_output=True, text=True)
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"initdb failed ({init.returncode}): {init.stderr.strip()}", pytrace=False)
    port = free_port()
    # Durability off: a test cluster is thrown away, and fsync costs seconds on a shared disk.
    opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    start = subprocess.run(prefix + [str(bindir / "pg_ctl"), "start", "-D", str(data), "-w", "-t", "60",
                                     "-l", str(log), "-o", opts],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if start.returncode != 0:
        detail = log.read_text() if log.exists() else start.stderr
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start on port {port}: {detail.strip()[-2000:]}", pytrace=False)
    pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    try:
        yield PgServer(host="127.0.0.1", port=port, user=user, socket_dir=base, pid=pid)
    finally:
        _stop_pid(pid)
        shutil.rmtree(base, ignore_errors=True)


def _stop_pid(pid: int, timeout: float = 30.0) -> None:
    """SIGINT = PostgreSQL's fast shutdown; SIGKILL if it is still there after ``timeout``."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# -- store ----------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def engine(db_url):
    from launcher.store.db import make_engine, upgrade

    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine):
    from launcher.store.db import session_factory as make_factory

    return make_factory(engine)


@pytest.fixture
def session(session_factory):
    s = session_factory()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def make_user(session_factory):
    """make_user(name, admin=False) -> (user_id, token secret), committed."""
    from launcher import auth
    from launcher.store import repo_users

    def make(name: str, admin: bool = False, lifetime_seconds: int | None = None):
        with session_factory() as s:
            user = repo_users.create_user(s, name, is_admin=admin)
            issued = auth.create_token(s, user, lifetime_seconds=lifetime_seconds)
            s.commit()
            return user.id, issued.secret

    return make
