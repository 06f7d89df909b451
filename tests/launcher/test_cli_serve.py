"""End to end through the console script: `launcher serve` as a real process with photon (real
local Spark), users and tokens made by the CLI, `launcher run --wait` and `launcher status`."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

LAUNCHER = Path(sys.executable).with_name("launcher")
ROWS = [["id", "city", "amount"], ["1", "Oslo", "10"], ["2", "Lima", "20"], ["3", "Pune", "30"]]


def _env(home: Path, data: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHER_")}
    env.update(LAUNCHER_HOME=str(home), LAUNCHER_STORAGE_ROOTS=json.dumps([str(data)]),
               PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               # one Spark slot is plenty here and leaves the other core to the test run
               LAUNCHER_ENVIRONMENTS__PHOTON__MASTER="local[1]", **extra)
    return env


def _cli(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(LAUNCHER), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def served(tmp_path, launcher_home):
    data = tmp_path / "data"
    data.mkdir()
    with open(data / "orders.csv", "w", newline="") as f:
        csv.writer(f).writerows(ROWS)
    env = _env(launcher_home, data)
    assert _cli(env, "users", "add", "ann", "--admin").returncode == 0
    made = _cli(env, "tokens", "create", "ann")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([str(LAUNCHER), "serve", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"launcher serve exited {proc.returncode}:\n"
                            f"{(tmp_path / 'serve.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("launcher serve did not answer /health within 120 s:\n"
                            + (tmp_path / "serve.log").read_text()[-3000:])
            time.sleep(0.2)
        yield {"url": url, "token": token, "env": {**env, "LAUNCHER_TOKEN": token}, "data": data,
               "log": tmp_path / "serve.log"}
    finally:
        proc.send_signal(signal.SIGTERM)  # uvicorn's graceful stop; the app stops its dispatcher
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def test_serve_run_wait_and_status(served, tmp_path):
    url, data = served["url"], served["data"]
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {served['token']}"}, timeout=30)
    imported = api.post("/v4/importedDatasets", json={"name": "orders", "uri": str(data / "orders.csv")})
    assert imported.status_code == 201, imported.text
    wrangled = api.post("/v4/wrangledDatasets", json={
        "name": "orders out", "importedDataset": {"id": imported.json()["id"]}, "recipe": []})
    assert wrangled.status_code == 201, wrangled.text
    wid = wrangled.json()["id"]

    out = data / "out" / "orders.csv"
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"wrangledDataset": {"id": wid}, "overrides": {
        "execution": "photon", "profiler": False,
        "writesettings": [{"path": str(out), "action": "overwrite", "format": "csv",
                           "header": True, "asSingleFile": True}]}}))
    res = _cli(served["env"], "run", str(body), "--wait", "--url", url, "--poll-interval", "0.2",
               "--timeout", "240", timeout=300)
    assert res.returncode == 0, res.stderr + "\n" + served["log"].read_text()[-3000:]
    group_id = int(res.stdout.strip())
    assert res.stderr.splitlines()[-1].startswith(f"job group {group_id} Complete")
    assert "100%" in res.stderr.splitlines()[-1]
    with open(out, newline="") as f:
        assert list(csv.reader(f)) == ROWS

    group = api.get(f"/v4/jobGroups/{group_id}").json()
    assert (group["status"], group["ranfrom"]) == ("Complete", "cli")
    res = _cli(served["env"], "status", str(group_id), "--url", url)
    assert (res.returncode, res.stdout) == (0, "Complete\n")

    # A re-run with the bare body uses the last run's settings; with the input gone it fails,
    # and --wait says so with the job's error and a non-zero exit.
    (data / "orders.csv").unlink()
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"wrangledDataset": {"id": wid}}))
    res = _cli(served["env"], "run", str(bare), "--wait", "--url", url, "--poll-interval", "0.2",
               "--timeout", "240", timeout=300)
    assert res.returncode == 1, res.stderr
    assert f"job group {int(res.stdout)} ended Failed" in res.stderr
    assert "no such file or folder" in res.stderr and "orders.csv" in res.stderr
    api.close()
