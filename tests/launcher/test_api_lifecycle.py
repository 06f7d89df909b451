"""A job group's life through HTTP: cancel while it runs; a launcher killed with work queued and
running, then started again (real `launcher serve` processes)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from api_harness import ROOT, add_user, api, free_port, read_csv_rows  # noqa: F401 (fixture)

SLOW_ROWS = 200_000


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """A source big enough that sorting it takes a while (linked into each test's root)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rnd = random.Random(7)
    with open(path, "w") as f:
        f.write("id,key,amount,label\n")
        for i in range(SLOW_ROWS):
            f.write(f"{i},{rnd.randrange(1000)},{rnd.random() * 1000:.3f},label-{rnd.randrange(50000)}\n")
    return path


SLOW_RECIPE = [{"op": "settype", "col": ["amount"], "type": "Decimal"}, {"op": "sort", "order": ["-amount", "label"]},
               {"op": "derive", "value": "amount * 2", "as": "twice"}]


def test_cancel_a_running_job_group(api, big_csv):
    os.link(big_csv, api.root / "big.csv")
    (api.root / "out").mkdir()
    old = api.root / "out" / "sorted.csv"
    old.write_text("previous results\n")
    ds = api.wrangled(api.imported(api.root / "big.csv"), SLOW_RECIPE)
    body = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "profiler": True, "writesettings": [
        {"path": str(old), "action": "overwrite", "format": "csv", "asSingleFile": True}]}}
    gid = api.ok(api.post("/v4/jobGroups", body), 201)["id"]
    assert api.wait(gid, until=("InProgress", "Complete", "Failed", "Canceled")) == "InProgress"
    answer = api.ok(api.post(f"/v4/jobGroups/{gid}/cancel"))
    assert answer["id"] == gid
    assert api.wait(gid, timeout=120) == "Canceled"
    jobs = api.ok(api.get(f"/v4/jobGroups/{gid}/jobs"))["data"]
    assert {j["status"] for j in jobs} == {"Canceled"}
    assert old.read_text() == "previous results\n"  # overwrite keeps the old results when canceled
    r = api.post(f"/v4/jobGroups/{gid}/cancel")
    assert r.status_code == 409 and "already ended Canceled" in r.json()["exception"]["message"]


def test_cancel_a_queued_job_group_is_at_once(api):
    """The dispatcher holds the group (not started): it ends Canceled without running."""
    ds = api.wrangled(api.imported(api.root / "orders.csv"))
    body = {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "writesettings": [
        {"path": str(api.root / "q.csv"), "action": "overwrite", "format": "csv"}]}}
    api.app.state.ctx.dispatcher.stop()  # nothing is taken off the queue any more
    gid = api.ok(api.post("/v4/jobGroups", body), 201)["id"]
    assert api.ok(api.get(f"/v4/jobGroups/{gid}/status")) == "Pending"
    assert api.ok(api.post(f"/v4/jobGroups/{gid}/cancel"))["status"] == "Canceled"
    assert not (api.root / "q.csv").exists()
    api.app.state.ctx.dispatcher.start()


class Server:
    """`launcher serve` as its own process on a free port; killed by its PID."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([str(Path(sys.executable).with_name("launcher")), "serve", "--port", str(self.port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=env["TEST_CWD"])
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"launcher serve did not start: {log.read_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(60)
        self.log.close()


def test_restart_with_work_running_and_queued(tmp_path, big_csv, launcher_home):
    """Killed while A runs in-process and B waits: after the restart A is Failed saying the
    launcher restarted, and B runs to Complete."""
    root = tmp_path / "data"
    root.mkdir()
    os.link(big_csv, root / "big.csv")
    env = {**os.environ, "LAUNCHER_HOME": str(launcher_home), "LAUNCHER_STORAGE_ROOTS": f'["{root}"]',
           "LAUNCHER_ENVIRONMENTS__PHOTON__CONCURRENCY": "1", "PYSPARK_PYTHON": sys.executable,
           "TEST_CWD": str(tmp_path)}
    env.pop("LAUNCHER_CONFIG", None)
    log = tmp_path / "serve.log"
    first = Server(env, log)
    try:
        from launcher.settings import load_settings
        from launcher.store.db import make_engine, session_factory

        # The server's own store, opened here to give alice a token.
        engine = make_engine(load_settings(home=launcher_home).database_url)
        token = add_user(session_factory(engine), "alice")
        h = {"Authorization": f"Bearer {token}"}

        def post(path, body):
            r = requests.post(first.url + path, json=body, headers=h, timeout=30)
            assert r.status_code == 201, r.text
            return r.json()

        big = post("/v4/importedDatasets", {"name": "big", "uri": str(root / "big.csv")})["id"]
        slow = post("/v4/wrangledDatasets", {"name": "slow", "importedDataset": {"id": big}, "recipe": SLOW_RECIPE})["id"]
        (root / "orders.csv").write_bytes((ROOT / "examples" / "data" / "orders.csv").read_bytes())
        orders = post("/v4/importedDatasets", {"name": "orders", "uri": str(root / "orders.csv")})["id"]
        small = post("/v4/wrangledDatasets", {"name": "small", "importedDataset": {"id": orders}})["id"]
        a = post("/v4/jobGroups", {"wrangledDataset": {"id": slow}, "overrides": {"execution": "photon", "writesettings": [
            {"path": str(root / "a.csv"), "action": "overwrite", "format": "csv"}]}})["id"]
        b = post("/v4/jobGroups", {"wrangledDataset": {"id": small}, "overrides": {"execution": "photon", "writesettings": [
            {"path": str(root / "b.csv"), "action": "create", "format": "csv", "header": True, "asSingleFile": True}]}})["id"]
        deadline = time.monotonic() + 300
        while requests.get(f"{first.url}/v4/jobGroups/{a}/status", headers=h).json() != "InProgress":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert requests.get(f"{first.url}/v4/jobGroups/{b}/status", headers=h).json() == "Pending"
    finally:
        first.kill()

    second = Server(env, log)
    try:
        status = {}
        deadline = time.monotonic() + 300
        while set(status.values()) - {"Complete", "Failed", "Canceled"} or len(status) < 2:
            status = {g: requests.get(f"{second.url}/v4/jobGroups/{g}/status", headers=h).json() for g in (a, b)}
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status == {a: "Failed", b: "Complete"}
        group_a = requests.get(f"{second.url}/v4/jobGroups/{a}?embed=jobs", headers=h).json()
        assert "restarted" in group_a["errorMessage"]
        assert {j["status"] for j in group_a["jobs"]["data"]} == {"Failed"}
        got = read_csv_rows(root / f"b_{b}.csv")
        src = read_csv_rows(root / "orders.csv")
        assert got[0] == src[0] and sorted(got[1:]) == sorted(src[1:])
    finally:
        second.kill(signal.SIGTERM)
        engine.dispose()
