"""Engines, sessions and schema upgrades for the store.

``make_engine(url)`` -> ``session_factory(engine)`` -> ``with session_scope(factory) as s: ...``.
``upgrade(engine)`` brings the schema to the newest alembic revision; the server calls it at
start and the test fixtures call it on every fresh database. No alembic.ini is needed: the
migration scripts ship inside this package.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision id (a test holds it equal to alembic's head). Lets upgrade()
# see "nothing to do" with one query instead of loading alembic on every CLI call.
HEAD = "0001"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# An arbitrary constant: the PostgreSQL advisory lock id that serialises concurrent upgrades.
_PG_UPGRADE_LOCK = 0x1A7C4E5


def normalise_url(url: str | URL) -> URL:
    """PostgreSQL URLs without a driver use psycopg 3 (the driver we install)."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def make_engine(url: str | URL, **kwargs) -> Engine:
    u = normalise_url(url)
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(u, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(u, **kwargs)


def _sqlite_engine(u: URL, **kwargs) -> Engine:
    if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = kwargs.pop("connect_args", {})
    # Threads of one server share the pool; sqlite3's own wait before "database is locked".
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("factory", WriteQueueConnection)
    write_lock = _write_lock_for(u.database or ":memory:")
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(u, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        try:
            # WAL: readers never wait for the writer; NORMAL sync is safe with WAL.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cur.close()
        if isinstance(dbapi_conn, WriteQueueConnection):
            dbapi_conn.write_lock = write_lock

    return engine


# -- one writer at a time, queued in this process ----------------------------------------------
# SQLite lets one connection write at a time; the others wait in sqlite3's busy handler, which
# sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries. Under load (the dispatcher's status
# writes beside POSTs) those sleeps, not the writes, were most of a POST's time. Threads of one
# process therefore queue for a lock before their first write and get it the moment the
# previous writer commits; other processes (the CLI) still meet the busy handler.

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()
_WRITES = ("insert", "update", "delete", "replace", "begin")


def _write_lock_for(database: str) -> threading.Lock:
    key = database if database == ":memory:" else str(Path(database).expanduser().resolve())
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


class _WriteQueueCursor(sqlite3.Cursor):
    def execute(self, sql, parameters=(), /):
        self.connection.before_statement(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql, parameters, /):
        self.connection.before_statement(sql)
        return super().executemany(sql, parameters)


class WriteQueueConnection(sqlite3.Connection):
    """A sqlite3 connection that takes its database's process-wide write lock before the first
    write of a transaction and gives it back when the transaction ends."""

    write_lock: threading.Lock | None = None
    _holding = False

    def cursor(self, factory=_WriteQueueCursor):
        return super().cursor(factory)

    def before_statement(self, sql: str) -> None:
        if self._holding or self.write_lock is None:
            return
        if sql.lstrip()[:7].lower().startswith(_WRITES):
            # A plain Lock, not an RLock: a transaction may end on another thread than it began
            # (the pool resets connections). The timeout is the busy handler's: a writer that
            # waited that long goes on and lets SQLite decide, rather than hang.
            self._holding = self.write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: the API answers from them once the work is saved.
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the alembic migrations up to ``revision``; safe when several processes call it."""
    if revision == "head" and _stored_revision(engine) == HEAD:
        return
    from alembic import command

    with engine.connect() as conn:
        _lock_for_upgrade(conn)
        command.upgrade(alembic_config(conn), revision)
        conn.commit()


def _stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # no table yet (a new database): let alembic create everything
        return None
    return rows[0] if len(rows) == 1 else None


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.connect() as conn:
        _lock_for_upgrade(conn)
        command.downgrade(alembic_config(conn), revision)
        conn.commit()


def _lock_for_upgrade(conn) -> None:
    # Two launchers starting at once must not both create the tables.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_UPGRADE_LOCK})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
