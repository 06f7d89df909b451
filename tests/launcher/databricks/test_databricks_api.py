"""databricksSpark through the launcher's HTTP API: the real app, store and Dispatcher, the
adapter on the real databricks-sdk, the emulator running the wheel with spark-submit.

One spark-submit: a job group that starts under one launcher and is finished by the next one
(the store is all they share). The other cases end before any Spark starts.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pytest
from conftest import TOKEN_ENV

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/launcher: the API harness

from api_harness import add_user, make_settings as launcher_settings  # noqa: E402

from launcher.environments.databricks import DatabricksEnvironment  # noqa: E402

TERMINAL = ("Complete", "Failed", "Canceled")


class Launcher:
    """One launcher process's worth: app + Dispatcher + the databricksSpark adapter."""

    def __init__(self, settings, wheel_cache, environments=None):
        from fastapi.testclient import TestClient

        from launcher.api.app import create_app
        from launcher.dispatch import Dispatcher
        from launcher.store.db import make_engine, session_factory, upgrade

        self.engine = make_engine(settings.database_url)
        upgrade(self.engine)
        if environments is None:
            section = settings.environments.databricksSpark
            environments = {"databricksSpark": DatabricksEnvironment(
                section, Path(settings.home) / "databricks", wheel_cache=wheel_cache)}
        self.dispatcher = Dispatcher(settings, session_factory(self.engine), environments)
        self.app = create_app(settings, dispatcher=self.dispatcher)
        self.client = TestClient(self.app).__enter__()
        self.dispatcher.start()
        self.token = add_user(self.app.state.ctx.sessions, "alice")

    def h(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, path, body):
        return self.client.post(path, json=body, headers=self.h())

    def get(self, path):
        r = self.client.get(path, headers=self.h())
        assert r.status_code == 200, r.text
        return r.json()

    def wait(self, gid: int, until=TERMINAL, timeout: float = 400) -> str:
        deadline = time.monotonic() + timeout
        while (status := self.get(f"/v4/jobGroups/{gid}/status")) not in until:
            assert time.monotonic() < deadline, self.get(f"/v4/jobGroups/{gid}?embed=jobs")
            time.sleep(0.1)
        return status

    def stop(self) -> None:
        self.dispatcher.stop()
        self.client.__exit__(None, None, None)
        self.engine.dispose()


def _settings(launcher_home, root, em, **databricks):
    section = dict(host=em.host, token_env=TOKEN_ENV, existing_cluster_id="0101-emulated",
                   run_as_map={"alice": "alice@example.com"}, poll_interval_seconds=0.5,
                   retry_budget_seconds=20)
    section.update(databricks)
    return launcher_settings(launcher_home, [str(root)], environments={"databricksSpark": section})


def _dataset(launcher: Launcher, root: Path) -> int:
    src = root / "people.csv"
    src.write_text("name,age\nada,36\ngrace,45\nlinus,28\n")
    r = launcher.post("/v4/importedDatasets", {"name": "people", "uri": str(src)})
    assert r.status_code == 201, r.text
    r = launcher.post("/v4/wrangledDatasets", {"name": "people_out", "importedDataset": {"id": r.json()["id"]},
                                               "recipe": [{"op": "rename", "mapping": {"name": "person"}}]})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _body(wid: int, out: Path) -> dict:
    return {"wrangledDataset": {"id": wid}, "overrides": {
        "execution": "databricksSpark", "profiler": False,
        "writesettings": [{"path": str(out), "action": "overwrite", "format": "csv", "header": True,
                           "asSingleFile": True}]}}


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "data"
    r.mkdir()
    return r


def test_a_job_group_survives_a_launcher_restart_and_completes(em, wheel_cache, launcher_home, root):
    settings = _settings(launcher_home, root, em)
    first = Launcher(settings, wheel_cache)
    wid = _dataset(first, root)
    out = root / "people_out.csv"
    r = first.post("/v4/jobGroups", _body(wid, out))
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert first.wait(gid, until=("InProgress", *TERMINAL)) == "InProgress"
    first.stop()  # the launcher goes away while Databricks runs the job

    second = Launcher(settings, wheel_cache)
    try:
        assert second.wait(gid) == "Complete", second.get(f"/v4/jobGroups/{gid}?embed=jobs")
        group = second.get(f"/v4/jobGroups/{gid}?embed=jobs")
        assert group["execution"] == "databricksSpark"
        assert {j["jobType"]: j["status"] for j in group["jobs"]["data"]} == {
            "wrangle": "Complete", "filewriter": "Complete"}
        [output] = second.get(f"/v4/jobGroups/{gid}/outputs")["data"]
        assert output["path"] == str(out) and output["rows"] == 3
        with open(out, newline="") as f:
            assert list(csv.reader(f)) == [["person", "age"], ["ada", "36"], ["grace", "45"], ["linus", "28"]]
        wrangle = next(j for j in group["jobs"]["data"] if j["jobType"] == "wrangle")
        log = "\n".join(second.get(f"/v4/jobs/{wrangle['id']}/log?from=0&size=1000")["data"])
        assert "run as user alice@example.com (run_as_map)" in log
        assert "launcher restarted: following Databricks run" in log
        runs = [x for x in em.runs() if x["run_name"].startswith(f"launcher job group {gid} [")]
        assert len(runs) == 1 and runs[0]["run_as"] == {"user_name": "alice@example.com"}
    finally:
        second.stop()


def test_a_wrong_token_ends_the_group_failed_naming_the_setting(em, wheel_cache, launcher_home, root, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "dapi-not-the-right-one")
    launcher = Launcher(_settings(launcher_home, root, em), wheel_cache)
    try:
        wid = _dataset(launcher, root)
        r = launcher.post("/v4/jobGroups", _body(wid, root / "never.csv"))
        assert r.status_code == 201, r.text
        gid = r.json()["id"]
        assert launcher.wait(gid, timeout=60) == "Failed"
        group = launcher.get(f"/v4/jobGroups/{gid}?embed=jobs")
        for message in [group["errorMessage"]] + [j["errorMessage"] for j in group["jobs"]["data"]]:
            assert "Databricks refused the access token" in message and "token_env" in message
            assert "dapi-not-the-right-one" not in message
        assert not (root / "never.csv").exists()
    finally:
        launcher.stop()


def test_an_unconfigured_workspace_is_a_400_naming_the_setting(wheel_cache, launcher_home, root):
    settings = launcher_settings(launcher_home, [str(root)])
    launcher = Launcher(settings, wheel_cache, environments={})
    try:
        wid = _dataset(launcher, root)
        r = launcher.post("/v4/jobGroups", _body(wid, root / "never.csv"))
        assert r.status_code == 400, r.text
        assert "[environments.databricksSpark] host" in r.json()["exception"]["message"]
    finally:
        launcher.stop()
