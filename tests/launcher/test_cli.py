"""The `launcher` console script, run as a real process.

users/tokens/db work on a real store (SQLite, and PostgreSQL once). `run` and `status` talk to a
real HTTP server on 127.0.0.1 that answers like CONTRACT section 3 (a scripted job group whose
status moves on with each GET), so every exit path is exercised without Spark; the end-to-end
test against `launcher serve` is in test_cli_serve.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from launcher import auth, cli
from launcher.store import repo_users
from launcher.store.db import make_engine, session_factory

LAUNCHER = Path(sys.executable).with_name("launcher")
TOKEN = "lt_test-token"


def run_cli(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHER_")}
    full_env.update({"LAUNCHER_HOME": os.environ["LAUNCHER_HOME"]})
    full_env.update(env or {})
    return subprocess.run([str(LAUNCHER), *args], capture_output=True, text=True, env=full_env,
                          input=input, timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)


# -- help -----------------------------------------------------------------------------------------

def test_console_script_help():
    res = run_cli("--help")
    assert res.returncode == 0
    for command in ("serve", "users", "tokens", "run", "status"):
        assert command in res.stdout


@pytest.mark.parametrize("argv, expected", [
    (["serve"], ["--host", "--port"]),
    (["users", "add"], ["NAME", "--admin", "--password-stdin"]),
    (["users"], ["add", "list"]),
    (["tokens", "create"], ["NAME", "--lifetime-seconds", "--description", "only its hash is stored"]),
    (["run"], ["BODY.json", "--wait", "--url", "--token", "LAUNCHER_TOKEN", "Exit codes"]),
    (["status"], ["JOBGROUP_ID", "--url", "--token"]),
    (["db", "upgrade"], ["alembic"]),
])
def test_every_sub_command_has_help(capsys, argv, expected):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for word in expected:
        assert word.lower() in out.lower(), word


def test_missing_sub_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([])
    assert exit_.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


# -- users and tokens on the store ----------------------------------------------------------------

def _store(home: Path):
    engine = make_engine(f"sqlite:///{home / 'launcher.db'}")
    return engine, session_factory(engine)


def test_users_add_and_tokens_create(launcher_home):
    res = run_cli("users", "add", "ann", "--admin")
    assert res.returncode == 0, res.stderr
    assert "created admin 'ann'" in res.stdout and "launcher tokens create ann" in res.stdout

    res = run_cli("tokens", "create", "ann", "--lifetime-seconds", "3600", "--description", "ci")
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("\n") == 1
    secret = res.stdout.strip()
    assert secret.startswith("lt_") and " " not in secret

    engine, factory = _store(launcher_home)
    try:
        with factory() as s:
            user = auth.authenticate(s, secret)
            assert (user.name, user.is_admin) == ("ann", True)
            [token] = repo_users.list_tokens(s, user.id)
            assert token.description == "ci"
            assert token.expires_at - token.created_at == timedelta(seconds=3600)
    finally:
        engine.dispose()

    res = run_cli("users", "list")
    assert res.stdout.splitlines() == ["1\tann\tadmin"]


def test_users_add_with_a_password_from_stdin(launcher_home):
    res = run_cli("users", "add", "bob", "--password-stdin", input="s3cret pass\n")
    assert res.returncode == 0, res.stderr
    assert "s3cret" not in res.stdout + res.stderr
    engine, factory = _store(launcher_home)
    try:
        with factory() as s:
            assert auth.authenticate_password(s, "bob", "s3cret pass").name == "bob"
            assert not repo_users.get_user_by_name(s, "bob").is_admin
    finally:
        engine.dispose()
    res = run_cli("users", "add", "cy", "--password-stdin", input="\n")
    assert res.returncode == 2
    assert "empty password" in res.stderr


def test_user_and_token_errors_say_what_to_do():
    assert run_cli("users", "add", "ann").returncode == 0
    res = run_cli("users", "add", "ann")
    assert res.returncode == 1
    assert "already exists" in res.stderr and "launcher tokens create ann" in res.stderr
    res = run_cli("tokens", "create", "zed")
    assert res.returncode == 1
    assert res.stdout == ""
    assert "no user named 'zed'" in res.stderr and "launcher users add zed" in res.stderr
    res = run_cli("tokens", "create", "ann", "--lifetime-seconds", "0")
    assert res.returncode == 2
    assert "positive number of seconds" in res.stderr


def test_bad_configuration_is_named(tmp_path):
    res = run_cli("users", "list", env={"LAUNCHER_CONFIG": str(tmp_path / "missing.toml")})
    assert res.returncode == 2
    assert "missing.toml" in res.stderr and "does not exist" in res.stderr
    res = run_cli("users", "list", env={"LAUNCHER_PORT": "not-a-port"})
    assert res.returncode == 2
    assert "port" in res.stderr


def test_tokens_on_postgresql(pg_server):
    url = pg_server.create_database()
    try:
        env = {"LAUNCHER_DATABASE_URL": url}
        assert run_cli("users", "add", "ann", env=env).returncode == 0
        res = run_cli("tokens", "create", "ann", env=env)
        assert res.returncode == 0, res.stderr
        engine = make_engine(url)
        try:
            with session_factory(engine)() as s:
                assert auth.authenticate(s, res.stdout.strip()).name == "ann"
        finally:
            engine.dispose()
        res = run_cli("db", "upgrade", env=env)
        assert res.returncode == 0
        assert "at revision 0001" in res.stdout
    finally:
        pg_server.drop_database(url)


# -- run and status against a contract-shaped server ----------------------------------------------

class FakeLauncher:
    """Answers POST /v4/jobGroups and GET /v4/jobGroups/{id}[?embed=jobs] like the contract.

    ``script`` is the list of (group status, [(job status, percent, error)]) the group goes
    through, one step per GET; the last step repeats.
    """

    def __init__(self):
        self.script: list = []
        self.posted: list[dict] = []
        self.headers: list[dict] = []
        self.post_answer: tuple[int, dict] | None = None
        self.gets = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def _send(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Request-Id", "req-1")
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                fake.headers.append(dict(self.headers))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"exception": {"name": "AuthenticationFailed",
                                                   "message": "the API token is not valid", "details": None}})
                    return False
                return True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                if not self._authorized():
                    return
                fake.posted.append(body)
                if fake.post_answer:
                    self._send(*fake.post_answer)
                    return
                self._send(201, {"id": 7, "jobs": {"data": [{"id": 11}, {"id": 12}]},
                                 "jobGraph": {"vertices": [11, 12], "edges": [{"source": 11, "target": 12}]},
                                 "reason": "JobStarted", "sessionId": "5f0c..."})

            def do_GET(self):
                if not self._authorized():
                    return
                u = urlparse(self.path)
                if u.path != "/v4/jobGroups/7":
                    self._send(404, {"exception": {"name": "NotFound", "message": f"job group not found",
                                                   "details": None}})
                    return
                step = fake.script[min(fake.gets, len(fake.script) - 1)]
                fake.gets += 1
                status, jobs = step
                body = {"id": 7, "status": status, "ranfrom": "cli", "profilingEnabled": False,
                        "wrangledDataset": {"id": 1}, "creator": {"id": 1}, "execution": "photon"}
                if parse_qs(u.query).get("embed") == ["jobs"]:
                    body["jobs"] = {"data": [
                        {"id": 11 + i, "status": js, "jobType": "wrangle" if i == 0 else "filewriter",
                         "percentComplete": pct, "errorMessage": err}
                        for i, (js, pct, err) in enumerate(jobs)]}
                self._send(200, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def fake_launcher():
    server = FakeLauncher()
    yield server
    server.stop()


@pytest.fixture
def body_file(tmp_path) -> Path:
    p = tmp_path / "body.json"
    p.write_text(json.dumps({"wrangledDataset": {"id": 1}, "overrides": {"execution": "photon"},
                             "ranfrom": "ui"}))
    return p


def _run(fake, body_file, *extra, env=None):
    return run_cli("run", str(body_file), "--url", fake.url, "--poll-interval", "0.01", *extra,
                   env={"LAUNCHER_TOKEN": TOKEN, **(env or {})})


def test_run_posts_with_ranfrom_cli_and_prints_the_id(fake_launcher, body_file):
    res = _run(fake_launcher, body_file)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "7\n"
    assert fake_launcher.posted == [{"wrangledDataset": {"id": 1}, "overrides": {"execution": "photon"},
                                     "ranfrom": "cli"}]
    assert fake_launcher.gets == 0  # no --wait: no polling


def test_run_wait_shows_progress_and_exits_0_on_complete(fake_launcher, body_file):
    fake_launcher.script = [
        ("Pending", [("Pending", 0, None), ("Pending", 0, None)]),
        ("InProgress", [("InProgress", 40, None), ("Pending", 0, None)]),
        ("InProgress", [("InProgress", 40, None), ("Pending", 0, None)]),
        ("InProgress", [("Complete", 100, None), ("InProgress", 50, None)]),
        ("Complete", [("Complete", 100, None), ("Complete", 100, None)]),
    ]
    res = _run(fake_launcher, body_file, "--wait")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "7\n"
    # one line per change, none for the repeated step
    assert res.stderr.splitlines() == [
        "job group 7 Pending (0/2 jobs done): wrangle#11 Pending 0%, filewriter#12 Pending 0%",
        "job group 7 InProgress (0/2 jobs done): wrangle#11 InProgress 40%, filewriter#12 Pending 0%",
        "job group 7 InProgress (1/2 jobs done): wrangle#11 Complete 100%, filewriter#12 InProgress 50%",
        "job group 7 Complete (2/2 jobs done): wrangle#11 Complete 100%, filewriter#12 Complete 100%",
    ]
    assert fake_launcher.gets == 5


def test_run_wait_fails_with_the_error(fake_launcher, body_file):
    fake_launcher.script = [
        ("InProgress", [("InProgress", 10, None), ("Pending", 0, None)]),
        ("Failed", [("Complete", 100, None), ("Failed", 0, "cannot write /out/x.csv: permission denied")]),
    ]
    res = _run(fake_launcher, body_file, "--wait")
    assert res.returncode == cli.EXIT_FAILED == 1
    assert "job group 7 ended Failed" in res.stderr
    assert "filewriter#12: cannot write /out/x.csv: permission denied" in res.stderr
    assert "/v4/jobs/" in res.stderr  # where to look next


def test_run_wait_canceled_is_non_zero(fake_launcher, body_file):
    fake_launcher.script = [("Canceled", [("Canceled", 30, None), ("Canceled", 0, None)])]
    res = _run(fake_launcher, body_file, "--wait")
    assert res.returncode == cli.EXIT_CANCELED == 3
    assert "ended Canceled" in res.stderr


def test_run_wait_timeout(fake_launcher, body_file):
    fake_launcher.script = [("InProgress", [("InProgress", 5, None)])]
    res = _run(fake_launcher, body_file, "--wait", "--timeout", "0.2")
    assert res.returncode == cli.EXIT_TIMEOUT
    assert "still InProgress after 0.2 s" in res.stderr and "launcher status 7" in res.stderr


def test_run_reports_the_servers_validation_error(fake_launcher, body_file):
    fake_launcher.post_answer = (400, {"exception": {
        "name": "ValidationFailed",
        "message": "overrides.execution: unknown execution 'photn'",
        "details": [{"field": "overrides.execution", "message": "unknown execution 'photn'",
                     "accepted": ["photon", "spark", "databricksSpark"]}]}})
    res = _run(fake_launcher, body_file, "--wait")
    assert res.returncode == cli.EXIT_SERVER
    assert res.stdout == ""
    assert "400 ValidationFailed" in res.stderr
    assert "overrides.execution: unknown execution 'photn' (accepted: photon, spark, databricksSpark)" in res.stderr


def test_run_token_errors(fake_launcher, body_file):
    res = run_cli("run", str(body_file), "--url", fake_launcher.url)
    assert res.returncode == 2
    assert "no API token" in res.stderr and "LAUNCHER_TOKEN" in res.stderr
    res = run_cli("run", str(body_file), "--url", fake_launcher.url, "--token", "lt_wrong")
    assert res.returncode == cli.EXIT_SERVER
    assert "401" in res.stderr and "launcher tokens create" in res.stderr
    # --token wins over LAUNCHER_TOKEN
    res = run_cli("run", str(body_file), "--url", fake_launcher.url, "--token", TOKEN,
                  env={"LAUNCHER_TOKEN": "lt_wrong"})
    assert res.returncode == 0, res.stderr


def test_run_bad_body_files(fake_launcher, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"wrangledDataset": {"id": 1},\n "x": }')
    res = _run(fake_launcher, bad)
    assert res.returncode == 2
    assert "bad.json is not valid JSON" in res.stderr and "line 2" in res.stderr
    lst = tmp_path / "list.json"
    lst.write_text("[1]")
    res = _run(fake_launcher, lst)
    assert res.returncode == 2 and "must hold a JSON object" in res.stderr
    res = _run(fake_launcher, tmp_path / "nope.json")
    assert res.returncode == 2 and "cannot read" in res.stderr
    assert fake_launcher.posted == []


def test_run_body_from_stdin(fake_launcher):
    res = run_cli("run", "-", "--url", fake_launcher.url, env={"LAUNCHER_TOKEN": TOKEN},
                  input='{"wrangledDataset": {"id": 3}}')
    assert res.returncode == 0, res.stderr
    assert fake_launcher.posted == [{"wrangledDataset": {"id": 3}, "ranfrom": "cli"}]


def test_unreachable_server_says_how_to_start_it(body_file):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    res = run_cli("run", str(body_file), "--url", url, env={"LAUNCHER_TOKEN": TOKEN})
    assert res.returncode == cli.EXIT_SERVER
    assert f"cannot reach the launcher at {url}" in res.stderr and "launcher serve" in res.stderr


def test_status(fake_launcher):
    fake_launcher.script = [("Failed", [("Failed", 20, "division by zero in derive"), ("Canceled", 0, None)])]
    res = run_cli("status", "7", "--url", fake_launcher.url, env={"LAUNCHER_TOKEN": TOKEN})
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Failed\n"
    res = run_cli("status", "7", "--jobs", "--url", fake_launcher.url, "--token", TOKEN)
    assert res.stdout.splitlines() == [
        "Failed",
        "job group 7 Failed (0/2 jobs done): wrangle#11 Failed 20%, filewriter#12 Canceled 0%",
        "  wrangle#11: division by zero in derive"]
    res = run_cli("status", "8", "--url", fake_launcher.url, "--token", TOKEN)
    assert res.returncode == cli.EXIT_SERVER
    assert "404 NotFound" in res.stderr


def test_wait_for_uses_the_injected_clock(fake_launcher):
    """The polling loop in-process: a fake clock makes the timeout exact and instant."""
    fake_launcher.script = [("Pending", [("Pending", 0, None)])]
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s):
        sleeps.append(s)
        now[0] += s

    client = cli.Client(fake_launcher.url, TOKEN)
    lines: list[str] = []

    class Out:
        def write(self, s):
            lines.append(s)

        def flush(self):
            pass

    try:
        with pytest.raises(cli.CliError) as err:
            cli.wait_for(client, 7, interval=2.0, timeout=10.0, out=Out(), clock=lambda: now[0], sleep=sleep)
    finally:
        client.close()
    assert err.value.code == cli.EXIT_TIMEOUT
    assert sleeps == [2.0] * 5
    assert fake_launcher.gets == 6
    assert "".join(lines).count("job group 7 Pending") == 1
