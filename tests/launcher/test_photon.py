"""The photon environment on the test session's real local Spark (no store, no dispatcher)."""

from __future__ import annotations

import itertools
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from launcher.environments import build_environments, configuration_problem
from launcher.environments.base import Handle, Run, RunState, State
from launcher.environments.photon import (
    CONF_DIR,
    RESTART_MESSAGE,
    PhotonEnvironment,
    fair_allocation_xml,
    read_lines,
    read_spark_defaults,
    session_conf,
    stage_progress,
    state_of_result,
)
from spark_jobs.spec import JobSpec
from test_dispatch_support import wait_for, write_big_gzip_csv, write_csv

_ids = itertools.count(9000)


# -- pure parts ---------------------------------------------------------------------------------
def test_spark_defaults_file_is_read_as_spark_does():
    conf = read_spark_defaults(CONF_DIR / "spark-defaults.conf")
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.driver.extraJavaOptions"] == "-Dlog4j2.configurationFile=conf/log4j2.properties"
    assert not any(k.startswith("#") for k in conf)


def test_session_conf_fair_pools_absolute_log4j_and_user_conf_last(tmp_path):
    defaults = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4",
                "spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile=conf/log4j2.properties"}
    conf = session_conf(defaults, {"spark.sql.shuffle.partitions": "8"}, "/h/alloc.xml", conf_dir=Path("/proj/conf"))
    assert conf == {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "8",
        "spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile=/proj/conf/log4j2.properties",
        "spark.scheduler.mode": "FAIR",
        "spark.scheduler.allocation.file": "/h/alloc.xml",
    }


def test_fair_allocation_declares_one_pool_per_slot():
    root = ET.fromstring(fair_allocation_xml(3))
    pools = {p.get("name"): (p.findtext("schedulingMode"), p.findtext("weight")) for p in root.findall("pool")}
    assert pools == {"photon-0": ("FIFO", "1"), "photon-1": ("FIFO", "1"), "photon-2": ("FIFO", "1")}


def test_stage_progress():
    assert stage_progress([]) is None
    assert stage_progress([(0, 0)]) is None
    assert stage_progress([(4, 1), (4, 1)]) == 25
    assert stage_progress([(2, 2)]) == 99  # 100 only once the result says the run ended


def test_state_of_result_document():
    assert state_of_result({"status": "Complete", "jobs": []}) == RunState(State.SUCCEEDED)
    failed = {"status": "Failed", "jobs": [
        {"status": "Failed", "error": {"errorClass": "NotRun", "message": "not run"}},
        {"status": "Failed", "error": {"errorClass": "SourceError", "message": "no such file: /x"}}]}
    assert state_of_result(failed) == RunState(State.FAILED, "SourceError: no such file: /x")
    assert state_of_result({"status": "Canceled", "jobs": []}) == RunState(State.CANCELED, "canceled")
    assert state_of_result({"status": "Weird"}).state == State.FAILED


def test_read_lines_pages(tmp_path):
    p = tmp_path / "x.log"
    p.write_text("".join(f"line {i}\n" for i in range(10)))
    assert read_lines(p, 3, 2) == ["line 3", "line 4"]
    assert read_lines(p, 9, 5) == ["line 9"]
    assert read_lines(p, 20, 5) == []
    assert read_lines(tmp_path / "missing.log", 0, 5) == []


def test_registry_has_photon_and_explains_databricks(settings, spark):
    assert configuration_problem(settings, "photon") is None
    assert configuration_problem(settings, "hadoop") == "unknown execution 'hadoop'; accepted: photon, spark, databricksSpark"
    assert configuration_problem(settings, "databricksSpark").startswith(
        "databricksSpark is not configured: it needs [environments.databricksSpark] host")
    envs = build_environments(settings, spark=spark)
    try:
        assert isinstance(envs["photon"], PhotonEnvironment)
        assert "databricksSpark" not in envs
        assert envs["photon"].session() is spark
    finally:
        for env in envs.values():
            close = getattr(env, "close", None)
            if close:
                close()


# -- real runs ----------------------------------------------------------------------------------
@pytest.fixture
def photon(settings, spark):
    env = PhotonEnvironment(settings, spark=spark)
    yield env
    env.close()


def make_run(settings, tmp_path, input_uri: str, *, recipe=None, profiler=False, outputs=None,
             fmt: str = "csv") -> Run:
    gid = next(_ids)
    job_ids = {"wrangle": next(_ids), "profile": next(_ids) if profiler else None}
    spec = JobSpec(
        jobGroupId=gid, jobs=job_ids,
        datasets=[{"kind": "imported", "id": 1, "uri": input_uri, "format": fmt},
                  {"kind": "wrangled", "id": 2, "input": {"kind": "imported", "id": 1}, "recipe": recipe or []}],
        target=2, outputs=[dict(o, jobId=next(_ids)) for o in outputs or []], profiler=profiler,
        resultUri=str(settings.results_dir / f"{gid}.json"),
    )
    return Run(job_group_id=gid, spec=spec, spec_path="", user="alice", tag=f"jg-{gid}-test",
               log_path=str(settings.logs_dir / f"{gid}.log"))


def wait_terminal(env, handle, timeout=300.0) -> RunState:
    return wait_for(lambda: (st := env.poll(handle)).has_terminated() and st, timeout=timeout,
                    what=f"run {handle.tag} to end")


def test_a_run_completes_under_its_own_job_group_and_writes_its_result_and_log(photon, settings, tmp_path, spark):
    src = write_csv(tmp_path / "in.csv", [("id", "name"), (1, "a"), (2, "b"), (3, "c")])
    out = tmp_path / "out.json"
    run = make_run(settings, tmp_path, str(src), recipe=[{"op": "rename", "mapping": {"name": "who"}}],
                   outputs=[{"path": str(out), "action": "create", "format": "json", "asSingleFile": True}])
    handle = photon.submit(run)
    assert handle.environment == "photon" and handle.tag == run.tag
    assert handle.data["resultUri"] == run.spec.resultUri
    assert wait_terminal(photon, handle) == RunState(State.SUCCEEDED)

    doc = photon.result(handle)
    assert doc == json.loads(Path(run.spec.resultUri).read_text())
    assert doc["status"] == "Complete" and doc["jobGroupId"] == run.job_group_id
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"id": "1", "who": "a"}, {"id": "2", "who": "b"}, {"id": "3", "who": "c"}]
    # Its Spark jobs ran under its own job group (what cancel targets).
    assert spark.sparkContext.statusTracker().getJobIdsForGroup(run.tag)
    # ... and the worker thread is left clean for the next run.
    lines = photon.logs(handle, 0, 1000)
    assert "queued on photon" in lines[0] and f"Spark job group {run.tag}, pool photon-" in lines[1]
    assert lines[-1].split(": ", 1)[1].startswith(f"job group {run.job_group_id}: Complete in ")
    assert any(f"job {run.spec.outputs[0].jobId} (filewriter): Complete, 3 rows" in line for line in lines)
    assert photon.logs(handle, 1, 1) == [lines[1]]


def test_a_failing_run_reports_its_cause(photon, settings, tmp_path):
    missing = str(tmp_path / "nope.csv")
    run = make_run(settings, tmp_path, missing)
    handle = photon.submit(run)
    state = wait_terminal(photon, handle)
    assert state.state == State.FAILED
    assert "SourceError" in state.message and missing in state.message
    assert photon.result(handle)["status"] == "Failed"
    assert any("ERROR" in line and missing in line for line in photon.logs(handle, 0, 100))


def test_cancel_stops_the_spark_jobs_of_the_run_at_once(photon, settings, tmp_path, spark):
    big = write_big_gzip_csv(tmp_path / "big.csv.gz")
    run = make_run(settings, tmp_path, str(big), outputs=[{"path": str(tmp_path / "o" / "big.csv"),
                                                           "action": "overwrite", "format": "csv"}])
    handle = photon.submit(run)
    tracker = spark.sparkContext.statusTracker()
    # Wait until the full scan is running (the header read is a tiny job of its own).
    wait_for(lambda: any((info := tracker.getJobInfo(j)) and info.status == "RUNNING"
                         for j in tracker.getJobIdsForGroup(run.tag)), timeout=300, what="a running Spark job")
    progress = photon.progress(handle)
    assert progress is not None and 0 <= progress <= 99
    began = time.monotonic()
    photon.cancel(handle)
    state = wait_terminal(photon, handle, timeout=120)
    took = time.monotonic() - began
    assert state.state == State.CANCELED, state
    assert took < 15, f"cancel took {took:.1f} s"
    assert photon.result(handle)["status"] == "Canceled"
    assert all(tracker.getJobInfo(j).status != "RUNNING" for j in tracker.getJobIdsForGroup(run.tag))
    photon.cancel(handle)  # idempotent


def test_a_run_from_a_previous_process_is_failed_with_the_restart_message(photon):
    state = photon.recover(Handle(environment="photon", tag="jg-1-gone", external_id="pid:1",
                                  data={"resultUri": "/nowhere/1.json"}))
    assert state == RunState(State.FAILED, RESTART_MESSAGE)


def test_shares_an_existing_session_started_in_the_background(settings, spark):
    env = PhotonEnvironment(settings)  # no session given: it looks for one in the background
    try:
        assert env.session(timeout=60).sparkContext is spark.sparkContext
        assert env._owns_session is False
    finally:
        env.close()
    assert not spark.sparkContext._jsc.sc().isStopped()  # the borrowed session is not stopped


OWN_SESSION_SCRIPT = r'''
import json, sys, time
sys.path.insert(0, sys.argv[2])
from launcher.settings import load_settings
from launcher.environments.photon import PhotonEnvironment
from test_photon import make_run, wait_terminal

home, data = sys.argv[1], sys.argv[3]
settings = load_settings(home=home, environments={"photon": {"concurrency": 2, "master": "local[2]"}})
settings.ensure_dirs()
env = PhotonEnvironment(settings)          # returns at once; the session starts behind it
report = {"ready_at_construction": env.ready}
run = make_run(settings, None, data, outputs=[{"path": home + "/o/big.csv", "action": "overwrite", "format": "csv"}])
handle = env.submit(run)                   # accepted before the session is up
report["state_after_submit"] = env.poll(handle).state.value
spark = env.session(timeout=600)
jsc = spark.sparkContext._jsc.sc()
report["scheduler_mode"] = spark.sparkContext.getConf().get("spark.scheduler.mode")
report["pools"] = [name for name in ("photon-0", "photon-1", "photon-2") if jsc.getPoolForName(name).isDefined()]
busy = None
deadline = time.monotonic() + 600
while time.monotonic() < deadline and busy is None and not env.poll(handle).has_terminated():
    for name in ("photon-0", "photon-1"):
        pool = jsc.getPoolForName(name)
        if pool.isDefined() and pool.get().runningTasks() > 0:
            busy = name
    time.sleep(0.05)
report["busy_pool"] = busy
env.cancel(handle)
report["final"] = wait_terminal(env, handle).state.value
report["owns_session"] = env._owns_session
env.close()
report["kept_after_close"] = spark.sparkContext._jsc is not None
env.close(stop_session=True)
report["stopped"] = spark.sparkContext._jsc is None
print("REPORT " + json.dumps(report))
'''


@pytest.mark.slow
def test_photon_starts_its_own_session_in_the_background_with_fair_pools(tmp_path):
    """What `launcher serve` does: no session exists, photon makes one (a separate process)."""
    import os
    import subprocess
    import sys

    data = write_big_gzip_csv(tmp_path / "big.csv.gz", repeats=20)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHER_", "PYSPARK_"))}
    proc = subprocess.run(
        [sys.executable, "-c", OWN_SESSION_SCRIPT, str(tmp_path / "home"), str(Path(__file__).parent), str(data)],
        capture_output=True, text=True, timeout=900, env=env, cwd=str(Path(__file__).resolve().parents[2]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.split("REPORT ", 1)[1])
    assert report["ready_at_construction"] is False
    assert report["state_after_submit"] == "PENDING"
    assert report["scheduler_mode"] == "FAIR"
    assert report["pools"] == ["photon-0", "photon-1"]  # declared up front, one per worker slot
    assert report["busy_pool"] in ("photon-0", "photon-1")  # the run's tasks ran in its pool
    assert report["final"] == "CANCELED"
    assert report["owns_session"] is True and report["kept_after_close"] is True and report["stopped"] is True
    # log4j2 quiet: Spark's INFO chatter does not reach the console.
    assert " INFO " not in proc.stderr, proc.stderr[-2000:]
