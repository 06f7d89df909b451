"""The dispatcher's state machine on a real store, with a scripted environment and a fake clock.

Nothing here sleeps: ``step()`` is one pass of the loop and the clock only moves when a test
moves it. The same flows with real Spark are in test_dispatch_photon.py.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from launcher import dispatch
from launcher.dispatch import Dispatcher, JobOutcome, group_message, group_status, job_outcomes
from launcher.environments.base import RunState, State
from launcher.store.db import make_engine, session_factory as make_factory, upgrade
from test_dispatch_support import FakeClock, ScriptedEnv, group_history, group_state, history, make_group


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    yield make_factory(engine)
    engine.dispose()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def env():
    return ScriptedEnv()


@pytest.fixture
def dispatcher(settings, store, env, clock):
    return Dispatcher(settings, store, {"scripted": env}, clock=clock, sleep=clock.sleep)


def group(store, settings, **kw):
    return make_group(store, settings, execution="scripted", **kw)


def doc_for(store, gid, status="Complete", jobs=None, profile=None):
    """A result document for a group, every job as given (default: all Complete)."""
    st = group_state(store, gid)
    jobs = jobs or {}
    return {
        "specVersion": 1, "jobGroupId": gid, "status": status,
        "startedAt": "2024-05-01T10:00:00.000+00:00", "finishedAt": "2024-05-01T10:00:05.000+00:00",
        "jobs": [dict({"jobId": j["id"], "jobType": j["type"], "status": "Complete",
                       "startedAt": "2024-05-01T10:00:01.000+00:00",
                       "finishedAt": "2024-05-01T10:00:04.000+00:00", "files": []}, **jobs.get(j["type"], {}))
                 for j in st["jobs"]],
        "mismatches": {}, "profile": profile,
    }


# -- pure parts ---------------------------------------------------------------------------------
def test_group_status_is_derived_from_its_jobs():
    assert group_status(["Complete", "Complete"], "Failed") == "Complete"
    assert group_status(["Complete", "Failed", "Canceled"], "Complete") == "Failed"
    assert group_status(["Complete", "Canceled"], "Complete") == "Canceled"
    assert group_status([], "Canceled") == "Canceled"


def test_job_outcomes_from_a_result_document():
    doc = {"jobs": [
        {"jobId": 1, "status": "Complete", "rows": 3, "startedAt": "a", "finishedAt": "b"},
        {"jobId": 2, "status": "Complete", "rows": 3, "path": "/out/x.csv",
         "files": [{"path": "/out/x.csv", "size": 10}], "deltaVersion": None},
        {"jobId": 3, "status": "Failed", "error": {"errorClass": "ValueError", "message": "bad"}},
    ]}
    out = job_outcomes([1, 2, 3, 4], doc, RunState(State.FAILED, "env says failed"), cancel_requested=False)
    assert out == {
        1: JobOutcome("Complete", None, 3, None, None, None, "a", "b"),
        2: JobOutcome("Complete", None, 3, [{"path": "/out/x.csv", "size": 10}], "/out/x.csv", None, None, None),
        3: JobOutcome("Failed", "bad"),
        4: JobOutcome("Failed", "env says failed"),
    }


def test_job_outcomes_without_a_result_document():
    assert job_outcomes([1, 2], None, RunState(State.FAILED, "driver lost"), False) == {
        1: JobOutcome("Failed", "driver lost"), 2: JobOutcome("Failed", "driver lost")}
    assert job_outcomes([1], None, RunState(State.SUCCEEDED), False) == {
        1: JobOutcome("Failed", "the run ended without a result document")}
    assert job_outcomes([1], None, RunState(State.RUNNING), True) == {1: JobOutcome("Canceled", "canceled")}


def test_after_a_cancel_a_failed_job_counts_as_canceled():
    doc = {"jobs": [{"jobId": 1, "status": "Failed", "error": {"errorClass": "X", "message": "interrupted"}}]}
    assert job_outcomes([1], doc, RunState(State.FAILED), cancel_requested=True) == {
        1: JobOutcome("Canceled", "interrupted")}


def test_group_message_prefers_the_cause_over_not_run_echoes():
    outcomes = {1: JobOutcome("Failed", "not run: the wrangle job failed"), 2: JobOutcome("Failed", "no such file")}
    assert group_message(outcomes, RunState(State.FAILED, "x")) == "no such file"
    assert group_message({1: JobOutcome("Complete")}, RunState(State.FAILED, "x")) == "x"


# -- queueing ----------------------------------------------------------------------------------
def test_enqueue_marks_the_group_and_its_jobs_pending(dispatcher, store, settings):
    gid = group(store, settings, outputs=[{"path": "/o.csv", "action": "create", "format": "csv"}])
    dispatcher.enqueue(gid)
    st = group_state(store, gid)
    assert st["status"] == "Pending"
    assert [j["status"] for j in st["jobs"]] == ["Pending", "Pending"]
    assert dispatcher.queued("scripted") == [gid]


def test_a_repeated_enqueue_queues_once_and_records_once(dispatcher, store, settings):
    gid = group(store, settings)
    dispatcher.enqueue(gid)
    dispatcher.enqueue(gid)
    assert dispatcher.queued("scripted") == [gid]
    assert history(store, gid) == [(None, "Created"), ("wrangle", "Created"), (None, "Pending"), ("wrangle", "Pending")]
    with pytest.raises(KeyError):
        dispatcher.enqueue(99999)


def test_concurrency_one_keeps_the_second_group_pending_until_the_first_ends(dispatcher, store, settings, env, clock):
    first, second = group(store, settings), group(store, settings)
    dispatcher.enqueue(first)
    dispatcher.enqueue(second)
    assert dispatcher.step() == env.poll_interval
    assert group_state(store, first)["status"] == "InProgress"
    assert group_state(store, second)["status"] == "Pending"
    assert [r.job_group_id for r in env.runs] == [first]

    assert len(env.polls) == 1  # one look right after the submit
    env.end(first, State.SUCCEEDED, doc_for(store, first))
    clock.advance(env.poll_interval - 0.1)
    dispatcher.step()
    assert len(env.polls) == 1  # not due yet: the interval is honoured
    clock.advance(0.1)
    dispatcher.step()  # polls: first ends, the slot frees, second starts in the same pass
    assert group_state(store, first)["status"] == "Complete"
    assert group_state(store, second)["status"] == "InProgress"
    assert [r.job_group_id for r in env.runs] == [first, second]


def test_queue_is_first_in_first_out(settings, store, clock):
    env = ScriptedEnv(concurrency=2)
    d = Dispatcher(settings, store, {"scripted": env}, clock=clock, sleep=clock.sleep)
    gids = [group(store, settings) for _ in range(4)]
    for gid in gids:
        d.enqueue(gid)
    d.step()
    assert [r.job_group_id for r in env.runs] == gids[:2]
    assert d.queued("scripted") == gids[2:]


def test_submit_saves_tag_before_and_handle_after(dispatcher, store, settings, env):
    gid = group(store, settings)
    dispatcher.enqueue(gid)
    dispatcher.step()
    run = env.run_of(gid)
    st = group_state(store, gid)
    assert st["tag"] == run.tag and run.tag.startswith(f"jg-{gid}-")
    assert st["handle"] == {"environment": "scripted", "tag": run.tag, "external_id": "run-1",
                            "data": {"resultUri": run.spec.resultUri}}
    assert run.spec.jobGroupId == gid
    assert run.log_path == str(settings.logs_dir / f"{gid}.log")
    assert run.user == "alice"


# -- results ------------------------------------------------------------------------------------
def test_result_document_is_read_back_into_jobs_and_group(dispatcher, store, settings, env, clock):
    gid = group(store, settings, profiler=True,
                outputs=[{"path": "/out/a.csv", "action": "create", "format": "csv"}])
    dispatcher.enqueue(gid)
    dispatcher.step()
    profile = {"columnTypes": {"a": ["Integer"]}}
    env.end(gid, State.SUCCEEDED, doc_for(store, gid, profile=profile, jobs={
        "wrangle": {"rows": 7},
        "filewriter": {"rows": 7, "path": "/out/a_1.csv", "files": [{"path": "/out/a_1.csv", "size": 42}],
                       "deltaVersion": 3},
    }))
    clock.advance(env.poll_interval)
    dispatcher.step()
    st = group_state(store, gid)
    assert st["status"] == "Complete" and st["error"] is None
    assert st["profile"] == profile
    wrangle, writer, prof = st["jobs"]
    assert (wrangle["status"], wrangle["rows"], wrangle["percent"]) == ("Complete", 7, 100)
    assert (writer["status"], writer["rows"], writer["path"], writer["files"], writer["delta_version"]) == (
        "Complete", 7, "/out/a_1.csv", [{"path": "/out/a_1.csv", "size": 42}], 3)
    assert prof["status"] == "Complete" and prof["percent"] == 100
    assert writer["finished_at"] == datetime(2024, 5, 1, 10, 0, 4, tzinfo=timezone.utc)
    assert st["finished_at"] is not None and st["started_at"] is not None
    assert dispatcher.idle


def test_every_status_change_is_recorded_in_order(dispatcher, store, settings, env, clock):
    gid = group(store, settings, outputs=[{"path": "/o.csv", "action": "create", "format": "csv"}])
    dispatcher.enqueue(gid)
    dispatcher.step()
    env.end(gid, State.FAILED, doc_for(store, gid, status="Failed", jobs={
        "wrangle": {"status": "Failed", "error": {"errorClass": "SourceError", "message": "no such file: /x"}},
        "filewriter": {"status": "Failed", "error": {"errorClass": "NotRun", "message": "not run: the wrangle job failed"}},
    }))
    clock.advance(env.poll_interval)
    dispatcher.step()
    assert history(store, gid) == [
        (None, "Created"), ("wrangle", "Created"), ("filewriter", "Created"),
        (None, "Pending"), ("wrangle", "Pending"), ("filewriter", "Pending"),
        (None, "InProgress"), ("wrangle", "InProgress"), ("filewriter", "InProgress"),
        ("wrangle", "Failed"), ("filewriter", "Failed"), (None, "Failed"),
    ]
    st = group_state(store, gid)
    assert st["error"] == "no such file: /x"
    assert [j["error"] for j in st["jobs"]] == ["no such file: /x", "not run: the wrangle job failed"]


def test_a_run_without_result_document_fails_every_unfinished_job(dispatcher, store, settings, env, clock):
    gid = group(store, settings, profiler=True)
    dispatcher.enqueue(gid)
    dispatcher.step()
    env.end(gid, State.FAILED, message="the driver exited with code 137")
    clock.advance(env.poll_interval)
    dispatcher.step()
    st = group_state(store, gid)
    assert st["status"] == "Failed" and st["error"] == "the driver exited with code 137"
    assert [(j["status"], j["error"]) for j in st["jobs"]] == [("Failed", "the driver exited with code 137")] * 2


def test_submit_failure_fails_the_group_and_the_queue_goes_on(dispatcher, store, settings, env, clock):
    bad, good = group(store, settings), group(store, settings)
    env.submit_errors = [OSError("spark-submit: not found")]
    dispatcher.enqueue(bad)
    dispatcher.enqueue(good)
    dispatcher.step()
    st = group_state(store, bad)
    assert st["status"] == "Failed" and st["error"] == "could not start the run: spark-submit: not found"
    assert [j["status"] for j in st["jobs"]] == ["Failed"]
    assert group_state(store, good)["status"] == "InProgress"  # the freed slot is used at once


def test_a_missing_spec_fails_the_group_with_the_reason(dispatcher, store, settings):
    gid = group(store, settings)
    (settings.specs_dir / f"{gid}.json").unlink()
    dispatcher.enqueue(gid)
    dispatcher.step()
    st = group_state(store, gid)
    assert st["status"] == "Failed"
    assert st["error"] == (f"could not start the run: the job spec {settings.specs_dir / f'{gid}.json'} is missing "
                           "(the launcher stopped before it was written?); run the job group again")


def test_an_unavailable_environment_fails_at_enqueue(dispatcher, store, settings):
    gid = make_group(store, settings, execution="databricksSpark")
    dispatcher.enqueue(gid)
    st = group_state(store, gid)
    assert st["status"] == "Failed"
    assert st["error"].startswith("the databricksSpark environment is not available: databricksSpark is not configured")


def test_poll_errors_are_retried_then_the_run_is_given_up(dispatcher, store, settings, env, clock):
    gid = group(store, settings)
    dispatcher.enqueue(gid)
    dispatcher.step()
    env.poll_error = ConnectionError("connection refused")
    for _ in range(dispatch.MAX_POLL_ERRORS - 1):
        clock.advance(env.poll_interval)
        dispatcher.step()
    assert group_state(store, gid)["status"] == "InProgress"
    clock.advance(env.poll_interval)
    dispatcher.step()
    st = group_state(store, gid)
    assert st["status"] == "Failed" and st["error"] == "lost track of the run: connection refused"


def test_percent_complete_is_zero_while_queued_and_follows_progress(settings, store, clock):
    env = ScriptedEnv()
    seen = iter([10, 40, 30])
    env.progress = lambda handle: next(seen)  # the optional progress extension
    d = Dispatcher(settings, store, {"scripted": env}, clock=clock, sleep=clock.sleep)
    gid = group(store, settings)
    d.enqueue(gid)
    assert group_state(store, gid)["jobs"][0]["percent"] == 0
    percents = []
    for _ in range(3):
        d.step()  # the first pass submits and looks at once
        percents.append(group_state(store, gid)["jobs"][0]["percent"])
        clock.advance(env.poll_interval)
    assert percents == [10, 40, 40]  # never backwards


def test_an_environment_notice_gets_a_run_looked_at_before_its_poll_is_due(dispatcher, store, settings, env):
    gid = group(store, settings)
    dispatcher.enqueue(gid)
    dispatcher.step()
    env.end(gid, State.SUCCEEDED, doc_for(store, gid))
    dispatcher.step()
    assert group_state(store, gid)["status"] == "InProgress"  # the clock has not moved
    dispatcher.run_changed(env.run_of(gid).tag)
    dispatcher.step()
    assert group_state(store, gid)["status"] == "Complete"


# -- cancel -------------------------------------------------------------------------------------
def test_cancel_of_a_queued_group_is_immediate(dispatcher, store, settings, env):
    running, queued = group(store, settings), group(store, settings)
    dispatcher.enqueue(running)
    dispatcher.enqueue(queued)
    dispatcher.step()
    dispatcher.cancel(queued)
    st = group_state(store, queued)
    assert st["status"] == "Canceled"
    assert [j["status"] for j in st["jobs"]] == ["Canceled"]
    assert dispatcher.queued("scripted") == []
    assert group_history(store, queued) == ["Created", "Pending", "Canceled"]
    assert [r.job_group_id for r in env.runs] == [running]


def test_cancel_of_a_running_group_stops_it_where_it_runs(dispatcher, store, settings, env):
    gid = group(store, settings)
    dispatcher.enqueue(gid)
    dispatcher.step()
    dispatcher.cancel(gid)
    assert env.canceled == []  # the request thread never talks to the environment
    dispatcher.step()
    assert env.canceled == [env.run_of(gid).tag]
    st = group_state(store, gid)
    assert st["status"] == "Canceled" and [j["status"] for j in st["jobs"]] == ["Canceled"]
    assert st["error"] == "canceled by request"
    assert st["jobs"][0]["error"] == "stopped by the test environment"
    assert group_history(store, gid) == ["Created", "Pending", "InProgress", "Canceled"]


def test_cancel_that_the_environment_never_confirms_ends_after_the_grace(dispatcher, store, settings, env, clock):
    env.confirm_cancel = False
    gid = group(store, settings)
    dispatcher.enqueue(gid)
    dispatcher.step()
    dispatcher.cancel(gid)
    dispatcher.step()
    assert group_state(store, gid)["status"] == "InProgress"
    clock.advance(dispatch.CANCEL_GRACE_SECONDS + env.poll_interval)
    dispatcher.step()
    st = group_state(store, gid)
    assert st["status"] == "Canceled" and "did not confirm the cancel" in st["jobs"][0]["error"]


def test_cancel_of_a_finished_group_changes_nothing(dispatcher, store, settings, env, clock):
    gid = group(store, settings)
    dispatcher.enqueue(gid)
    dispatcher.step()
    env.end(gid, State.SUCCEEDED, doc_for(store, gid))
    clock.advance(env.poll_interval)
    dispatcher.step()
    dispatcher.cancel(gid)
    assert group_state(store, gid)["status"] == "Complete"


# -- restart ------------------------------------------------------------------------------------
def test_restart_requeues_waiting_groups_and_recovers_running_ones(settings, store, clock):
    env = ScriptedEnv(concurrency=3)
    d1 = Dispatcher(settings, store, {"scripted": env}, clock=clock, sleep=clock.sleep)
    still_running, ended_meanwhile, lost = (group(store, settings) for _ in range(3))
    for gid in (still_running, ended_meanwhile, lost):
        d1.enqueue(gid)
    d1.step()
    queued = group(store, settings)
    d1.enqueue(queued)
    saved_not_queued = group(store, settings)  # the API saved it and stopped before enqueue
    no_spec = group(store, settings, save_spec=False)  # stopped before the spec was written
    d1.stop()

    env2 = ScriptedEnv(concurrency=3)
    env2.recovered = {
        env.run_of(still_running).tag: RunState(State.RUNNING),
        env.run_of(ended_meanwhile).tag: RunState(State.SUCCEEDED),
    }
    env2.docs = {env.run_of(ended_meanwhile).tag: doc_for(store, ended_meanwhile)}
    d2 = Dispatcher(settings, store, {"scripted": env2}, clock=clock, sleep=clock.sleep)
    d2.recover()
    assert group_state(store, ended_meanwhile)["status"] == "Complete"
    lost_state = group_state(store, lost)
    assert lost_state["status"] == "Failed" and lost_state["error"] == "not found"
    assert d2.running() == [still_running]
    assert d2.queued("scripted") == [queued, saved_not_queued]
    st = group_state(store, no_spec)
    assert st["status"] == "Failed" and "before this job group's spec was saved" in st["error"]

    # The recovered run is followed like any other, and the queue runs in the free slots.
    d2.step()
    assert [r.job_group_id for r in env2.runs] == [queued, saved_not_queued]
    env2.states[env.run_of(still_running).tag] = RunState(State.SUCCEEDED)
    env2.docs[env.run_of(still_running).tag] = doc_for(store, still_running)
    clock.advance(env2.poll_interval)
    d2.step()
    assert group_state(store, still_running)["status"] == "Complete"


def test_run_until_idle_drives_time_with_the_injected_sleep(settings, store, clock):
    env = ScriptedEnv()
    d = Dispatcher(settings, store, {"scripted": env}, clock=clock, sleep=clock.sleep)
    gid = group(store, settings)
    d.enqueue(gid)
    d.step()
    tag = env.run_of(gid).tag
    polls_before_end = 3
    original = env.poll

    def poll(handle):
        if len(env.polls) >= polls_before_end:
            env.states[tag] = RunState(State.SUCCEEDED)
            env.docs[tag] = doc_for(store, gid)
        return original(handle)

    env.poll = poll
    d.run_until_idle(timeout=3600)
    assert group_state(store, gid)["status"] == "Complete"
    assert clock.slept == [env.poll_interval] * polls_before_end  # the first look is right after submit


def test_background_thread_follows_runs_without_the_caller_waiting(settings, store):
    env = ScriptedEnv(poll_interval=0.01)
    d = Dispatcher(settings, store, {"scripted": env})
    d.start()
    try:
        gid = group(store, settings)
        d.enqueue(gid)
        from test_dispatch_support import wait_for

        wait_for(lambda: env.runs, timeout=10, what="submit")
        env.end(gid, State.SUCCEEDED, doc_for(store, gid))
        wait_for(lambda: group_state(store, gid)["status"] == "Complete", timeout=10, what="Complete")
    finally:
        d.stop()


def test_the_whole_lifecycle_on_sqlite_and_postgresql(session_factory, settings, clock):
    """The conftest's store on both backends: queue, run, read back, cancel a queued group."""
    env = ScriptedEnv()
    d = Dispatcher(settings, session_factory, {"scripted": env}, clock=clock, sleep=clock.sleep)
    done, canceled = group(session_factory, settings), group(session_factory, settings)
    d.enqueue(done)
    d.enqueue(canceled)
    d.step()
    d.cancel(canceled)
    env.end(done, State.SUCCEEDED, doc_for(session_factory, done, jobs={"wrangle": {"rows": 5}}))
    d.run_until_idle()
    assert group_history(session_factory, done) == ["Created", "Pending", "InProgress", "Complete"]
    assert group_history(session_factory, canceled) == ["Created", "Pending", "Canceled"]
    assert group_state(session_factory, done)["jobs"][0]["rows"] == 5
