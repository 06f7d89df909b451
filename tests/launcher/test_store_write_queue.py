"""SQLite writers of one process queue for a lock instead of sleeping in sqlite3's busy handler."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from launcher.store.db import WriteQueueConnection, make_engine


def _engine(tmp_path, **kwargs):
    engine = make_engine(f"sqlite:///{tmp_path}/q.db", **kwargs)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE IF NOT EXISTS t (k INTEGER, v INTEGER)"))
    return engine


def _raw(conn) -> WriteQueueConnection:
    raw = conn.connection.dbapi_connection
    assert isinstance(raw, WriteQueueConnection)
    return raw


def test_a_write_transaction_holds_the_lock_until_it_ends_and_reads_never_take_it(tmp_path):
    engine = _engine(tmp_path)
    with engine.connect() as c:
        raw = _raw(c)
        c.execute(text("SELECT count(*) FROM t")).scalar()
        assert not raw.write_lock.locked()
        c.execute(text("INSERT INTO t VALUES (1, 1)"))
        assert raw.write_lock.locked()
        c.commit()
        assert not raw.write_lock.locked()
        c.execute(text("UPDATE t SET v = 2"))
        assert raw.write_lock.locked()
        c.rollback()
        assert not raw.write_lock.locked()
        assert c.execute(text("SELECT v FROM t")).scalar() == 1
    # One lock per database file, shared by every engine on it.
    other = make_engine(f"sqlite:///{tmp_path}/q.db")
    with engine.connect() as a, other.connect() as b:
        assert _raw(a).write_lock is _raw(b).write_lock


def test_a_second_writer_goes_the_moment_the_first_commits(tmp_path, factory=None):
    engine = _engine(tmp_path, **({"connect_args": {"factory": factory}} if factory else {}))
    first_wrote, release = threading.Event(), threading.Event()
    times: dict[str, float] = {}

    def first():
        with engine.connect() as c:
            c.execute(text("INSERT INTO t VALUES (1, 1)"))
            first_wrote.set()
            release.wait(10)
            times["first_commit"] = time.monotonic()
            c.commit()

    def second():
        first_wrote.wait(10)
        with engine.connect() as c:
            c.execute(text("INSERT INTO t VALUES (2, 2)"))
            times["second_wrote"] = time.monotonic()
            c.commit()

    a, b = threading.Thread(target=first), threading.Thread(target=second)
    a.start(), b.start()
    first_wrote.wait(10)
    time.sleep(0.35)  # the busy handler would next look at 428 ms (its sleeps: 1, 2, 5 ... 100 ms)
    assert "second_wrote" not in times  # queued behind the open write transaction
    release.set()
    a.join(10), b.join(10)
    waited = times["second_wrote"] - times["first_commit"]
    # Handed over at once, not at the busy handler's next wake-up (sleeps of up to 100 ms).
    assert 0 <= waited < 0.05, waited
    with engine.connect() as c:
        assert c.execute(text("SELECT k FROM t ORDER BY k")).scalars().all() == [1, 2]
