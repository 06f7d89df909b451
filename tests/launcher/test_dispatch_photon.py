"""Dispatcher + photon: real local Spark (the test session's), a real SQLite store, the real
background thread. Slow cases use a gzip csv of ~5M rows (one unsplittable task)."""

from __future__ import annotations

import csv
import time

import pytest

from launcher.dispatch import Dispatcher
from launcher.environments.photon import RESTART_MESSAGE, PhotonEnvironment
from launcher.settings import load_settings
from launcher.store import repo_jobs
from launcher.store.db import make_engine, session_factory as make_factory, session_scope, upgrade
from test_dispatch_support import (
    group_history,
    group_state,
    make_group,
    read_result,
    wait_for,
    wait_status,
    write_big_gzip_csv,
    write_csv,
)

DONE = {"Complete", "Failed", "Canceled"}


@pytest.fixture
def settings(launcher_home, storage_root):
    s = load_settings(home=launcher_home, storage_roots=[str(storage_root)],
                      environments={"photon": {"concurrency": 1, "poll_interval_seconds": 0.05}})
    s.ensure_dirs()
    return s


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    yield make_factory(engine)
    engine.dispose()


@pytest.fixture
def photon(settings, spark):
    env = PhotonEnvironment(settings, spark=spark)
    yield env
    env.close()


@pytest.fixture
def dispatcher(settings, store, photon):
    d = Dispatcher(settings, store, {"photon": photon})
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def big_input(tmp_path_factory):
    return write_big_gzip_csv(tmp_path_factory.mktemp("big") / "big.csv.gz")


@pytest.fixture
def small_input(tmp_path):
    return write_csv(tmp_path / "in.csv", [("id", "name", "amount"), (1, "a", 2.5), (2, "b", 3.5), (3, "c", 4.5)])


def spark_job_running(spark, settings, store, gid) -> bool:
    tag = group_state(store, gid)["tag"]
    if not tag:
        return False
    tracker = spark.sparkContext.statusTracker()
    return any((info := tracker.getJobInfo(j)) and info.status == "RUNNING" for j in tracker.getJobIdsForGroup(tag))


def event_time(store, gid, status):
    with session_scope(store) as s:
        return next(e.at for e in repo_jobs.events_of(s, gid) if e.job_id is None and e.status == status)


def test_concurrency_one_queues_the_second_group_and_reads_results_back(dispatcher, store, settings, small_input,
                                                                        storage_root):
    recipe = [{"op": "rename", "mapping": {"name": "customer"}}]
    out = storage_root / "out" / "customers.csv"
    first = make_group(store, settings, input_uri=str(small_input), recipe=recipe, outputs=[
        {"path": str(out), "action": "overwrite", "format": "csv", "header": True, "asSingleFile": True}])
    second = make_group(store, settings, input_uri=str(small_input), profiler=True)
    dispatcher.enqueue(first)
    dispatcher.enqueue(second)
    wait_status(store, first, {"InProgress"} | DONE)
    if group_state(store, first)["status"] == "InProgress":
        assert group_state(store, second)["status"] == "Pending"
    a = wait_status(store, first, DONE)
    b = wait_status(store, second, DONE)
    assert (a["status"], b["status"]) == ("Complete", "Complete"), (a, b)
    # The second started only after the first ended.
    assert event_time(store, second, "InProgress") >= event_time(store, first, "Complete")
    assert group_history(store, second) == ["Created", "Pending", "InProgress", "Complete"]

    # Read back: every job Complete at 100 percent, the output's path, files and rows; the
    # profile into the group.
    assert [(j["type"], j["status"], j["percent"], j["error"]) for j in a["jobs"]] == [
        ("wrangle", "Complete", 100, None), ("filewriter", "Complete", 100, None)]
    writer = a["jobs"][1]
    assert (writer["rows"], writer["path"]) == (3, str(out))
    assert writer["files"] == [{"path": str(out), "size": out.stat().st_size}]
    with open(out, newline="") as f:
        assert list(csv.reader(f)) == [["id", "customer", "amount"], ["1", "a", "2.5"], ["2", "b", "3.5"],
                                       ["3", "c", "4.5"]]
    assert a["handle"]["environment"] == "photon" and a["handle"]["tag"] == a["tag"]
    assert a["profile"] is None
    assert b["profile"] == read_result(settings, second)["profile"]
    assert set(b["profile"]["columnTypes"]) == {"id", "name", "amount"}
    assert [(j["type"], j["status"], j["percent"]) for j in b["jobs"]] == [
        ("wrangle", "Complete", 100), ("profile", "Complete", 100)]
    lines = dispatcher.environments["photon"].logs(repo_handle(store, first), 0, 100)
    assert lines and f"job group {first}: Complete in " in lines[-1]
    assert (settings.logs_dir / f"{first}.log").is_file()


def repo_handle(store, gid):
    from launcher.environments.base import Handle

    return Handle(**group_state(store, gid)["handle"])


def test_a_failing_run_ends_failed_with_its_cause(dispatcher, store, settings, tmp_path):
    missing = str(tmp_path / "missing.csv")
    gid = make_group(store, settings, input_uri=missing, profiler=True)
    dispatcher.enqueue(gid)
    st = wait_status(store, gid, DONE)
    assert st["status"] == "Failed"
    assert missing in st["error"] and "no such file" in st["error"]
    wrangle, profile = st["jobs"]
    assert wrangle["status"] == "Failed" and missing in wrangle["error"]
    assert profile["status"] == "Failed" and profile["error"] == "not run: the wrangle job failed"


def test_cancel_of_a_running_photon_job_ends_canceled_quickly(dispatcher, store, settings, spark, big_input,
                                                              storage_root):
    out_dir = storage_root / "cancel"
    out_dir.mkdir()
    gid = make_group(store, settings, input_uri=str(big_input), outputs=[
        {"path": str(out_dir / "big.csv"), "action": "overwrite", "format": "csv"}])
    dispatcher.enqueue(gid)
    wait_for(lambda: spark_job_running(spark, settings, store, gid), timeout=300, what="the run's Spark job")
    began = time.monotonic()
    dispatcher.cancel(gid)
    st = wait_status(store, gid, DONE, timeout=120)
    took = time.monotonic() - began
    assert st["status"] == "Canceled", st
    assert took < 15, f"cancel took {took:.1f} s"
    assert [j["status"] for j in st["jobs"]] == ["Canceled", "Canceled"]
    assert st["profile"] is None
    assert sorted(p.name for p in out_dir.iterdir()) == []  # no output, no staging debris
    assert read_result(settings, gid)["status"] == "Canceled"
    assert group_history(store, gid) == ["Created", "Pending", "InProgress", "Canceled"]


def test_restart_runs_the_queued_group_and_fails_the_in_process_one(settings, store, spark, big_input, small_input,
                                                                    storage_root):
    old_photon = PhotonEnvironment(settings, spark=spark)
    old = Dispatcher(settings, store, {"photon": old_photon})
    old.start()
    try:
        running = make_group(store, settings, input_uri=str(big_input), outputs=[
            {"path": str(storage_root / "big.csv"), "action": "overwrite", "format": "csv"}])
        queued = make_group(store, settings, input_uri=str(small_input), outputs=[
            {"path": str(storage_root / "small.csv"), "action": "overwrite", "format": "csv"}])
        old.enqueue(running)
        old.enqueue(queued)
        wait_for(lambda: spark_job_running(spark, settings, store, running), timeout=300, what="the slow run")
        assert group_state(store, queued)["status"] == "Pending"
        old.stop()  # the launcher goes away with one group running in-process and one queued

        new_photon = PhotonEnvironment(settings, spark=spark)
        new = Dispatcher(settings, store, {"photon": new_photon})
        new.start()
        try:
            lost = group_state(store, running)
            assert lost["status"] == "Failed" and lost["error"] == RESTART_MESSAGE
            assert [(j["status"], j["error"]) for j in lost["jobs"]] == [("Failed", RESTART_MESSAGE)] * 2
            old_photon.close()  # the old process's work would have died with it
            st = wait_status(store, queued, DONE)
            assert st["status"] == "Complete", st
            assert group_history(store, queued) == ["Created", "Pending", "InProgress", "Complete"]
        finally:
            new.stop()
            new_photon.close()
    finally:
        old.stop()
        old_photon.close()
    # Nothing is left InProgress.
    with session_scope(store) as s:
        assert repo_jobs.groups_in_status(s, ["InProgress", "Pending", "Created"]) == []


def test_photon_says_when_a_run_ends_so_no_poll_interval_is_waited(settings, store, spark, small_input):
    env = PhotonEnvironment(settings, spark=spark, poll_interval=3600)  # polls would come hourly
    d = Dispatcher(settings, store, {"photon": env})
    d.start()
    try:
        gid = make_group(store, settings, input_uri=str(small_input))
        d.enqueue(gid)
        st = wait_status(store, gid, DONE, timeout=300)
        assert st["status"] == "Complete", st
    finally:
        d.stop()
        env.close()


def test_a_bad_recipe_step_fails_with_the_step_and_column_named(dispatcher, store, settings, small_input, storage_root):
    gid = make_group(store, settings, input_uri=str(small_input),
                     recipe=[{"op": "rename", "mapping": {"nosuchcolumn": "x"}}],
                     outputs=[{"path": str(storage_root / "never.csv"), "action": "overwrite", "format": "csv"}])
    dispatcher.enqueue(gid)
    st = wait_status(store, gid, DONE)
    assert st["status"] == "Failed"
    assert "nosuchcolumn" in st["error"] and "step" in st["error"].lower(), st["error"]
    assert [j["status"] for j in st["jobs"]] == ["Failed", "Failed"]
    assert not (storage_root / "never.csv").exists()
