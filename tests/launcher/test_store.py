"""The store on real SQLite and real PostgreSQL: schema, constraints, repositories, races."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from launcher.store import db, repo_datasets, repo_jobs, repo_users
from launcher.store.models import Base, Job, JobEvent, JobGroup, Status
from launcher.store.repo_jobs import NewJob

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
TABLES = {"users", "api_tokens", "imported_datasets", "wrangled_datasets", "permissions",
          "job_groups", "jobs", "job_events"}


# -- schema ---------------------------------------------------------------------------------------

def test_upgrade_creates_exactly_the_models_schema(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    assert db.current_revision(engine) == db.head_revision() == db.HEAD
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_upgrade_twice_is_a_no_op_and_downgrade_drops_everything(engine):
    db.upgrade(engine)
    assert db.current_revision(engine) == "0001"
    db.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}


def test_sqlite_connection_settings(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")  # creates the folder
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    eng.dispose()


def test_postgres_urls_use_psycopg3():
    assert db.normalise_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert db.normalise_url("postgres://u@h/d").drivername == "postgresql+psycopg"
    assert db.normalise_url("sqlite:///x.db").drivername == "sqlite"


def test_foreign_keys_and_checks_are_enforced(session):
    session.add(Job(job_group_id=999, job_type="wrangle", status="Created", percent_complete=0))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    user = repo_users.create_user(session, "ann")
    ds = _wrangled(session, user.id)
    group = _group(session, user.id, ds.id)
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE job_groups SET status = 'Done' WHERE id = :i"), {"i": group.id})
    session.rollback()
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE jobs SET percent_complete = 101 WHERE job_group_id = :i"),
                        {"i": group.id})
    session.rollback()


def test_deleting_a_group_deletes_its_jobs_and_events(session):
    user = repo_users.create_user(session, "ann")
    ds = _wrangled(session, user.id)
    group = _group(session, user.id, ds.id)
    session.commit()
    session.execute(text("DELETE FROM job_groups WHERE id = :i"), {"i": group.id})
    session.commit()
    assert session.scalar(select(Job).where(Job.job_group_id == group.id)) is None
    assert session.scalar(select(JobEvent).where(JobEvent.job_group_id == group.id)) is None


def test_ids_are_never_reused_after_a_delete(session):
    user = repo_users.create_user(session, "ann")
    ds = _wrangled(session, user.id)
    first = _group(session, user.id, ds.id)
    session.commit()
    first_id = first.id
    session.execute(text("DELETE FROM job_groups WHERE id = :i"), {"i": first_id})
    session.commit()
    assert _group(session, user.id, ds.id).id > first_id


def test_timestamps_are_utc_and_aware(session):
    ist = timezone(timedelta(hours=5, minutes=30))
    user = repo_users.create_user(session, "ann", now=T0.astimezone(ist))
    session.commit()
    session.expire_all()
    loaded = repo_users.get_user(session, user.id)
    assert loaded.created_at == T0
    assert loaded.created_at.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive datetime"):
        repo_users.create_user(session, "bob", now=datetime(2030, 1, 1))
    session.rollback()


def test_json_columns_round_trip(session):
    user = repo_users.create_user(session, "ann")
    steps = [{"op": "derive", "value": "IF(a == 'ü', 1, 2)", "as": "x"}, {"op": "drop", "col": ["a"]}]
    imp = repo_datasets.create_imported(session, user.id, "orders", "/d/o.csv", "csv",
                                        {"header": True, "delim": ";"})
    ds = repo_datasets.create_wrangled(session, user.id, "w", "imported", imp.id, steps)
    session.commit()
    session.expire_all()
    assert repo_datasets.get_wrangled(session, ds.id).recipe == steps
    assert repo_datasets.get_imported(session, imp.id).options == {"header": True, "delim": ";"}


# -- users ----------------------------------------------------------------------------------------

def test_user_names_are_unique(session):
    repo_users.create_user(session, "ann", is_admin=True)
    session.commit()
    with pytest.raises(repo_users.UserExists, match="'ann' already exists"):
        repo_users.create_user(session, "ann")
    assert [(u.name, u.is_admin) for u in repo_users.list_users(session)] == [("ann", True)]
    assert repo_users.get_user_by_name(session, "nobody") is None


# -- datasets -------------------------------------------------------------------------------------

def test_recipe_last_run_and_sharing(session):
    ann = repo_users.create_user(session, "ann")
    bob = repo_users.create_user(session, "bob")
    cy = repo_users.create_user(session, "cy")
    mine = _wrangled(session, ann.id)
    other = _wrangled(session, cy.id)
    repo_datasets.set_recipe(session, mine, [{"op": "keep"}], now=T0 + timedelta(hours=1))
    repo_datasets.set_last_run(session, mine, {"execution": "photon", "profiler": False,
                                               "writesettings": [{"path": "/o.csv"}]},
                               now=T0 + timedelta(hours=1))
    repo_datasets.grant(session, mine.id, bob.id, "viewer")
    repo_datasets.grant(session, mine.id, bob.id, "editor")  # a second grant changes the role
    session.commit()
    session.expire_all()
    got = repo_datasets.get_wrangled(session, mine.id)
    assert got.recipe == [{"op": "keep"}]
    assert got.updated_at == T0 + timedelta(hours=1)
    assert got.last_run["writesettings"] == [{"path": "/o.csv"}]
    assert [(p.user_id, p.role) for p in repo_datasets.permissions_of(session, mine.id)] == [(bob.id, "editor")]
    assert repo_datasets.shared_role(session, mine.id, bob.id) == "editor"
    assert repo_datasets.shared_role(session, mine.id, cy.id) is None
    # bob sees what is shared with him, cy only her own, an admin listing (None) all
    assert [d.id for d in repo_datasets.list_wrangled(session, bob.id)[0]] == [mine.id]
    assert [d.id for d in repo_datasets.list_wrangled(session, cy.id)[0]] == [other.id]
    assert [d.id for d in repo_datasets.list_wrangled(session, None)[0]] == [other.id, mine.id]
    with pytest.raises(ValueError, match="role must be one of viewer, editor"):
        repo_datasets.grant(session, mine.id, cy.id, "owner")
    assert repo_datasets.revoke(session, mine.id, bob.id) is True
    assert repo_datasets.revoke(session, mine.id, bob.id) is False


def test_list_imported_pages_newest_first(session):
    ann = repo_users.create_user(session, "ann")
    ids = [repo_datasets.create_imported(session, ann.id, f"d{i}", f"/d/{i}.csv", "csv").id
           for i in range(5)]
    rows, count = repo_datasets.list_imported(session, ann.id, limit=2, offset=1)
    assert count == 5
    assert [r.id for r in rows] == [ids[3], ids[2]]


def test_ids_no_row_can_have_find_nothing(session):
    # A client may send any number as an id; beyond the INTEGER columns' range the database
    # would raise (SQLite OverflowError, PostgreSQL "integer out of range") instead of finding
    # nothing.
    ann = repo_users.create_user(session, "ann")
    ds = repo_datasets.create_imported(session, ann.id, "d", "/d.csv", "csv")
    for huge in (2**31, 2**63, 2**70):
        assert repo_datasets.get_imported(session, huge) is None
        assert repo_datasets.get_wrangled(session, huge) is None
        assert repo_datasets.get_imported_many(session, [huge, ds.id]) == {ds.id: ds}
        assert repo_jobs.get_job_group(session, huge) is None
        assert repo_jobs.get_job_group(session, huge, with_jobs=True) is None
        assert repo_jobs.get_job(session, huge) is None
        assert repo_users.get_user(session, huge) is None
        assert repo_users.get_token(session, huge) is None
        assert repo_jobs.list_job_groups(session, limit=10, offset=huge) == ([], 0)
        assert repo_datasets.list_imported(session, offset=huge, limit=huge) == ([], 1)
    session.rollback()  # the session is still usable: nothing failed in the database


# -- job groups -----------------------------------------------------------------------------------

def test_create_job_group_saves_group_jobs_and_created_events(session):
    ann = repo_users.create_user(session, "ann")
    ds = _wrangled(session, ann.id)
    ws = {"path": "/o/x.csv", "action": "create", "format": "csv"}
    group = repo_jobs.create_job_group(
        session, creator_id=ann.id, wrangled_dataset_id=ds.id, execution="photon",
        profiling_enabled=True, ranfrom="cli", request={"wrangledDataset": {"id": ds.id}},
        idempotency_key="k1", now=T0,
        jobs=[NewJob("wrangle"), NewJob("filewriter", ws, "/o/x_1.csv"), NewJob("profile")])
    session.commit()
    session.expire_all()
    got = repo_jobs.get_job_group(session, group.id, with_jobs=True)
    assert (got.status, got.execution, got.ranfrom, got.profiling_enabled) == ("Created", "photon", "cli", True)
    assert len(got.session_id) == 36
    assert [(j.job_type, j.status, j.percent_complete, j.write_setting, j.output_path) for j in got.jobs] == [
        ("wrangle", "Created", 0, None, None),
        ("filewriter", "Created", 0, ws, "/o/x_1.csv"),
        ("profile", "Created", 0, None, None)]
    events = repo_jobs.events_of(session, group.id)
    assert [(e.job_id, e.status, e.at) for e in events] == [
        (None, "Created", T0)] + [(j.id, "Created", T0) for j in got.jobs]
    assert repo_jobs.find_by_idempotency_key(session, ann.id, "k1").id == group.id
    assert repo_jobs.find_by_idempotency_key(session, ann.id, "k2") is None
    with pytest.raises(ValueError, match="job_type must be one of"):
        repo_jobs.create_job_group(session, creator_id=ann.id, wrangled_dataset_id=ds.id,
                                   execution="photon", jobs=[NewJob("transform")])
    session.rollback()


def test_idempotency_key_is_unique_per_creator(session):
    ann = repo_users.create_user(session, "ann")
    bob = repo_users.create_user(session, "bob")
    ds = _wrangled(session, ann.id)
    _group(session, ann.id, ds.id, idempotency_key="same")
    _group(session, bob.id, ds.id, idempotency_key="same")  # another user may use the same key
    _group(session, ann.id, ds.id)  # no key: any number
    _group(session, ann.id, ds.id)
    session.commit()
    with pytest.raises(IntegrityError):
        _group(session, ann.id, ds.id, idempotency_key="same")
    session.rollback()


def test_status_changes_record_events_and_times(session):
    ann = repo_users.create_user(session, "ann")
    group = _group(session, ann.id, _wrangled(session, ann.id).id)
    wrangle = group.jobs[0]
    t = [T0 + timedelta(seconds=i) for i in range(10)]
    assert repo_jobs.set_group_status(session, group, Status.PENDING, now=t[1])
    assert repo_jobs.set_group_status(session, group, "InProgress", now=t[2])
    assert not repo_jobs.set_group_status(session, group, "InProgress", now=t[3])  # no repeat
    assert repo_jobs.set_job_status(session, wrangle, "InProgress", percent_complete=40, now=t[3])
    assert repo_jobs.set_job_status(session, wrangle, "Complete", now=t[4])
    assert repo_jobs.set_group_status(session, group, "Failed", message="writer broke", now=t[5])
    # terminal is final
    assert not repo_jobs.set_group_status(session, group, "Complete", now=t[6])
    assert not repo_jobs.set_job_status(session, wrangle, "Failed", now=t[6])
    session.commit()
    session.expire_all()
    g = repo_jobs.get_job_group(session, group.id, with_jobs=True)
    assert (g.status, g.error_message, g.started_at, g.finished_at) == ("Failed", "writer broke", t[2], t[5])
    w = g.jobs[0]
    assert (w.status, w.percent_complete, w.started_at, w.finished_at) == ("Complete", 100, t[3], t[4])
    events = [(e.job_id, e.status, e.message, e.at) for e in repo_jobs.events_of(session, group.id)]
    assert events[len(g.jobs) + 1:] == [
        (None, "Pending", None, t[1]), (None, "InProgress", None, t[2]),
        (w.id, "InProgress", None, t[3]), (w.id, "Complete", None, t[4]),
        (None, "Failed", "writer broke", t[5])]


def test_expected_status_guards_a_transition(session):
    ann = repo_users.create_user(session, "ann")
    group = _group(session, ann.id, _wrangled(session, ann.id).id)
    assert not repo_jobs.set_group_status(session, group, "InProgress", expected=["Pending"])
    assert group.status == "Created"
    assert repo_jobs.set_group_status(session, group, "Pending", expected=["Created"])
    assert group.status == "Pending"


def test_finish_unfinished_jobs(session):
    ann = repo_users.create_user(session, "ann")
    group = _group(session, ann.id, _wrangled(session, ann.id).id, n_writers=2)
    repo_jobs.set_job_status(session, group.jobs[0], "Complete")
    changed = repo_jobs.finish_unfinished_jobs(session, group, "Failed", "the driver died")
    assert [j.id for j in changed] == [j.id for j in group.jobs[1:]]
    session.expire_all()
    assert [(j.status, j.error_message) for j in repo_jobs.jobs_of(session, group.id)] == [
        ("Complete", None), ("Failed", "the driver died"), ("Failed", "the driver died")]


def test_a_stale_session_cannot_undo_a_cancel(session_factory):
    with session_factory() as s:
        ann = repo_users.create_user(s, "ann")
        gid = _group(s, ann.id, _wrangled(s, ann.id).id).id
        s.commit()
    dispatcher, api = session_factory(), session_factory()
    try:
        g_dispatcher = repo_jobs.get_job_group(dispatcher, gid)  # loaded while Created
        dispatcher.commit()
        g_api = repo_jobs.get_job_group(api, gid)
        assert repo_jobs.set_group_status(api, g_api, "Canceled", message="canceled by ann")
        api.commit()
        assert not repo_jobs.set_group_status(dispatcher, g_dispatcher, "Complete")
        dispatcher.commit()
        assert g_dispatcher.status == "Canceled"
    finally:
        dispatcher.close()
        api.close()


def test_concurrent_writers_from_threads(session_factory):
    """Many threads creating and moving groups at once: nothing lost, no 'database is locked'."""
    with session_factory() as s:
        ann = repo_users.create_user(s, "ann")
        ds_id = _wrangled(s, ann.id).id
        s.commit()
        ann_id = ann.id
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(10):
                with db.session_scope(session_factory) as s:
                    g = _group(s, ann_id, ds_id)
                with db.session_scope(session_factory) as s:
                    g = repo_jobs.get_job_group(s, g.id)
                    repo_jobs.set_group_status(s, g, "Pending")
                    repo_jobs.set_group_status(s, g, "Complete")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as s:
        rows, count = repo_jobs.list_job_groups(s, ann_id)
        assert count == 60
        assert {g.status for g in rows} == {"Complete"}
        assert len(s.scalars(select(JobEvent).where(JobEvent.job_id.is_(None))).all()) == 180


def test_list_and_recovery_queries(session):
    ann = repo_users.create_user(session, "ann")
    bob = repo_users.create_user(session, "bob")
    ds = _wrangled(session, ann.id)
    a1 = _group(session, ann.id, ds.id, ranfrom="cli")
    b1 = _group(session, bob.id, ds.id, execution="spark")
    a2 = _group(session, ann.id, ds.id)
    repo_jobs.set_group_status(session, a1, "Pending")
    repo_jobs.set_group_status(session, b1, "InProgress")
    session.commit()
    assert _ids(repo_jobs.list_job_groups(session, ann.id)) == ([a2.id, a1.id], 2)
    assert _ids(repo_jobs.list_job_groups(session, None, limit=2)) == ([a2.id, b1.id], 3)
    assert _ids(repo_jobs.list_job_groups(session, None, limit=2, offset=2)) == ([a1.id], 3)
    assert _ids(repo_jobs.list_job_groups(session, None, ranfrom_set=True)) == ([a1.id], 1)
    assert [g.id for g in repo_jobs.groups_in_status(session, ["Pending", "InProgress"])] == [a1.id, b1.id]
    assert [g.id for g in repo_jobs.groups_in_status(session, [Status.IN_PROGRESS], execution="photon")] == []


def test_update_group_and_job_plain_columns(session):
    ann = repo_users.create_user(session, "ann")
    group = _group(session, ann.id, _wrangled(session, ann.id).id)
    handle = {"environment": "spark", "tag": "lg-1", "external_id": "4242", "data": {"pid": 4242}}
    repo_jobs.update_group(session, group, tag="lg-1", spec_path="/h/specs/1.json", handle=handle, now=T0)
    repo_jobs.update_job(session, group.jobs[1], rows=10_000_000_000, files=["/o/a.csv"],
                         output_path="/o", delta_version=3, now=T0)
    with pytest.raises(ValueError, match="set_group_status"):
        repo_jobs.update_group(session, group, status="Complete")
    with pytest.raises(AttributeError, match="no column 'nope'"):
        repo_jobs.update_job(session, group.jobs[0], nope=1)
    session.commit()
    session.expire_all()
    g = repo_jobs.get_job_group(session, group.id, with_jobs=True)
    assert (g.tag, g.spec_path, g.handle, g.updated_at) == ("lg-1", "/h/specs/1.json", handle, T0)
    j = g.jobs[1]
    assert (j.rows, j.files, j.output_path, j.delta_version) == (10_000_000_000, ["/o/a.csv"], "/o", 3)
    other = _group(session, ann.id, g.wrangled_dataset_id)
    with pytest.raises(IntegrityError):  # tags are unique
        repo_jobs.update_group(session, other, tag="lg-1")
    session.rollback()


# -- helpers --------------------------------------------------------------------------------------

def _wrangled(s, owner_id):
    imp = repo_datasets.create_imported(s, owner_id, "orders", "/data/orders.csv", "csv")
    return repo_datasets.create_wrangled(s, owner_id, "orders clean", "imported", imp.id, [])


def _group(s, creator_id, ds_id, *, n_writers=1, execution="photon", **kw) -> JobGroup:
    jobs = [NewJob("wrangle")] + [NewJob("filewriter", {"path": f"/o/{i}.csv"}) for i in range(n_writers)]
    return repo_jobs.create_job_group(s, creator_id=creator_id, wrangled_dataset_id=ds_id,
                                      execution=execution, jobs=jobs, **kw)


def _ids(page):
    rows, count = page
    return [g.id for g in rows], count
