"""photon as `launcher serve` runs it: the session and the runs in a real worker process.

One worker (and its JVM) serves the module; one test kills it with SIGKILL and checks that its
run ends Failed with the cause and that the next submit starts a new worker.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from launcher.environments.base import Handle, RunState, State
from launcher.environments.photon import RESTART_MESSAGE, build
from launcher.environments.photon_process import PhotonProcess
from test_dispatch_support import wait_for, write_big_gzip_csv, write_csv
from test_photon import make_run, wait_terminal

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def proc_settings(tmp_path_factory):
    from launcher.settings import load_settings

    home = tmp_path_factory.mktemp("photon-process-home")
    s = load_settings(home=home, environments={"photon": {"concurrency": 2, "master": "local[2]", "nice": 7}})
    s.ensure_dirs()
    return s


@pytest.fixture(scope="module")
def photon(proc_settings):
    env = build(proc_settings)  # no session given, isolation "process" by default
    assert isinstance(env, PhotonProcess)
    changed: list[str] = []
    env.set_listener(changed.append)
    env.changed = changed
    yield env
    env.close()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_the_worker_and_its_jvm_run_at_the_configured_niceness(photon):
    wait_for(lambda: photon.ready, timeout=300, what="the worker's SparkSession")
    worker = photon._worker.pid
    assert worker != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, worker) == 7
    jvms = [p for p in _children(worker) if "java" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]
    assert jvms, "the worker runs its own JVM"
    assert all(os.getpriority(os.PRIO_PROCESS, p) == 7 for p in jvms)
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) == 0  # the API's process is left as it was


def test_a_run_completes_in_the_worker_and_is_read_back_here(photon, proc_settings, tmp_path):
    src = write_csv(tmp_path / "in.csv", [("id", "name"), (1, "a"), (2, "b")])
    out = tmp_path / "out.csv"
    run = make_run(proc_settings, tmp_path, str(src), recipe=[{"op": "rename", "mapping": {"name": "who"}}],
                   outputs=[{"path": str(out), "action": "create", "format": "csv", "header": True,
                             "asSingleFile": True}])
    handle = photon.submit(run)
    assert handle.data["pid"] == photon._worker.pid
    assert wait_terminal(photon, handle) == RunState(State.SUCCEEDED)
    assert photon.result(handle)["status"] == "Complete"
    assert out.read_text().splitlines() == ["id,who", "1,a", "2,b"]
    lines = photon.logs(handle, 0, 100)
    assert lines[-1].split(": ", 1)[1].startswith(f"job group {run.job_group_id}: Complete in ")
    assert run.tag in photon.changed  # the worker said at once that the run ended


def test_a_failing_run_reports_its_cause(photon, proc_settings, tmp_path):
    missing = str(tmp_path / "nope.csv")
    handle = photon.submit(make_run(proc_settings, tmp_path, missing))
    state = wait_terminal(photon, handle)
    assert state.state == State.FAILED and "SourceError" in state.message and missing in state.message


def test_cancel_reaches_the_run_in_the_worker(photon, proc_settings, tmp_path):
    big = write_big_gzip_csv(tmp_path / "big.csv.gz")
    run = make_run(proc_settings, tmp_path, str(big), outputs=[{"path": str(tmp_path / "o" / "big.csv"),
                                                                "action": "overwrite", "format": "csv"}])
    handle = photon.submit(run)
    wait_for(lambda: (photon.progress(handle) or 0) > 0 or photon.poll(handle).state == State.RUNNING,
             timeout=300, what="the run to start")
    photon.cancel(handle)
    state = wait_terminal(photon, handle, timeout=120)
    assert state.state == State.CANCELED, state
    assert not (tmp_path / "o" / "big.csv").exists()  # nothing half-written


def test_a_handle_from_before_a_launcher_restart_fails_with_the_restart_message(photon):
    gone = Handle(environment="photon", tag="jg-1-old", external_id="pid:1",
                  data={"resultUri": "/nowhere/1.json", "pid": 1})
    assert photon.recover(gone) == RunState(State.FAILED, RESTART_MESSAGE)


def test_a_killed_worker_fails_its_runs_and_the_next_run_gets_a_new_worker(photon, proc_settings, tmp_path):
    big = write_big_gzip_csv(tmp_path / "big.csv.gz")
    run = make_run(proc_settings, tmp_path, str(big), outputs=[{"path": str(tmp_path / "o" / "big.csv"),
                                                                "action": "overwrite", "format": "csv"}])
    handle = photon.submit(run)
    old = photon._worker.pid
    wait_for(lambda: photon.poll(handle).state == State.RUNNING, timeout=300, what="the run to start")
    os.kill(old, signal.SIGKILL)
    state = wait_terminal(photon, handle, timeout=60)
    assert state.state == State.FAILED
    assert state.message == (f"the photon worker process (pid {old}) was killed by signal 9 "
                             f"while this run was in it; run it again")
    assert run.tag in photon.changed
    assert photon.ready is False

    src = write_csv(tmp_path / "in.csv", [("id",), (1,)])
    again = photon.submit(make_run(proc_settings, tmp_path, str(src)))
    assert photon._worker.pid != old
    assert wait_terminal(photon, again, timeout=300) == RunState(State.SUCCEEDED)
    assert photon.poll(handle).state == State.FAILED  # the old run stays failed


def test_close_stops_the_worker_and_its_jvm(proc_settings):
    env = PhotonProcess(proc_settings)
    wait_for(lambda: env.ready, timeout=300, what="the worker's SparkSession")
    worker = env._worker.pid
    jvms = _children(worker)
    assert jvms
    closer = threading.Thread(target=env.close)
    closer.start()
    closer.join(60)
    assert not closer.is_alive()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() and
                                              "zombie" not in _state(p) for p in [worker, *jvms]):
        time.sleep(0.2)
    assert not Path(f"/proc/{worker}").exists()
    assert all(not Path(f"/proc/{p}").exists() or "zombie" in _state(p) for p in jvms)
    with pytest.raises(RuntimeError, match="shut down"):
        env.submit(make_run(proc_settings, None, "/x.csv"))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split("\n", 1)[0].lower()
    except (OSError, IndexError):
        return "gone"
