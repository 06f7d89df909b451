"""``execution: "spark"`` through the launcher's HTTP API on the real standalone cluster: client
mode and cluster mode end to end, cancel in the middle of a run, and ``kill -9`` of a real
``launcher serve`` in the middle of a cluster-mode job, then a restart that finds the job again
and follows it to complete outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_harness import free_port, make_settings

from .conftest import EXPECTED, ROWS, read_csv, write_input

pytestmark = pytest.mark.slow
TERMINAL = ("Complete", "Failed", "Canceled")
LAUNCHER = Path(sys.executable).with_name("launcher")


def spark_section(cluster, deploy_mode: str) -> dict:
    # One executor core per run keeps tiny jobs light on a 2-core machine; it still runs on
    # executors of the cluster, next to a driver that (in cluster mode) takes a core of its own.
    return dict(master=cluster.master_url, deploy_mode=deploy_mode, rest_url=cluster.rest_url,
                master_ui_url=cluster.webui_url, driver_memory="512m", executor_memory="512m",
                total_executor_cores=1, poll_interval_seconds=0.5)


class InProcess:
    """The app, the store and a Dispatcher with only the spark environment (no photon JVM)."""

    def __init__(self, settings):
        from fastapi.testclient import TestClient

        from launcher.api.app import create_app
        from launcher.dispatch import Dispatcher
        from launcher.environments import build_environment
        from launcher.store.db import make_engine, session_factory, upgrade

        self.engine = make_engine(settings.database_url)
        upgrade(self.engine)
        sessions = session_factory(self.engine)
        self.dispatcher = Dispatcher(settings, sessions, {"spark": build_environment(settings, "spark")})
        self.app = create_app(settings, dispatcher=self.dispatcher)
        self.client = TestClient(self.app).__enter__()
        self.dispatcher.start()
        self.token = add_user(sessions, "alice")

    def call(self, method: str, path: str, body=None, status: int = 200):
        r = self.client.request(method, path, json=body, headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == status, r.text
        return r.json()

    def stop(self) -> None:
        self.dispatcher.stop()
        self.client.__exit__(None, None, None)
        self.engine.dispose()


def add_user(sessions, name: str) -> str:
    """A user and a token of theirs, through the store's own functions."""
    from launcher import auth
    from launcher.store import repo_users

    with sessions() as s:
        user = repo_users.get_user_by_name(s, name) or repo_users.create_user(s, name)
        secret = auth.create_token(s, user).secret
        s.commit()
    return secret


def wait_status(call, gid: int, until=TERMINAL, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while (status := call("GET", f"/v4/jobGroups/{gid}/status")) not in until:
        assert time.monotonic() < deadline, call("GET", f"/v4/jobGroups/{gid}?embed=jobs")
        time.sleep(0.2)
    return status


def start_job_group(call, data: Path, out: Path) -> tuple[int, list[int]]:
    src = write_input(data)
    imported = call("POST", "/v4/importedDatasets", {"name": "orders", "uri": str(src)}, status=201)["id"]
    wrangled = call("POST", "/v4/wrangledDatasets", {
        "name": "orders shout", "importedDataset": {"id": imported},
        "recipe": [{"op": "derive", "value": "UPPER(name)", "as": "shout"}]}, status=201)["id"]
    made = call("POST", "/v4/jobGroups", {"wrangledDataset": {"id": wrangled}, "overrides": {
        "execution": "spark", "profiler": False,
        "writesettings": [{"path": str(out), "action": "overwrite", "format": "csv",
                           "header": True, "asSingleFile": True}]}}, status=201)
    return made["id"], [j["id"] for j in made["jobs"]["data"]]


def active_app(cluster, gid: int) -> bool:
    return any(a["name"].startswith(("jg-", "jobGroup-")) and (a["name"] == f"jobGroup-{gid}" or
               a["name"].startswith(f"jg-{gid}-")) for a in cluster.state()["activeapps"])


def test_client_mode_on_the_standalone_cluster_end_to_end(cluster, launcher_home, tmp_path):
    data = tmp_path / "data"
    settings = make_settings(launcher_home, [str(data)],
                             environments={"spark": spark_section(cluster, "client")})
    app = InProcess(settings)
    try:
        out = data / "out" / "orders.csv"
        gid, jobs = start_job_group(app.call, data, out)
        assert wait_status(app.call, gid) == "Complete", app.call("GET", f"/v4/jobGroups/{gid}?embed=jobs")
        assert read_csv(out) == EXPECTED
        outputs = app.call("GET", f"/v4/jobGroups/{gid}/outputs")
        assert json.dumps(outputs).count(str(out)) >= 1 and f'"rows": {len(ROWS)}' in json.dumps(outputs)

        page = app.call("GET", f"/v4/jobs/{jobs[0]}/log?from=0&size=3")
        assert page["data"][0].startswith(f"[launcher] job group {gid}, tag jg-{gid}-")
        assert "user alice" in page["data"][0] and "client mode" in page["data"][0]
        assert page["next"] == 3
        full = app.call("GET", f"/v4/jobs/{jobs[0]}/log?from=0&size=10000")["data"]
        assert any(f"job group {gid}: Complete" in line for line in full)
    finally:
        app.stop()


def test_cancel_in_the_middle_of_a_cluster_mode_run(cluster, launcher_home, tmp_path):
    data = tmp_path / "data"
    settings = make_settings(launcher_home, [str(data)],
                             environments={"spark": spark_section(cluster, "cluster")})
    app = InProcess(settings)
    try:
        out = data / "out" / "orders.csv"
        out.parent.mkdir(parents=True)
        out.write_text("old,results\n")
        gid, jobs = start_job_group(app.call, data, out)
        deadline = time.monotonic() + 180
        while not active_app(cluster, gid):  # the driver runs on a worker, its app registered
            assert time.monotonic() < deadline
            assert app.call("GET", f"/v4/jobGroups/{gid}/status") not in TERMINAL
            time.sleep(0.3)
        app.call("POST", f"/v4/jobGroups/{gid}/cancel", status=200)
        assert wait_status(app.call, gid, timeout=90) == "Canceled"
        group = app.call("GET", f"/v4/jobGroups/{gid}?embed=jobs")
        assert {j["status"] for j in group["jobs"]["data"]} == {"Canceled"}
        assert out.read_text() == "old,results\n"
        assert [p.name for p in out.parent.iterdir()] == ["orders.csv"]  # no staging left behind
        handle = _handle(settings, gid)
        driver = next(d for d in cluster.state()["completeddrivers"] if d["id"] == handle["external_id"])
        assert driver["state"] == "KILLED"
    finally:
        app.stop()


def _handle(settings, gid: int) -> dict:
    from launcher.store.db import make_engine, session_factory
    from launcher.store.models import JobGroup

    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as s:
            return dict(s.get(JobGroup, gid).handle)
    finally:
        engine.dispose()


# -- a real launcher process, killed -----------------------------------------------------------

def _serve(env: dict, port: int, log: Path, cwd: Path) -> subprocess.Popen:
    with open(log, "a") as f:
        proc = subprocess.Popen([str(LAUNCHER), "serve", "--port", str(port)], env=env, stdout=f,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def test_kill_9_of_the_launcher_mid_cluster_mode_job_then_restart_completes_it(cluster, launcher_home, tmp_path):
    data = tmp_path / "data"
    config = tmp_path / "launcher.toml"
    lines = ["[environments.photon]", 'master = "local[1]"', "", "[environments.spark]"]
    for key, value in spark_section(cluster, "cluster").items():
        lines.append(f"{key} = {json.dumps(value)}")
    config.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHER_")}
    env.update(LAUNCHER_HOME=str(launcher_home), LAUNCHER_CONFIG=str(config),
               LAUNCHER_STORAGE_ROOTS=json.dumps([str(data)]), PYSPARK_PYTHON=sys.executable)
    cli = lambda *a: subprocess.run([str(LAUNCHER), *a], env=env, capture_output=True, text=True, timeout=120)
    assert cli("users", "add", "alice").returncode == 0
    token = cli("tokens", "create", "alice").stdout.strip()
    port = free_port()
    log = tmp_path / "serve.log"

    def call(method, path, body=None, status=200):
        r = httpx.request(method, f"http://127.0.0.1:{port}{path}", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == status, r.text
        return r.json()

    first = _serve(env, port, log, tmp_path)
    try:
        out = data / "out" / "orders.csv"
        gid, jobs = start_job_group(call, data, out)
        deadline = time.monotonic() + 180
        while not active_app(cluster, gid):  # mid-run on the cluster
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        assert call("GET", f"/v4/jobGroups/{gid}/status") == "InProgress"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert not out.exists()

    second = _serve(env, port, log, tmp_path)
    try:
        assert wait_status(call, gid, timeout=300) == "Complete", call("GET", f"/v4/jobGroups/{gid}?embed=jobs")
        assert read_csv(out) == EXPECTED
        group = call("GET", f"/v4/jobGroups/{gid}?embed=jobs")
        assert {j["status"] for j in group["jobs"]["data"]} == {"Complete"}
        writer = call("GET", f"/v4/jobGroups/{gid}/outputs")
        assert f'"rows": {len(ROWS)}' in json.dumps(writer)
        logs = call("GET", f"/v4/jobs/{jobs[0]}/log?from=0&size=10000")["data"]
        assert any(f"job group {gid}: Complete" in line for line in logs)  # the driver's, kept
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(60)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait(10)
