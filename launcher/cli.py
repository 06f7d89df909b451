"""The ``launcher`` console script: serve, users, tokens, run, status, db.

Local sub-commands (users, tokens, db) open the configured store directly (and bring its schema
up to date first, so they work before the first ``serve``). ``run`` and ``status`` talk to a
running server over HTTP. Every error names what to do next.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

DEFAULT_URL = "http://127.0.0.1:8700"
TOKEN_HINT = ("pass --token or set LAUNCHER_TOKEN; an administrator creates one with "
              "`launcher tokens create NAME`")

# Exit codes (documented in `launcher run --help`).
EXIT_OK = 0
EXIT_FAILED = 1  # the job group ended Failed; also any error not listed below
EXIT_USAGE = 2  # bad command line or body file
EXIT_CANCELED = 3
EXIT_SERVER = 4  # the server could not be reached or refused the request
EXIT_TIMEOUT = 5

TERMINAL = ("Complete", "Failed", "Canceled")


class CliError(Exception):
    """An error the user can act on: printed as ``launcher: <message>`` with exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


# -- store helpers --------------------------------------------------------------------------------

def _settings():
    from pydantic import ValidationError

    from launcher.settings import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as e:
        raise CliError(str(e), EXIT_USAGE) from None
    except ValidationError as e:
        raise CliError(f"the configuration is not valid (LAUNCHER_CONFIG / LAUNCHER_* variables):\n{e}",
                       EXIT_USAGE) from None


def _open_store(settings):
    from sqlalchemy.exc import OperationalError

    from launcher.store.db import make_engine, session_factory, upgrade

    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    except OperationalError as e:
        engine.dispose()
        raise CliError(f"cannot open the database {settings.database_url_redacted}: {e.orig}; "
                       f"check database_url in the configuration (or LAUNCHER_DATABASE_URL)") from None
    return engine, session_factory(engine)


# -- serve ----------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.host is not None:
        settings.host = args.host
    if args.port is not None:
        settings.port = args.port
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("launcher")
    settings.ensure_dirs()
    engine, _ = _open_store(settings)  # migrate before the app (and its dispatcher) start
    engine.dispose()
    log.info("home %s, database %s", settings.home, settings.database_url_redacted)
    try:
        import uvicorn

        from launcher.api.app import create_app
    except ImportError as e:
        raise CliError(f"the API server cannot be loaded ({e}); reinstall the project: "
                       f"`pip install -e .` (or `make install`)") from None
    # The demo data in examples/ is registered on the first start (launcher.seed, when present).
    import importlib.util

    seed = importlib.util.find_spec("launcher.seed") is not None
    app = create_app(settings, seed=True) if seed else create_app(settings)
    print(f"launcher: serving on http://{settings.host}:{settings.port} "
          f"(home {settings.home}); create a token with `launcher tokens create NAME`",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                proxy_headers=False, server_header=False)
    return EXIT_OK


# -- users and tokens -----------------------------------------------------------------------------

def cmd_users_add(args: argparse.Namespace) -> int:
    from launcher import auth
    from launcher.store import repo_users

    password_hash = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("--password-stdin read an empty password; pipe one line, e.g. "
                           "`printf '%s\\n' \"$PW\" | launcher users add NAME --password-stdin`",
                           EXIT_USAGE)
        password_hash = auth.hash_password(password)
    settings = _settings()
    engine, factory = _open_store(settings)
    try:
        with factory() as s:
            try:
                user = repo_users.create_user(s, args.name, password_hash=password_hash,
                                              is_admin=args.admin)
            except repo_users.UserExists:
                raise CliError(f"a user named {args.name!r} already exists; "
                               f"create a token for it with `launcher tokens create {args.name}`") from None
            s.commit()
            role = "admin" if user.is_admin else "user"
            print(f"created {role} {user.name!r} (id {user.id}); "
                  f"get a token with `launcher tokens create {user.name}`")
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_users_list(args: argparse.Namespace) -> int:
    from launcher.store import repo_users

    engine, factory = _open_store(_settings())
    try:
        with factory() as s:
            for u in repo_users.list_users(s):
                print(f"{u.id}\t{u.name}\t{'admin' if u.is_admin else 'user'}")
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from launcher import auth
    from launcher.api.errors import BadRequest
    from launcher.store import repo_users

    if args.lifetime_seconds is not None and args.lifetime_seconds <= 0:
        raise CliError("--lifetime-seconds must be a positive number of seconds "
                       "(leave it out for a token that does not expire)", EXIT_USAGE)
    engine, factory = _open_store(_settings())
    try:
        with factory() as s:
            user = repo_users.get_user_by_name(s, args.name)
            if user is None:
                raise CliError(f"no user named {args.name!r}; create it first with "
                               f"`launcher users add {args.name}`")
            try:
                issued = auth.create_token(s, user, lifetime_seconds=args.lifetime_seconds,
                                           description=args.description)
            except BadRequest as e:
                raise CliError(e.message, EXIT_USAGE) from None
            s.commit()
            print(issued.secret, flush=True)  # alone on its line: `TOKEN=$(launcher tokens create x)`
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from launcher.store.db import current_revision

    settings = _settings()
    engine, _ = _open_store(settings)
    try:
        print(f"{settings.database_url_redacted} is at revision {current_revision(engine)}")
    finally:
        engine.dispose()
    return EXIT_OK


# -- HTTP client (run, status) --------------------------------------------------------------------

@dataclass
class Client:
    """A small client of the launcher's HTTP API that turns every failure into a CliError."""

    url: str
    token: str
    timeout: float = 30.0

    def __post_init__(self) -> None:
        import httpx

        self.url = self.url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=self.timeout, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/json",
            "User-Agent": "launcher-cli"})

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            resp = self._http.request(method, path, **kw)
        except httpx.TransportError as e:
            raise CliError(f"cannot reach the launcher at {self.url} ({e.__class__.__name__}: {e}); "
                           f"start it with `launcher serve` or pass --url", EXIT_SERVER) from None
        if resp.status_code >= 400:
            raise CliError(_describe_error(resp, self.url), EXIT_SERVER)
        try:
            return resp.json()
        except ValueError:
            raise CliError(f"{method} {path} answered {resp.status_code} with a body that is not JSON; "
                           f"is {self.url} a launcher? Check --url", EXIT_SERVER) from None


def _describe_error(resp, url: str) -> str:
    try:
        exc = resp.json().get("exception") or {}
    except (ValueError, AttributeError):
        exc = {}
    message = exc.get("message") or resp.text.strip()[:500] or resp.reason_phrase
    text = f"the server answered {resp.status_code} {exc.get('name') or resp.reason_phrase}: {message}"
    details = exc.get("details")
    if isinstance(details, list):
        for d in details:
            if isinstance(d, dict) and d.get("field"):
                line = f"\n  {d['field']}: {d.get('message', '')}"
                if d.get("accepted"):
                    acc = d["accepted"]
                    line += f" (accepted: {', '.join(map(str, acc)) if isinstance(acc, list) else acc})"
                text += line
    if resp.status_code == 401:
        text += f"\n{TOKEN_HINT}"
    elif resp.status_code == 404 and "/v4/" not in str(resp.request.url) and not exc:
        text += f"\nis {url} a launcher? Check --url"
    return text


def _client(args: argparse.Namespace) -> Client:
    token = args.token or os.environ.get("LAUNCHER_TOKEN")
    if not token:
        raise CliError(f"no API token: {TOKEN_HINT}", EXIT_USAGE)
    return Client(args.url or os.environ.get("LAUNCHER_URL") or DEFAULT_URL, token)


def read_body(path: str) -> dict[str, Any]:
    """The job group body from a file (``-`` = standard input), with ranfrom set to "cli"."""
    try:
        raw = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}; give the path of a JSON body such as "
                       f'{{"wrangledDataset": {{"id": 1}}}}', EXIT_USAGE) from None
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as e:
        raise CliError(f"{path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}",
                       EXIT_USAGE) from None
    if not isinstance(body, dict):
        raise CliError(f"{path} must hold a JSON object like "
                       f'{{"wrangledDataset": {{"id": 1}}}}, not a {type(body).__name__}', EXIT_USAGE)
    body["ranfrom"] = "cli"
    return body


def progress_line(group: dict[str, Any]) -> str:
    """'job group 3 InProgress: wrangle#5 Complete 100%, filewriter#6 InProgress 40%'."""
    jobs = ((group.get("jobs") or {}).get("data")) or []
    parts = [f"{j.get('jobType', 'job')}#{j.get('id')} {j.get('status')} {j.get('percentComplete', 0)}%"
             for j in jobs]
    done = sum(1 for j in jobs if j.get("status") == "Complete")
    head = f"job group {group.get('id')} {group.get('status')}"
    if jobs:
        head += f" ({done}/{len(jobs)} jobs done)"
    return head + (": " + ", ".join(parts) if parts else "")


def failure_text(group: dict[str, Any]) -> str:
    jobs = ((group.get("jobs") or {}).get("data")) or []
    errors = [f"  {j.get('jobType', 'job')}#{j.get('id')}: {j['errorMessage']}"
              for j in jobs if j.get("errorMessage")]
    if group.get("errorMessage"):
        errors.insert(0, f"  {group['errorMessage']}")
    return "\n".join(errors) if errors else "  (no error message was recorded)"


def wait_for(client: Client, group_id: int, *, interval: float, timeout: float | None,
             out=sys.stderr, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll the group (with its jobs) until it ends; print a line whenever progress changes."""
    start = clock()
    last = None
    while True:
        group = client.request("GET", f"/v4/jobGroups/{group_id}", params={"embed": "jobs"})
        line = progress_line(group)
        if line != last:
            print(line, file=out, flush=True)
            last = line
        if group.get("status") in TERMINAL:
            return group
        if timeout is not None and clock() - start >= timeout:
            raise CliError(f"job group {group_id} is still {group.get('status')} after {timeout:g} s; "
                           f"it keeps running: follow it with `launcher status {group_id}`", EXIT_TIMEOUT)
        sleep(interval)


def cmd_run(args: argparse.Namespace) -> int:
    body = read_body(args.body)
    client = _client(args)
    try:
        created = client.request("POST", "/v4/jobGroups", json=body)
        group_id = created.get("id") if isinstance(created, dict) else None
        if group_id is None:
            raise CliError(f"the server's answer has no job group id: {created!r}", EXIT_SERVER)
        print(group_id, flush=True)
        if not args.wait:
            return EXIT_OK
        group = wait_for(client, group_id, interval=args.poll_interval, timeout=args.timeout)
    finally:
        client.close()
    status = group.get("status")
    if status == "Complete":
        return EXIT_OK
    print(f"launcher: job group {group_id} ended {status}:\n{failure_text(group)}", file=sys.stderr)
    if status == "Canceled":
        return EXIT_CANCELED
    print(f"see the job logs: GET {client.url}/v4/jobs/<job id>/log", file=sys.stderr)
    return EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    client = _client(args)
    try:
        group = client.request("GET", f"/v4/jobGroups/{args.id}", params={"embed": "jobs"})
    finally:
        client.close()
    print(group.get("status"))
    if args.jobs:
        print(progress_line(group))
        if group.get("status") == "Failed":
            print(failure_text(group))
    return EXIT_OK


# -- the parser -----------------------------------------------------------------------------------

class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="launcher", formatter_class=_Formatter,
        description="Run Trifacta-style job groups on Spark: the API server and its tools.",
        epilog="Configuration: LAUNCHER_CONFIG (default conf/launcher.toml) and LAUNCHER_* variables;\n"
               "LAUNCHER_HOME (default ./var) holds the database, specs, logs and staging.\n"
               "Start: `launcher serve`, then `launcher users add NAME --admin` and\n"
               "`launcher tokens create NAME`.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    serve = sub.add_parser("serve", help="run the API server", formatter_class=_Formatter,
                           description="Run the HTTP API (uvicorn). Migrates the database first.",
                           epilog="Example: launcher serve --host 127.0.0.1 --port 8700")
    serve.add_argument("--host", help="address to listen on (default: settings host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: settings port, 8700)")
    serve.set_defaults(func=cmd_serve)

    users = sub.add_parser("users", help="manage users", description="Manage users in the store.")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION")
    users_sub.required = True
    add = users_sub.add_parser("add", help="create a user", formatter_class=_Formatter,
                               description="Create a user. Users act through API tokens "
                                           "(`launcher tokens create NAME`).",
                               epilog="Examples:\n  launcher users add admin --admin\n"
                                      "  printf '%s\\n' \"$PW\" | launcher users add ann --password-stdin")
    add.add_argument("name", metavar="NAME", help="the user name (unique)")
    add.add_argument("--admin", action="store_true", help="an administrator: sees every user's objects")
    add.add_argument("--password-stdin", action="store_true",
                     help="read a password from the first line of standard input")
    add.set_defaults(func=cmd_users_add)
    lst = users_sub.add_parser("list", help="list users", description="List users: id, name, role.")
    lst.set_defaults(func=cmd_users_list)

    tokens = sub.add_parser("tokens", help="manage API tokens", description="Manage API access tokens.")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", metavar="ACTION")
    tokens_sub.required = True
    create = tokens_sub.add_parser(
        "create", help="create a token for a user", formatter_class=_Formatter,
        description="Create an API access token for user NAME and print it, alone on one line. "
                    "Only its hash is stored: it cannot be shown again.",
        epilog="Example:\n  export LAUNCHER_TOKEN=$(launcher tokens create admin --lifetime-seconds 86400)")
    create.add_argument("name", metavar="NAME", help="the user the token acts as")
    create.add_argument("--lifetime-seconds", type=int, metavar="N",
                        help="expire after N seconds (default: never)")
    create.add_argument("--description", metavar="D", help="what the token is for")
    create.set_defaults(func=cmd_tokens_create)

    run = sub.add_parser(
        "run", help="run a job group on the server", formatter_class=_Formatter,
        description="POST BODY (the body of POST /v4/jobGroups) with ranfrom \"cli\" and print the "
                    "job group id.",
        epilog="Exit codes with --wait: 0 Complete, 1 Failed, 3 Canceled, 4 server unreachable or "
               "request refused,\n5 --timeout reached; 2 for a bad command line or body file.\n\n"
               "Example:\n  echo '{\"wrangledDataset\": {\"id\": 1}}' > body.json\n"
               "  LAUNCHER_TOKEN=... launcher run body.json --wait")
    run.add_argument("body", metavar="BODY.json", help="the request body file ('-' reads standard input)")
    run.add_argument("--wait", action="store_true",
                     help="follow the job group (jobs and percent done) until it ends; exit 0 only "
                          "when it is Complete")
    _client_args(run)
    run.add_argument("--poll-interval", type=float, default=1.0, metavar="S",
                     help="seconds between status checks with --wait (default 1)")
    run.add_argument("--timeout", type=float, default=None, metavar="S",
                     help="give up waiting after S seconds (the job keeps running; exit 5)")
    run.set_defaults(func=cmd_run)

    status = sub.add_parser("status", help="print a job group's status", formatter_class=_Formatter,
                            description="Print the status of job group JOBGROUP_ID: Created, Pending, "
                                        "InProgress, Complete, Failed or Canceled.",
                            epilog="Example:\n  launcher status 12 --jobs")
    status.add_argument("id", metavar="JOBGROUP_ID", type=int, help="the job group id")
    _client_args(status)
    status.add_argument("--jobs", action="store_true", help="also print each job's status and percent")
    status.set_defaults(func=cmd_status)

    dbp = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_sub = dbp.add_subparsers(dest="db_command", metavar="ACTION")
    db_sub.required = True
    up = db_sub.add_parser("upgrade", help="migrate the database to the newest schema",
                           description="Run the alembic migrations to the newest revision "
                                       "(`serve` does this at start too).")
    up.set_defaults(func=cmd_db_upgrade)
    return p


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", metavar="U",
                   help=f"the launcher's address (default: LAUNCHER_URL or {DEFAULT_URL})")
    p.add_argument("--token", metavar="T", help="API token (default: LAUNCHER_TOKEN)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as e:
        print(f"launcher: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("launcher: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
