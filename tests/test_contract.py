"""Black-box conformance with ../shared/CONTRACT.md sections 2 (command line) and 3 (HTTP API).

The launcher is used the way an outside test suite would use it: one real `launcher serve`
process (the console script, a temp LAUNCHER_HOME, a free port on 127.0.0.1, storage roots from
LAUNCHER_STORAGE_ROOTS, stopped by its PID at the end) shared by the whole module, users and
tokens made with `launcher users add` / `launcher tokens create`, HTTP through httpx, and
outputs read back with Python's csv, gzip, bz2 and json modules and pyarrow. Every job runs on
`photon`. Tests run in file order and share the server: the cancel test goes first, while
photon's Spark session is still starting, so the group is reliably caught before it ends.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = Path(sys.executable).with_name("launcher")
STATUSES = {"Created", "Pending", "InProgress", "Complete", "Failed", "Canceled"}
TERMINAL = {"Complete", "Failed", "Canceled"}

# The source every job reads: ids, a text column with a repeat, an amount that is numeric but
# for one empty and one invalid value, a note with a comma and an empty value.
SOURCE = [
    ["id", "city", "amount", "note"],
    ["1", "Oslo", "10", "a"],
    ["2", "Lima", "20.5", ""],
    ["3", "Pune", "30", "x, y"],
    ["4", "Oslo", "", "d"],
    ["5", "Kyiv", "abc", "e"],
]
RECIPE = [{"op": "rename", "mapping": {"note": "remark"}}]
HEADER = ["id", "city", "amount", "remark"]  # SOURCE after RECIPE
ROWS = SOURCE[1:]


# -- the server ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)


class Server:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.home = tmp / "home"
        self.data = tmp / "data"
        self.out = self.data / "out"
        self.out.mkdir(parents=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHER_", "DATABRICKS_"))}
        self.env.update(
            LAUNCHER_HOME=str(self.home), LAUNCHER_CONFIG=str(ROOT / "conf" / "launcher.toml"),
            LAUNCHER_STORAGE_ROOTS=json.dumps([str(self.data)]),
            PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
            SPARK_LOCAL_IP="127.0.0.1",
            # one Spark slot leaves the other core to the test process
            LAUNCHER_ENVIRONMENTS__PHOTON__MASTER="local[1]")
        self.tokens: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.log = None
        self.short_lived = ("", 0.0)  # a token made with --lifetime-seconds 1, and when
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def cli(self, *args: str, input: str | None = None, env: dict | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([str(LAUNCHER), *args], env=env or self.env, capture_output=True,
                              text=True, timeout=timeout, cwd=self.tmp,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def log_tail(self) -> str:
        path = self.tmp / "serve.log"
        return path.read_text()[-4000:] if path.exists() else ""

    def start_process(self) -> None:
        self.log = open(self.tmp / "serve.log", "w")
        self.proc = subprocess.Popen(
            [str(LAUNCHER), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.tmp, start_new_session=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"launcher serve exited {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"launcher serve did not answer /health in 120 s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.http.close()
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the PID is the group
                self.proc.wait(10)
        if self.log is not None:
            self.log.close()

    # -- HTTP, with the checks every answer must pass -----------------------------------------
    def call(self, method: str, path: str, user: str | None = None, *, token: str | None = None,
             headers: dict | None = None, **kw) -> httpx.Response:
        headers = dict(headers or {})
        token = token if token is not None else (self.tokens[user] if user else None)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        r = self.http.request(method, path, headers=headers, **kw)
        assert r.headers.get("X-Request-Id"), f"{method} {path} {r.status_code}: no X-Request-Id"
        assert r.status_code < 500, f"{method} {path} answered {r.status_code}: {r.text}\n{self.log_tail()}"
        if r.status_code >= 400 and not path.startswith(("/jobs", "/jobGroups", "/login")):
            check_error(r)
        return r

    def ok(self, method: str, path: str, user: str, status: int | tuple = 200, **kw):
        r = self.call(method, path, user, **kw)
        want = status if isinstance(status, tuple) else (status,)
        assert r.status_code in want, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def wait(self, gid: int, user: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while True:
            status = self.ok("GET", f"/v4/jobGroups/{gid}/status", user)
            assert status in STATUSES, status
            if status in TERMINAL:
                return status
            assert time.monotonic() < deadline, f"job group {gid} still {status}\n{self.log_tail()}"
            time.sleep(0.2)

    # -- datasets -------------------------------------------------------------------------------
    def imported(self, user: str, path: Path, **extra) -> int:
        body = {"name": path.stem, "uri": str(path), **extra}
        return self.ok("POST", "/v4/importedDatasets", user, (200, 201), json=body)["id"]

    def wrangled(self, user: str, imported: int | None = None, recipe=None, *, parent: int | None = None,
                 name: str = "ds") -> int:
        body: dict = {"name": name, "recipe": list(recipe or [])}
        if parent is not None:
            body["wrangledDataset"] = {"id": parent}
        else:
            body["importedDataset"] = {"id": imported}
        return self.ok("POST", "/v4/wrangledDatasets", user, (200, 201), json=body)["id"]


def check_error(r: httpx.Response) -> dict:
    """The one error shape: {"exception": {"name", "message", "details"}}."""
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert list(body) == ["exception"], body
    exc = body["exception"]
    assert set(exc) == {"name", "message", "details"}, exc
    assert isinstance(exc["name"], str) and exc["name"], exc
    assert isinstance(exc["message"], str) and exc["message"], exc
    return exc


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("contract"))
    _write_csv(s.data / "orders.csv", SOURCE)

    def add(name: str, *flags: str, password: str | None = None) -> None:
        made = s.cli("users", "add", name, *flags, input=password)
        assert made.returncode == 0, made.stderr
        tok = s.cli("tokens", "create", name, "--description", f"{name}'s contract token")
        assert tok.returncode == 0, tok.stderr
        assert tok.stdout.count("\n") == 1 and tok.stdout.endswith("\n"), repr(tok.stdout)
        s.tokens[name] = tok.stdout.strip()
        assert s.tokens[name] and " " not in s.tokens[name]

    add("boss", "--admin")  # the first command also creates the store, before serve opens it
    s.start_process()
    try:
        # The other users and tokens are made while the server starts up.
        with ThreadPoolExecutor(4) as pool:
            made = [pool.submit(add, "ann"), pool.submit(add, "bob"), pool.submit(add, "eve"),
                    pool.submit(add, "carl", "--password-stdin", password="s3cret-pass\n")]
            short = pool.submit(s.cli, "tokens", "create", "ann", "--lifetime-seconds", "1")
            for f in made:
                f.result()
        assert short.result().returncode == 0, short.result().stderr
        s.short_lived = (short.result().stdout.strip(), time.monotonic())
        s.wait_ready()
        yield s
    finally:
        s.stop()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def first_run_body(outputs: list[dict], *, profiler: bool = False, key: str = "writesettings",
                   ranfrom: object = ...) -> dict:
    body = {"overrides": {"execution": "photon", "profiler": profiler, key: outputs}}
    if ranfrom is not ...:
        body["ranfrom"] = ranfrom
    return body


def expected_dicts(header=HEADER, rows=ROWS) -> list[dict]:
    """The rows as JSON output holds them: every value text (csv sources are read as text),
    an empty csv field a null."""
    return [{h: (v if v != "" else None) for h, v in zip(header, r)} for r in rows]


def read_csv_text(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


# -- 2. the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("command, expected", [
    ([], ["serve", "users", "tokens", "run", "status"]),
    (["users"], ["add"]),
    (["tokens"], ["create"]),
    (["serve"], ["--host", "--port"]),
    (["users", "add"], ["NAME", "--admin", "--password-stdin"]),
    (["tokens", "create"], ["NAME", "--lifetime-seconds", "--description"]),
    (["run"], ["BODY", "--wait", "--url", "--token"]),
    (["status"], ["JOBGROUP_ID", "--url", "--token"]),
])
def test_every_command_has_help(command, expected):
    res = subprocess.run([str(LAUNCHER), *command, "--help"], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: launcher"), res.stdout
    for word in expected:
        assert word in res.stdout, (word, res.stdout)


# -- 3. the HTTP API ------------------------------------------------------------------------------

def test_cancel_stops_the_group_and_keeps_old_results(srv):
    """First on purpose: photon's session is still starting, so the group cannot end before the
    cancel arrives. overwrite + cancel must leave the old file as it was."""
    big = srv.data / "big.csv"
    _write_csv(big, [SOURCE[0]] + [[str(i), f"city{i % 7}", str(i % 100), "n"] for i in range(100_000)])
    ds = srv.wrangled("ann", srv.imported("ann", big), [{"op": "sort", "order": ["-id"]}], name="big")
    target = srv.out / "cancel.csv"
    target.write_text("old results\n")
    body = {"wrangledDataset": {"id": ds}, **first_run_body(
        [{"path": str(target), "action": "overwrite", "format": "csv", "asSingleFile": True}], ranfrom="ui")}
    gid = srv.ok("POST", "/v4/jobGroups", "ann", 201, json=body)["id"]
    srv.ok("POST", f"/v4/jobGroups/{gid}/cancel", "ann", (200, 202))
    assert srv.wait(gid, "ann", timeout=120) == "Canceled"
    group = srv.ok("GET", f"/v4/jobGroups/{gid}?embed=jobs", "ann")
    assert (group["status"], group["ranfrom"]) == ("Canceled", "ui")
    assert all(j["status"] in ("Canceled", "Complete") for j in group["jobs"]["data"]), group
    assert any(j["status"] == "Canceled" for j in group["jobs"]["data"]), group
    assert target.read_text() == "old results\n"
    assert sorted(p.name for p in srv.out.iterdir() if "cancel" in p.name) == ["cancel.csv"]
    # Ended: cancel again is a conflict, not a second cancel.
    r = srv.call("POST", f"/v4/jobGroups/{gid}/cancel", "ann")
    assert r.status_code == 409


def test_health_needs_no_token_and_every_answer_has_a_request_id(srv):
    r = srv.call("GET", "/health")
    assert r.status_code == 200 and r.headers["X-Request-Id"]
    doc = srv.call("GET", "/openapi.json", "ann")
    assert doc.status_code == 200
    assert srv.call("GET", "/openapi.json").status_code == 401  # only /health is open
    # Every endpoint of the contract, whatever its path parameters are called.
    paths = {re.sub(r"\{[^}]+\}", "{}", p): ops for p, ops in doc.json()["paths"].items()}
    for v in ("v3", "v4"):
        for method, path in (("post", "/jobGroups"), ("get", "/jobGroups"), ("get", "/jobGroups/{}"),
                             ("get", "/jobGroups/{}/status"), ("get", "/jobGroups/{}/jobs"),
                             ("post", "/jobGroups/{}/cancel"), ("get", "/jobGroups/{}/outputs"),
                             ("get", "/jobGroups/{}/profile"), ("get", "/jobs/{}/log")):
            assert method in paths.get(f"/{v}{path}", {}), (method, f"/{v}{path}", sorted(paths))
    for method, path in (("post", "/v4/importedDatasets"), ("get", "/v4/importedDatasets/{}"),
                         ("post", "/v4/wrangledDatasets"), ("get", "/v4/wrangledDatasets/{}"),
                         ("put", "/v4/wrangledDatasets/{}/recipe"), ("post", "/v4/wrangledDatasets/{}/permissions"),
                         ("post", "/v4/apiAccessTokens"), ("get", "/health")):
        assert method in paths.get(path, {}), (method, path, sorted(paths))
    log_params = {p["name"] for p in paths["/v4/jobs/{}/log"]["get"].get("parameters", [])}
    assert {"from", "size"} <= log_params
    # Two requests, two ids.
    assert srv.call("GET", "/health").headers["X-Request-Id"] != r.headers["X-Request-Id"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/v4/jobGroups"), ("GET", "/v3/jobGroups/1"), ("GET", "/v4/jobGroups/1/status"),
    ("POST", "/v4/jobGroups"), ("POST", "/v3/jobGroups"), ("GET", "/v4/jobs/1/log"),
    ("POST", "/v4/apiAccessTokens"), ("GET", "/v4/wrangledDatasets/1"), ("POST", "/v4/importedDatasets"),
])
def test_missing_and_unknown_tokens_get_401(srv, method, path):
    kw = {"json": {}} if method == "POST" else {}
    for token in (None, "lt_not-a-real-token"):
        r = srv.call(method, path, token=token, **kw)
        assert r.status_code == 401, (token, r.text)
        check_error(r)


def test_expired_token_gets_401(srv):
    token, made_at = srv.short_lived  # `launcher tokens create ann --lifetime-seconds 1`
    time.sleep(max(0.0, made_at + 1.2 - time.monotonic()))
    r = srv.call("GET", "/v4/jobGroups", token=token)
    assert r.status_code == 401
    check_error(r)


def test_api_access_tokens(srv):
    r = srv.call("POST", "/v4/apiAccessTokens", "ann", json={"lifetimeSeconds": 600, "description": "ci"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"tokenValue", "tokenInfo"}
    info = body["tokenInfo"]
    assert {"tokenId", "description", "expiredAt", "createdAt"} <= set(info), info
    assert info["description"] == "ci"
    assert (parse_time(info["expiredAt"]) - parse_time(info["createdAt"])).total_seconds() == pytest.approx(600, abs=2)
    # The new token acts as ann.
    mine = srv.call("GET", "/v4/jobGroups", token=body["tokenValue"])
    assert mine.status_code == 200
    assert [g["id"] for g in mine.json()["data"]] == [g["id"] for g in srv.ok("GET", "/v4/jobGroups", "ann")["data"]]
    # Stored only as hashes: no token appears in the store's files.
    stored = b"".join(p.read_bytes() for p in srv.home.iterdir() if p.name.startswith("launcher.db"))
    assert stored, list(srv.home.iterdir())
    for secret in [body["tokenValue"], *srv.tokens.values()]:
        assert secret.encode() not in stored


def test_bad_requests_name_the_field_and_the_accepted_values(srv):
    ds = srv.wrangled("ann", srv.imported("ann", srv.data / "orders.csv"), RECIPE, name="bad bodies")
    out = str(srv.out / "never.csv")

    def post(overrides, version="v4", **extra):
        return srv.call("POST", f"/{version}/jobGroups", "ann",
                        json={"wrangledDataset": {"id": ds}, "overrides": overrides, **extra})

    good_ws = {"path": out, "action": "create", "format": "csv"}
    cases = [
        # (overrides, words the message must hold)
        ({"execution": "photon", "writesettings": [{**good_ws, "format": "xml"}]},
         ["format", "csv", "json", "avro", "pqt", "delta"]),
        ({"execution": "photon", "writesettings": [{**good_ws, "action": "replace"}]},
         ["action", "create", "append", "overwrite"]),
        ({"execution": "flink", "writesettings": [good_ws]}, ["execution", "photon", "spark", "databricksSpark"]),
        ({"execution": "photon", "writesettings": [{**good_ws, "compression": "zip"}]},
         ["compression", "gzip", "bzip2"]),
        ({"execution": "photon", "writesettings": [{"action": "create", "format": "csv"}]}, ["path"]),
        ({"execution": "photon", "writesettings": [{**good_ws, "format": "pqt", "compression": "gzip"}]},
         ["compression"]),
        ({"execution": "photon", "writesettings": [{**good_ws, "format": "delta", "header": True}]}, ["header"]),
        ({"execution": "photon", "profiler": "yes", "writesettings": [good_ws]}, ["profiler"]),
        ({"execution": "databricksSpark", "writesettings": [good_ws]}, ["databricksSpark", "host"]),
    ]
    for overrides, words in cases:
        r = post(overrides)
        assert r.status_code == 400, (overrides, r.text)
        exc = check_error(r)
        text = exc["message"] + json.dumps(exc["details"])
        for word in words:
            assert word in text, (word, exc)
    # ranfrom takes null, cli, ui, api only.
    r = post({"execution": "photon", "writesettings": [good_ws]}, ranfrom="batch")
    assert r.status_code == 400 and "ranfrom" in check_error(r)["message"]
    # An unknown field is named.
    r = srv.call("POST", "/v4/jobGroups", "ann", json={"wrangledDataset": {"id": ds}, "overides": {}})
    assert r.status_code == 400 and "overides" in check_error(r)["message"]
    # Bad query values: 400 as well.
    assert srv.call("GET", "/v4/jobGroups?limit=many", "ann").status_code == 400
    assert srv.call("GET", "/v4/jobs/1/log?from=-1", "ann").status_code == 400
    # Not JSON at all: 400, never 500.
    r = srv.call("POST", "/v4/jobGroups", "ann", content=b'{"wrangledDataset": ',
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    # Not JSON by its type: 415.
    r = srv.call("POST", "/v4/jobGroups", "ann", content=b"wrangledDataset=1",
                 headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    # Too large: 413.
    r = srv.call("POST", "/v4/jobGroups", "ann", json={"wrangledDataset": {"id": ds}, "pad": "x" * 2_000_000})
    assert r.status_code == 413
    # Outside the storage roots: refused, naming the field.
    r = post({"execution": "photon", "writesettings": [{**good_ws, "path": "/tmp/elsewhere/x.csv"}]})
    assert r.status_code in (400, 403) and "path" in check_error(r)["message"]
    # Reading outside the storage roots is refused as well.
    r = srv.call("POST", "/v4/importedDatasets", "ann", json={"name": "hosts", "uri": "/etc/hosts", "format": "text"})
    assert r.status_code in (400, 403) and "uri" in check_error(r)["message"]
    # Nothing of this left a job group behind.
    assert all(g["wrangledDataset"]["id"] != ds for g in srv.ok("GET", "/v4/jobGroups?limit=1000", "ann")["data"])
    # Unknown objects and endpoints: 404 in the same shape.
    for path in ("/v4/jobGroups/987654", "/v4/jobGroups/987654/status", "/v4/jobs/987654/log",
                 "/v4/wrangledDatasets/987654", "/v4/noSuchThing"):
        assert srv.call("GET", path, "ann").status_code == 404, path
    assert srv.call("DELETE", "/v4/jobGroups/1", "ann").status_code in (404, 405)
    # Numbers no id can have are still just unknown ids (or a 400), never a failure.
    big = 2**70
    for method, path, body in (("GET", f"/v4/jobGroups/{big}", None), ("GET", f"/v4/jobs/{big}/log", None),
                               ("GET", f"/v4/wrangledDatasets/{big}", None),
                               ("GET", f"/v4/jobGroups?offset={big}", None),
                               ("POST", "/v4/jobGroups", {"wrangledDataset": {"id": big}}),
                               ("POST", "/v4/wrangledDatasets", {"name": "x", "importedDataset": {"id": big}})):
        r = srv.call(method, path, "ann", **({"json": body} if body is not None else {}))
        assert r.status_code in (200, 400, 404), (method, path, r.status_code)
    for lifetime in (2**70, 10**12):
        r = srv.call("POST", "/v4/apiAccessTokens", "ann", json={"lifetimeSeconds": lifetime})
        assert r.status_code == 400 and "lifetimeSeconds" in check_error(r)["message"]


def test_unreadable_paths_are_client_errors(srv):
    """A path or uri that is no path at all is the client's mistake: 400/403 naming the field,
    never a 500 (CONTRACT 3: "never a 500 for anything a client sent")."""
    ds = srv.wrangled("ann", srv.imported("ann", srv.data / "orders.csv"), RECIPE, name="odd paths")
    for uri in (str(srv.data / "orders\u0000.csv"), "http://[::1/orders.csv"):
        r = srv.call("POST", "/v4/importedDatasets", "ann", json={"name": "odd", "uri": uri, "format": "csv"})
        assert r.status_code in (400, 403) and "uri" in check_error(r)["message"], (uri, r.status_code)
    r = srv.call("POST", "/v4/jobGroups", "ann", json={"wrangledDataset": {"id": ds}, **first_run_body(
        [{"path": "http://[::1/out.csv", "action": "create", "format": "csv"}])})
    assert r.status_code in (400, 403) and "path" in check_error(r)["message"], r.status_code


def test_first_run_needs_execution_and_writesettings(srv):
    ds = srv.wrangled("ann", srv.imported("ann", srv.data / "orders.csv"), RECIPE, name="first run")
    r = srv.call("POST", "/v3/jobGroups", "ann", json={"wrangledDataset": {"id": ds}})
    assert r.status_code == 400
    exc = check_error(r)
    assert "overrides.execution" in exc["message"] and "overrides.writesettings" in exc["message"], exc
    r = srv.call("POST", "/v4/jobGroups", "ann",
                 json={"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon"}})
    assert r.status_code == 400
    assert "writesettings" in check_error(r)["message"]


def test_v3_run_every_output_kind_profile_and_log(srv):
    imp = srv.imported("ann", srv.data / "orders.csv")
    assert srv.ok("GET", f"/v4/importedDatasets/{imp}", "ann")["format"] == "csv"  # from the extension
    ds = srv.wrangled("ann", imp, RECIPE, name="orders renamed")
    wrangled = srv.ok("GET", f"/v4/wrangledDatasets/{ds}", "ann")
    assert wrangled["id"] == ds
    out = srv.out
    outputs = [
        {"path": str(out / "orders.csv"), "action": "create", "format": "csv", "header": True,
         "asSingleFile": True, "compression": "gzip"},
        {"path": str(out / "orders_json"), "action": "overwrite", "format": "json", "compression": "gzip"},
        {"path": str(out / "orders_pqt"), "action": "overwrite", "format": "parquet"},
        {"path": str(out / "quoted.csv.bz2"), "action": "overwrite", "format": "csv", "asSingleFile": True,
         "delim": ";", "hasQuotes": True, "compression": "bzip2"},
        {"path": str(out / "parts"), "action": "create", "format": "csv"},
    ]
    body = {"wrangledDataset": {"id": ds}, **first_run_body(outputs, profiler=True)}
    r = srv.call("POST", "/v3/jobGroups", "ann", json=body)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert set(answer) == {"jobgroupId", "jobIds", "reason", "sessionId"}
    assert answer["reason"] == "JobStarted"
    uuid.UUID(answer["sessionId"])
    gid, job_ids = answer["jobgroupId"], answer["jobIds"]
    assert isinstance(gid, int) and len(job_ids) == 1 + len(outputs) + 1 and all(isinstance(j, int) for j in job_ids)
    assert srv.wait(gid, "ann") == "Complete", srv.ok("GET", f"/v4/jobGroups/{gid}?embed=jobs", "ann")

    # /status: a bare JSON string, v3 and v4 alike.
    for v in ("v3", "v4"):
        r = srv.call("GET", f"/{v}/jobGroups/{gid}/status", "ann")
        assert r.status_code == 200 and r.text.strip() == '"Complete"' and r.json() == "Complete"
        assert r.headers["content-type"].startswith("application/json")

    # The group, with and without its jobs.
    for v in ("v3", "v4"):
        group = srv.ok("GET", f"/{v}/jobGroups/{gid}", "ann")
        assert {"id", "status", "ranfrom", "profilingEnabled", "createdAt", "updatedAt", "wrangledDataset",
                "creator", "execution"} <= set(group), group
        assert "jobs" not in group
        assert (group["id"], group["status"], group["profilingEnabled"], group["execution"]) == (
            gid, "Complete", True, "photon")
        assert group["wrangledDataset"]["id"] == ds
        assert group["creator"]["id"] == wrangled["creator"]["id"]
        assert parse_time(group["createdAt"]) <= parse_time(group["updatedAt"])
    group = srv.ok("GET", f"/v4/jobGroups/{gid}?embed=jobs", "ann")
    jobs = group["jobs"]["data"]
    assert [j["id"] for j in jobs] == job_ids
    assert [j["jobType"] for j in jobs] == ["wrangle"] + ["filewriter"] * len(outputs) + ["profile"]
    for j in jobs:
        assert {"id", "status", "jobType", "percentComplete", "errorMessage", "createdAt", "updatedAt"} <= set(j), j
        assert (j["status"], j["percentComplete"], j["errorMessage"]) == ("Complete", 100, None), j
        parse_time(j["createdAt"]), parse_time(j["updatedAt"])
    for v in ("v3", "v4"):
        listed = srv.ok("GET", f"/{v}/jobGroups/{gid}/jobs", "ann")
        assert list(listed) == ["data"] and listed["data"] == jobs

    # Outputs: the write setting, the concrete path, the files, the rows; read back.
    outs = srv.ok("GET", f"/v4/jobGroups/{gid}/outputs", "ann")["data"]
    assert srv.ok("GET", f"/v3/jobGroups/{gid}/outputs", "ann")["data"] == outs
    assert len(outs) == len(outputs)
    for o, ws in zip(outs, outputs):
        assert {"writeSetting", "path", "files", "rows"} <= set(o), o
        assert o["rows"] == len(ROWS), o
        assert o["writeSetting"]["path"] == ws["path"] and o["writeSetting"]["action"] == ws["action"]
        for f in o["files"]:
            assert Path(f["path"]).is_file(), f
    single_csv, json_dir, pqt_dir, quoted, parts = outs
    assert pqt_dir["writeSetting"]["format"] == "pqt"  # parquet accepted for pqt

    # create, asSingleFile, gzip: orders_<gid>.csv(.gz), one file, header once.
    assert single_csv["path"] in (str(out / f"orders_{gid}.csv"), str(out / f"orders_{gid}.csv.gz"))
    assert [f["path"] for f in single_csv["files"]] == [str(out / f"orders_{gid}.csv.gz")]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(f"orders_{gid}")) == [f"orders_{gid}.csv.gz"]
    with gzip.open(out / f"orders_{gid}.csv.gz", "rt", newline="") as f:
        got = list(csv.reader(f))
    assert got[0] == HEADER and sorted(got[1:]) == sorted(ROWS)

    # json, a folder of gzip'd part files, JSON Lines.
    assert json_dir["path"] == str(out / "orders_json") and (out / "orders_json").is_dir()
    assert json_dir["files"] and all(f["path"].endswith(".gz") for f in json_dir["files"])
    lines = [json.loads(line) for f in json_dir["files"] for line in gzip.open(f["path"], "rt") if line.strip()]
    key = lambda d: d["id"]  # noqa: E731
    assert sorted(lines, key=key) == sorted(expected_dicts(), key=key)

    # parquet: a folder, read with pyarrow.
    assert pqt_dir["path"] == str(out / "orders_pqt") and (out / "orders_pqt").is_dir()
    table = pq.read_table(out / "orders_pqt").to_pylist()
    assert sorted(table, key=key) == sorted(expected_dicts(), key=key)

    # csv with ; and every field quoted, bzip2 (the path ends .bz2 already: not added twice), no
    # header by default.
    [qfile] = quoted["files"]
    assert qfile["path"] == str(out / "quoted.csv.bz2")
    text = bz2.decompress(Path(qfile["path"]).read_bytes()).decode()
    assert '"1";"Oslo";"10";"a"' in text.splitlines()
    assert sorted(read_csv_text(text, ";")) == sorted(ROWS)

    # create without asSingleFile: a folder parts_<gid> of part files, no header rows.
    assert parts["path"] == str(out / f"parts_{gid}") and (out / f"parts_{gid}").is_dir()
    assert parts["files"] and all(Path(f["path"]).parent == out / f"parts_{gid}" for f in parts["files"])
    assert sorted(r for f in parts["files"] for r in read_csv_text(Path(f["path"]).read_text())) == sorted(ROWS)

    # The profile.
    r = srv.call("GET", f"/v4/jobGroups/{gid}/profile", "ann")
    assert r.status_code == 200, r.text
    profile = r.json()
    assert srv.ok("GET", f"/v3/jobGroups/{gid}/profile", "ann") == profile
    assert {"columnTypes", "profilerTypeCheckHistograms", "profilerValidValueHistograms"} <= set(profile)
    assert profile["columnTypes"] == {"id": ["Integer"], "city": ["String"], "amount": ["Decimal"],
                                      "remark": ["String"]}
    checks = {c: {e["key"]: e["count"] for e in v} for c, v in profile["profilerTypeCheckHistograms"].items()}
    assert checks["amount"] == {"VALID": 3, "INVALID": 1, "EMPTY": 1}
    assert checks["id"] == {"VALID": 5, "INVALID": 0, "EMPTY": 0}
    assert checks["remark"] == {"VALID": 4, "INVALID": 0, "EMPTY": 1}
    values = profile["profilerValidValueHistograms"]
    for col in ("id", "amount"):
        assert {"min", "max", "quartiles", "buckets"} <= set(values[col]), values[col]
    assert (float(values["amount"]["min"]), float(values["amount"]["max"])) == (10.0, 30.0)
    assert (float(values["id"]["min"]), float(values["id"]["max"])) == (1.0, 5.0)
    assert sum(b["count"] for b in values["id"]["buckets"]) == 5
    assert values["city"]["topk"][0] == {"key": "Oslo", "count": 2}
    assert sorted((e["key"], e["count"]) for e in values["city"]["topk"]) == [
        ("Kyiv", 1), ("Lima", 1), ("Oslo", 2), ("Pune", 1)]

    # The log, paged, kept after the end.
    log = srv.ok("GET", f"/v4/jobs/{job_ids[0]}/log", "ann")
    assert log["data"] and all(isinstance(line, str) for line in log["data"])
    page = srv.ok("GET", f"/v4/jobs/{job_ids[0]}/log?from=1&size=2", "ann")
    assert page["data"] == log["data"][1:3]
    assert srv.ok("GET", f"/v3/jobs/{job_ids[1]}/log?from=0&size=1", "ann")["data"] == log["data"][:1]



def test_v4_run_idempotency_append_create_delta_avro_and_bare_rerun(srv):
    from deltalake import DeltaTable
    from fastavro import reader as avro_reader

    imp = srv.imported("ann", srv.data / "orders.csv")
    ds = srv.wrangled("ann", imp, RECIPE, name="appended")
    out = srv.out
    appended, created, table, avro_dir = out / "appended.csv", out / "made.json", out / "orders_delta", out / "orders_avro"
    body = {"wrangledDataset": {"id": ds}, **first_run_body(
        [{"path": str(appended), "action": "append", "format": "csv", "header": True, "asSingleFile": True},
         {"path": str(created), "action": "create", "format": "json", "asSingleFile": True},
         {"path": str(table), "action": "overwrite", "format": "delta"},
         {"path": str(out / "made_delta"), "action": "create", "format": "delta"},
         {"path": str(avro_dir), "action": "overwrite", "format": "avro"}],
        key="writeSettings", ranfrom=None)}
    idem = f"contract-{uuid.uuid4()}"
    r = srv.call("POST", "/v4/jobGroups", "ann", json=body, headers={"Idempotency-Key": idem})
    assert r.status_code == 201, r.text
    answer = r.json()
    assert set(answer) == {"id", "jobs", "jobGraph", "reason", "sessionId"}
    assert answer["reason"] == "JobStarted"
    uuid.UUID(answer["sessionId"])
    gid = answer["id"]
    ids = [j["id"] for j in answer["jobs"]["data"]]
    assert all(set(j) == {"id"} for j in answer["jobs"]["data"]) and len(ids) == 6
    assert answer["jobGraph"] == {"vertices": ids, "edges": [{"source": ids[0], "target": j} for j in ids[1:]]}
    # The same key again: the first job group, not a new one.
    count = srv.ok("GET", "/v4/jobGroups", "ann")["count"]
    r = srv.call("POST", "/v4/jobGroups", "ann", json=body, headers={"Idempotency-Key": idem})
    assert r.status_code == 201 and r.json()["id"] == gid and r.json()["jobs"] == answer["jobs"]
    assert srv.ok("GET", "/v4/jobGroups", "ann")["count"] == count
    assert srv.wait(gid, "ann") == "Complete"
    group = srv.ok("GET", f"/v4/jobGroups/{gid}", "ann")
    assert group["ranfrom"] is None and group["profilingEnabled"] is False
    # Not profiled: 400 ProfilingDataNotFound.
    r = srv.call("GET", f"/v4/jobGroups/{gid}/profile", "ann")
    assert r.status_code == 400 and check_error(r)["name"] == "ProfilingDataNotFound"
    first_json = srv.out / f"made_{gid}.json"
    got = [json.loads(x) for x in first_json.read_text().splitlines() if x.strip()]
    assert sorted(got, key=lambda d: d["id"]) == expected_dicts()
    before = first_json.read_bytes()

    # The reference page's re-run body, exactly: the last run's settings again.
    r = srv.call("POST", "/v3/jobGroups", "ann", content=b'{\n  "wrangledDataset": {\n    "id": %d\n  }\n}' % ds,
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    rerun = r.json()["jobgroupId"]
    assert rerun != gid and len(r.json()["jobIds"]) == 6
    assert srv.wait(rerun, "ann") == "Complete"
    again = srv.ok("GET", f"/v4/jobGroups/{rerun}", "ann")
    assert (again["execution"], again["profilingEnabled"]) == ("photon", False)
    outs = srv.ok("GET", f"/v4/jobGroups/{rerun}/outputs", "ann")["data"]
    assert [o["writeSetting"]["action"] for o in outs] == ["append", "create", "overwrite", "create", "overwrite"]
    # append: the new results are added to the old ones, nothing old rewritten.
    rows = read_csv_text(appended.read_text())
    assert rows[0] == HEADER
    assert sorted(r for r in rows if r != HEADER) == sorted(ROWS * 2)
    # create: a new location beside the old one, which is left as it was.
    assert outs[1]["path"] == str(srv.out / f"made_{rerun}.json")
    assert [f["path"] for f in outs[1]["files"]] == [outs[1]["path"]]
    got = [json.loads(x) for x in Path(outs[1]["path"]).read_text().splitlines() if x.strip()]
    assert sorted(got, key=lambda d: d["id"]) == expected_dicts()
    assert first_json.read_bytes() == before

    key = lambda d: d["id"]  # noqa: E731
    # delta overwrite: one transaction per run, the older version kept for time travel.
    dt = DeltaTable(str(table))
    assert dt.version() == 1
    assert sorted(dt.to_pyarrow_table().to_pylist(), key=key) == expected_dicts()
    dt.load_as_version(0)
    assert sorted(dt.to_pyarrow_table().to_pylist(), key=key) == expected_dicts()
    # delta create: a new table at path_<jobGroupId> each run.
    for g in (gid, rerun):
        got = DeltaTable(str(out / f"made_delta_{g}")).to_pyarrow_table().to_pylist()
        assert sorted(got, key=key) == expected_dicts()
    assert not (out / "made_delta").exists()
    # avro: a folder of files, read with fastavro; overwritten, not added to.
    records = []
    for f in sorted(p for p in avro_dir.iterdir() if not p.name.startswith((".", "_"))):
        with open(f, "rb") as fh:
            records += list(avro_reader(fh))
    assert sorted(records, key=key) == expected_dicts()

    # The same key from another user is that user's own request: ann's group stays hers.
    srv.ok("POST", f"/v4/wrangledDatasets/{ds}/permissions", "ann", (200, 201), json={"user": "bob", "role": "viewer"})
    r = srv.call("POST", "/v4/jobGroups", "bob", json=body, headers={"Idempotency-Key": idem})
    assert r.status_code == 201 and r.json()["id"] not in (gid, rerun)
    assert srv.wait(r.json()["id"], "bob") == "Complete"


def test_permissions_viewer_editor_and_everyone_else(srv):
    ds = srv.wrangled("ann", srv.imported("ann", srv.data / "orders.csv"), RECIPE, name="shared")
    srv.ok("POST", f"/v4/wrangledDatasets/{ds}/permissions", "ann", (200, 201), json={"user": "bob", "role": "viewer"})
    srv.ok("POST", f"/v4/wrangledDatasets/{ds}/permissions", "ann", (200, 201), json={"user": "carl", "role": "editor"})
    new_recipe = {"steps": [{"op": "rename", "mapping": {"note": "remark"}}, {"op": "drop", "col": ["city"]}]}
    r = srv.call("PUT", f"/v4/wrangledDatasets/{ds}/recipe", "ann", json={"steps": "nope"})
    assert r.status_code == 400
    r = srv.call("POST", f"/v4/wrangledDatasets/{ds}/permissions", "ann", json={"user": "bob", "role": "owner"})
    assert r.status_code == 400 and "viewer" in check_error(r)["message"]

    # owner: changes the recipe (here: to the same steps).
    assert srv.ok("PUT", f"/v4/wrangledDatasets/{ds}/recipe", "ann", json={"steps": RECIPE})["id"] == ds
    # viewer: sees it and runs it, may not change the recipe.
    assert srv.ok("GET", f"/v4/wrangledDatasets/{ds}", "bob")["id"] == ds
    assert srv.call("PUT", f"/v4/wrangledDatasets/{ds}/recipe", "bob", json=new_recipe).status_code == 403
    target = srv.out / "bob.json"
    gid = srv.ok("POST", "/v4/jobGroups", "bob", 201, json={"wrangledDataset": {"id": ds}, **first_run_body(
        [{"path": str(target), "action": "overwrite", "format": "json", "asSingleFile": True}], ranfrom="api")})["id"]
    # editor: changes the recipe.
    srv.ok("PUT", f"/v4/wrangledDatasets/{ds}/recipe", "carl", json=new_recipe)
    assert srv.ok("GET", f"/v4/wrangledDatasets/{ds}", "ann")["recipe"] == new_recipe["steps"]
    assert srv.wait(gid, "bob") == "Complete"
    assert srv.ok("GET", f"/v4/jobGroups/{gid}", "bob")["ranfrom"] == "api"
    got = [json.loads(line) for line in target.read_text().splitlines() if line.strip()]
    assert sorted(got, key=lambda d: d["id"]) == expected_dicts()  # the recipe the run was started with

    # everyone else: 404 for the dataset, its runs and their jobs.
    for method, path, body in (
            ("GET", f"/v4/wrangledDatasets/{ds}", None),
            ("PUT", f"/v4/wrangledDatasets/{ds}/recipe", new_recipe),
            ("POST", "/v4/jobGroups", {"wrangledDataset": {"id": ds}}),
            ("GET", f"/v4/jobGroups/{gid}", None), ("GET", f"/v4/jobGroups/{gid}/status", None),
            ("GET", f"/v4/jobGroups/{gid}/jobs", None), ("GET", f"/v4/jobGroups/{gid}/outputs", None),
            ("POST", f"/v4/jobGroups/{gid}/cancel", None)):
        r = srv.call(method, path, "eve", **({"json": body} if body is not None else {}))
        assert r.status_code == 404, (method, path, r.status_code, r.text)
    job = srv.ok("GET", f"/v4/jobGroups/{gid}/jobs", "bob")["data"][0]["id"]
    assert srv.call("GET", f"/v4/jobs/{job}/log", "eve").status_code == 404
    # An admin sees everyone's runs.
    assert srv.ok("GET", f"/v4/jobGroups/{gid}", "boss")["id"] == gid


def test_dependencies_run_in_the_same_job_and_cycles_are_refused(srv):
    imp = srv.imported("carl", srv.data / "orders.csv")
    parent = srv.wrangled("carl", imp, [{"op": "rename", "mapping": {"city": "town"}}], name="parent")
    child = srv.wrangled("carl", parent=parent, recipe=[{"op": "drop", "col": ["note"]}], name="child")
    r = srv.call("PUT", f"/v4/wrangledDatasets/{parent}/recipe", "carl",
                 json={"steps": [{"op": "union", "with": [{"wrangledDataset": child}]}]})
    assert r.status_code == 400 and "cycle" in check_error(r)["message"].lower()
    target = srv.out / "child.csv"
    gid = srv.ok("POST", "/v4/jobGroups", "carl", 201, json={"wrangledDataset": {"id": child}, **first_run_body(
        [{"path": str(target), "action": "overwrite", "format": "csv", "header": True, "asSingleFile": True}])})["id"]
    assert srv.wait(gid, "carl") == "Complete"
    # Both recipes in one job group, one wrangle job.
    jobs = srv.ok("GET", f"/v4/jobGroups/{gid}/jobs", "carl")["data"]
    assert [j["jobType"] for j in jobs] == ["wrangle", "filewriter"]
    rows = read_csv_text(target.read_text())
    assert rows[0] == ["id", "town", "amount"] and sorted(rows[1:]) == sorted(r[:3] for r in ROWS)


def test_list_newest_first_own_only_admin_all(srv):
    ann = srv.ok("GET", "/v4/jobGroups?limit=1000", "ann")
    bob = srv.ok("GET", "/v3/jobGroups?limit=1000", "bob")
    boss = srv.ok("GET", "/v4/jobGroups?limit=1000", "boss")
    for listing in (ann, bob, boss):
        assert set(listing) == {"data", "count"} and listing["count"] == len(listing["data"])
        ids = [g["id"] for g in listing["data"]]
        assert ids == sorted(ids, reverse=True)
    ann_ids, bob_ids = {g["id"] for g in ann["data"]}, {g["id"] for g in bob["data"]}
    assert ann_ids and bob_ids and not ann_ids & bob_ids
    assert ann_ids | bob_ids <= {g["id"] for g in boss["data"]}
    creators = {g["creator"]["id"] for g in ann["data"]}
    assert len(creators) == 1
    # limit and offset page through the same order; count stays the total.
    page = srv.ok("GET", "/v4/jobGroups?limit=2&offset=1", "ann")
    assert [g["id"] for g in page["data"]] == [g["id"] for g in ann["data"][1:3]]
    assert page["count"] == ann["count"]


def test_cli_run_wait_status_and_exit_codes(srv):
    source = srv.data / "cli_orders.csv"
    _write_csv(source, SOURCE)
    ds = srv.wrangled("ann", srv.imported("ann", source), RECIPE, name="cli")
    target = srv.out / "cli.csv"
    body = srv.tmp / "body.json"
    body.write_text(json.dumps({"wrangledDataset": {"id": ds}, **first_run_body(
        [{"path": str(target), "action": "overwrite", "format": "csv", "asSingleFile": True}])}))
    res = srv.cli("run", str(body), "--wait", "--url", srv.url, "--token", srv.tokens["ann"])
    assert res.returncode == 0, res.stderr + srv.log_tail()
    assert res.stdout.strip().isdigit(), res.stdout  # the job group id; progress goes elsewhere
    gid = int(res.stdout)
    assert "Complete" in res.stderr
    group = srv.ok("GET", f"/v4/jobGroups/{gid}", "ann")
    assert (group["status"], group["ranfrom"]) == ("Complete", "cli")
    assert sorted(read_csv_text(target.read_text())) == sorted(ROWS)
    res = srv.cli("status", str(gid), "--url", srv.url, "--token", srv.tokens["ann"])
    assert (res.returncode, res.stdout.strip()) == (0, "Complete")

    # The token from LAUNCHER_TOKEN; a run that fails exits non-zero.
    source.unlink()
    bare = srv.tmp / "bare.json"
    bare.write_text(json.dumps({"wrangledDataset": {"id": ds}}))
    env = {**srv.env, "LAUNCHER_TOKEN": srv.tokens["ann"]}
    res = srv.cli("run", str(bare), "--wait", "--url", srv.url, env=env)
    assert res.returncode != 0, res.stdout + res.stderr
    failed = int(res.stdout.strip().splitlines()[0])
    group = srv.ok("GET", f"/v4/jobGroups/{failed}?embed=jobs", "ann")
    assert group["status"] == "Failed" and group["ranfrom"] == "cli"
    assert any(j["status"] == "Failed" and "cli_orders.csv" in (j["errorMessage"] or "")
               for j in group["jobs"]["data"]), group
    res = srv.cli("status", str(failed), "--url", srv.url, env=env)
    assert (res.returncode, res.stdout.strip()) == (0, "Failed")
    # The old result is still there: a failed overwrite keeps it.
    assert sorted(read_csv_text(target.read_text())) == sorted(ROWS)


def test_cli_home_and_config_defaults(tmp_path):
    """LAUNCHER_HOME defaults to ./var and LAUNCHER_CONFIG to ./conf/launcher.toml (the local
    commands open the same store serve does)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHER_")}
    plain, configured = tmp_path / "plain", tmp_path / "configured"
    (configured / "conf").mkdir(parents=True)
    plain.mkdir()
    (configured / "conf" / "launcher.toml").write_text('home = "custom_home"\n')
    for cwd in (plain, configured):
        res = subprocess.run([str(LAUNCHER), "users", "add", "zed"], env=env, cwd=cwd, capture_output=True,
                             text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert res.returncode == 0, res.stderr
    assert (plain / "var" / "launcher.db").is_file()
    assert (configured / "custom_home" / "launcher.db").is_file() and not (configured / "var").exists()


def test_users_made_by_the_cli_act_through_their_tokens(srv):
    # carl was added with --password-stdin; every user's token made by `launcher tokens create`.
    for name in ("boss", "ann", "bob", "carl", "eve"):
        assert srv.call("GET", "/v4/jobGroups", name).status_code == 200, name
    dup = srv.cli("users", "add", "ann")
    assert dup.returncode != 0 and "ann" in dup.stderr


def test_pages_need_a_login_and_hide_ranfrom_null(srv):
    """Runs last: ann's earlier job groups (some with ranfrom null, one profiled) on the pages."""
    groups = srv.ok("GET", "/v4/jobGroups?limit=1000", "ann")["data"]
    hidden = [g["id"] for g in groups if g["ranfrom"] is None]
    shown = [g["id"] for g in groups if g["ranfrom"] is not None]
    profiled = [g["id"] for g in groups if g["profilingEnabled"] and g["status"] == "Complete"]
    assert hidden and shown and profiled, "run the whole module: this test reads the earlier tests' runs"

    for path in ("/jobs", f"/jobGroups/{profiled[0]}/profile"):
        anonymous = srv.http.get(path, follow_redirects=False)
        assert anonymous.headers.get("X-Request-Id")
        assert anonymous.status_code in (302, 303, 307, 401), (path, anonymous.status_code)
        assert "Oslo" not in anonymous.text
    with httpx.Client(base_url=srv.url, timeout=60) as browser:
        login = browser.post("/login", data={"token": srv.tokens["ann"]}, follow_redirects=False)
        assert login.status_code in (302, 303), login.text
        page = browser.get("/jobs")
        assert page.headers.get("X-Request-Id")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for gid in shown:
            assert f'data-jobgroup="{gid}"' in page.text, gid
        for gid in hidden:
            assert f'data-jobgroup="{gid}"' not in page.text, gid
        prof = browser.get(f"/jobGroups/{profiled[0]}/profile")
        assert prof.status_code == 200 and "Oslo" in prof.text and "amount" in prof.text
