"""A small Databricks workspace emulator: a real HTTP server for the part of the REST API the
``databricksSpark`` adapter uses, reached through the real databricks-sdk client.

Emulated (paths as databricks-sdk 0.167 calls them):

- ``GET /.well-known/databricks-config``: 404 (no unified host metadata, like an older workspace)
- ``GET /api/2.0/fs/endpoints``: advertises only the Files API 2.0 on this host, so the SDK
  uploads and downloads in single requests instead of through presigned cloud URLs
- Files API 2.0: ``/api/2.0/fs/files/<path>`` PUT / GET (with Range) / HEAD / DELETE and
  ``/api/2.0/fs/directories/<path>`` PUT / GET / HEAD, for ``/Volumes/...`` paths
- Workspace files: ``/api/2.0/workspace/import`` (multipart), ``export``, ``mkdirs``, ``get-status``
- Jobs API 2.2: ``runs/submit``, ``runs/get``, ``runs/get-output``, ``runs/cancel``

Runs are real: a submitted ``python_wheel_task`` runs as a local ``spark-submit`` of a tiny driver
(``databricks_emulator_driver.py``) with the uploaded wheel on ``--py-files``; the run moves PENDING ->
RUNNING -> TERMINATED with result_state SUCCESS / FAILED / CANCELED / TIMEDOUT. ``/Volumes/...``
paths are kept under ``<root>/fs`` for both the files API and the driver (the stand-in for the
FUSE mount a Databricks cluster has). Every API call needs ``Authorization: Bearer <token>``.

Test hooks (no auth) under ``/__emulator/``: ``POST faults`` ({method, path, status, count,
retry_after, error_code, message}) answers the next ``count`` matching calls with that status
(``DELETE faults`` forgets them); ``POST hold`` ({hold}) keeps new runs PENDING; ``POST
cancel-all`` cancels every run not yet ended; ``POST force-state`` ({run_id, life_cycle_state,
result_state}) puts a run in any state; ``GET requests``
is the request log; ``GET runs`` the runs with what was submitted.

Run as a script (``python databricks_emulator.py --root DIR --token T --port-file F``); tests use
``EmulatorProcess`` below, which starts it on a free port and stops it by PID.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "databricks_emulator_driver.py"
TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message
        self.headers = headers or {}


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class EmulatedRun:
    run_id: int
    task_run_id: int
    run_name: str
    body: dict
    run_as: dict | None
    idempotency_token: str | None
    timeout_seconds: int
    life: str = "PENDING"
    result: str | None = None
    message: str = "Waiting for cluster"
    start_time: int = field(default_factory=now_ms)
    run_start: int | None = None
    end_time: int | None = None
    proc: subprocess.Popen | None = None
    canceled: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    error_trace: str | None = None
    stdout_path: Path | None = None
    stderr_path: Path | None = None
    returncode: int | None = None


class Workspace:
    def __init__(self, root: Path, token: str, host: str, pending_seconds: float,
                 spark_submit: str, python: str, spark_conf: list[str], token_owner: str):
        self.root = root
        self.fs_root = root / "fs"
        self.runs_root = root / "runs"
        self.fs_root.mkdir(parents=True, exist_ok=True)
        self.runs_root.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.host = host
        self.pending_seconds = pending_seconds
        self.spark_submit = spark_submit
        self.python = python
        self.spark_conf = spark_conf
        self.token_owner = token_owner
        self.lock = threading.RLock()
        self.runs: dict[int, EmulatedRun] = {}
        self.task_runs: dict[int, int] = {}
        self.idempotency: dict[str, int] = {}
        self.faults: list[dict] = []
        # While set, runs stay PENDING after their pending time (a cluster that takes its time).
        self.hold = threading.Event()
        self.requests: list[dict] = []
        self._next_id = 1001

    # -- paths ----------------------------------------------------------------------------
    def local(self, path: str, allowed=("/Volumes/",)) -> Path:
        if not path.startswith("/") or not any(path.startswith(p) or path + "/" == p for p in allowed):
            raise ApiError(400, "INVALID_PARAMETER_VALUE",
                           f"Path {path!r} is not supported here; expected a path under {', '.join(allowed)}")
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Path {path!r} is not normalized")
        if parts and parts[0] == "Volumes" and len(parts) < 4:
            raise ApiError(400, "INVALID_PARAMETER_VALUE",
                           f"Path {path!r} must be inside a volume: /Volumes/<catalog>/<schema>/<volume>/...")
        return self.fs_root.joinpath(*parts)

    # -- faults ---------------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> dict | None:
        with self.lock:
            for f in self.faults:
                if f["remaining"] > 0 and f.get("method", method) == method and path.startswith(f["path"]):
                    f["remaining"] -= 1
                    return f
        return None

    # -- runs -----------------------------------------------------------------------------
    def submit(self, body: dict) -> dict:
        tasks = body.get("tasks")
        if not isinstance(tasks, list) or len(tasks) != 1:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "the emulator runs exactly one task per submitted run")
        task = tasks[0]
        if not task.get("task_key"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "Task key must be specified")
        wheel_task = task.get("python_wheel_task")
        if not isinstance(wheel_task, dict) or not wheel_task.get("package_name"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE",
                           "the emulator runs python_wheel_task tasks with a package_name only")
        computes = [k for k in ("existing_cluster_id", "new_cluster", "environment_key") if task.get(k)]
        if len(computes) != 1:
            raise ApiError(400, "INVALID_PARAMETER_VALUE",
                           "A task needs exactly one of existing_cluster_id, new_cluster or environment_key")
        token = body.get("idempotency_token")
        if token is not None and len(token) > 64:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "idempotency_token must have at most 64 characters")
        run_as = body.get("run_as")
        if run_as is not None and len([k for k in ("user_name", "service_principal_name", "group_name")
                                       if run_as.get(k)]) != 1:
            raise ApiError(400, "INVALID_PARAMETER_VALUE",
                           "run_as needs exactly one of user_name, service_principal_name, group_name")
        with self.lock:
            if token is not None and token in self.idempotency:
                return {"run_id": self.idempotency[token]}
            run_id = self._next_id
            self._next_id += 2
            run = EmulatedRun(run_id=run_id, task_run_id=run_id + 1,
                              run_name=body.get("run_name") or "Untitled", body=body, run_as=run_as,
                              idempotency_token=token, timeout_seconds=int(body.get("timeout_seconds") or 0))
            self.runs[run_id] = run
            self.task_runs[run.task_run_id] = run_id
            if token is not None:
                self.idempotency[token] = run_id
        threading.Thread(target=self._execute, args=(run,), daemon=True, name=f"run-{run_id}").start()
        return {"run_id": run_id}

    def _wheels(self, run: EmulatedRun) -> list[str]:
        task = run.body["tasks"][0]
        wheels = [lib["whl"] for lib in task.get("libraries") or [] if lib.get("whl")]
        key = task.get("environment_key")
        for env in run.body.get("environments") or []:
            if key and env.get("environment_key") == key:
                wheels += [d for d in (env.get("spec") or {}).get("dependencies") or [] if d.endswith(".whl")]
        return wheels

    def _execute(self, run: EmulatedRun) -> None:
        if run.canceled.wait(self.pending_seconds):
            return self._finish(run, "CANCELED", "Run cancelled.")
        while self.hold.is_set():
            if run.canceled.wait(0.1):
                return self._finish(run, "CANCELED", "Run cancelled.")
        wheels = self._wheels(run)
        local_wheels = []
        for w in wheels:
            try:
                p = self.local(w, ("/Volumes/", "/Workspace/"))
            except ApiError as e:
                return self._finish(run, "FAILED", f"Library installation failed: {e.message}")
            if not p.is_file():
                return self._finish(run, "FAILED",
                                    f"Library installation failed for library due to user error: {w} does not exist")
            local_wheels.append(str(p))
        task = run.body["tasks"][0]
        wt = task["python_wheel_task"]
        run_dir = self.runs_root / str(run.run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        run.stdout_path, run.stderr_path = run_dir / "stdout.txt", run_dir / "stderr.txt"
        cmd = [self.spark_submit, "--master", "local[1]", "--name", run.run_name,
               "--conf", "spark.ui.enabled=false", "--conf", "spark.ui.showConsoleProgress=false"]
        for c in self.spark_conf:
            cmd += ["--conf", c]
        if local_wheels:
            cmd += ["--py-files", ",".join(local_wheels)]
        cmd += [str(DRIVER), "--fs-root", str(self.fs_root), "--package", wt["package_name"],
                "--entry-point", wt.get("entry_point") or "", "--wheels", ",".join(local_wheels), "--",
                *[str(p) for p in wt.get("parameters") or []]]
        env = dict(os.environ, PYSPARK_PYTHON=self.python, PYSPARK_DRIVER_PYTHON=self.python,
                   DATABRICKS_EMULATOR_RUN_ID=str(run.run_id))
        # The cluster's own Python path: the wheel (not the source tree) must provide the package.
        env.pop("PYTHONPATH", None)
        with self.lock:
            if run.canceled.is_set():
                return self._finish(run, "CANCELED", "Run cancelled.")
            with open(run.stdout_path, "wb") as out, open(run.stderr_path, "wb") as err:
                run.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=run_dir,
                                            start_new_session=True)
            run.life, run.message, run.run_start = "RUNNING", "In run", now_ms()
        timed_out = False
        while True:
            try:
                rc = run.proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if run.timeout_seconds and (now_ms() - run.run_start) / 1000 > run.timeout_seconds:
                    timed_out = True
                    self._kill(run)
        run.returncode = rc
        if run.canceled.is_set():
            return self._finish(run, "CANCELED", "Run cancelled.")
        if timed_out:
            return self._finish(run, "TIMEDOUT", f"Run timed out after {run.timeout_seconds} seconds.")
        if rc == 0:
            return self._finish(run, "SUCCESS", "")
        run.error, run.error_trace = describe_failure([run.stderr_path, run.stdout_path], rc)
        return self._finish(run, "FAILED", "Workload failed, see run output for details")

    def _finish(self, run: EmulatedRun, result: str, message: str) -> None:
        with self.lock:
            run.life, run.result, run.message, run.end_time = "TERMINATED", result, message, now_ms()

    def _kill(self, run: EmulatedRun) -> None:
        proc = run.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cancel(self, run_id: int) -> None:
        run = self._run(run_id)
        with self.lock:
            if run.life in TERMINAL or run.canceled.is_set():
                return
            run.canceled.set()
            if run.life == "RUNNING":
                run.life, run.message = "TERMINATING", "Run cancellation requested."
        threading.Thread(target=self._kill, args=(run,), daemon=True).start()

    def _run(self, run_id: Any) -> EmulatedRun:
        try:
            rid = int(run_id)
        except (TypeError, ValueError):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid run_id: {run_id!r}") from None
        run = self.runs.get(rid)
        if run is None:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {rid} does not exist.")
        return run

    def _state(self, run: EmulatedRun) -> dict:
        state = {"life_cycle_state": run.life, "state_message": run.message,
                 "user_cancelled_or_timedout": run.result in ("CANCELED", "TIMEDOUT")}
        if run.result is not None:
            state["result_state"] = run.result
        return state

    def run_json(self, run_id: Any) -> dict:
        run = self._run(run_id)
        with self.lock:
            task = dict(run.body["tasks"][0])
            task.update(run_id=run.task_run_id, state=self._state(run), attempt_number=0,
                        start_time=run.start_time, end_time=run.end_time or 0)
            out = {
                "run_id": run.run_id, "number_in_job": run.run_id, "run_name": run.run_name,
                "run_type": "SUBMIT_RUN", "format": "MULTI_TASK",
                "creator_user_name": self.token_owner,
                "run_as_user_name": _principal(run.run_as) or self.token_owner,
                "state": self._state(run), "tasks": [task],
                "start_time": run.start_time, "end_time": run.end_time or 0,
                "run_page_url": f"{self.host}/#job/runs/{run.run_id}",
            }
            if run.timeout_seconds:
                out["timeout_seconds"] = run.timeout_seconds
            return out

    def run_output(self, run_id: Any) -> dict:
        try:
            rid = int(run_id)
        except (TypeError, ValueError):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid run_id: {run_id!r}") from None
        if rid in self.runs:
            raise ApiError(400, "INVALID_PARAMETER_VALUE",
                           "Retrieving the output of runs with multiple tasks is not supported. Please "
                           "retrieve the output of each individual task run instead.")
        if rid not in self.task_runs:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {rid} does not exist.")
        run = self.runs[self.task_runs[rid]]
        meta = self.run_json(run.run_id)["tasks"][0]
        out: dict[str, Any] = {"metadata": meta}
        if run.stdout_path is not None and run.stdout_path.exists():
            logs, truncated = tail(run.stdout_path, 64 * 1024)
            out.update(logs=logs, logs_truncated=truncated)
        if run.result == "FAILED":
            out["error"] = run.error or run.message
            if run.error_trace:
                out["error_trace"] = run.error_trace
        return out

    def runs_view(self) -> list[dict]:
        with self.lock:
            return [{"run_id": r.run_id, "task_run_id": r.task_run_id, "run_name": r.run_name,
                     "run_as": r.run_as, "idempotency_token": r.idempotency_token,
                     "life_cycle_state": r.life, "result_state": r.result, "body": r.body,
                     "returncode": r.returncode, "pid": r.proc.pid if r.proc else None}
                    for r in self.runs.values()]

    def shutdown(self) -> None:
        for run in list(self.runs.values()):
            run.canceled.set()
            self._kill(run)


def _principal(run_as: dict | None) -> str | None:
    if not run_as:
        return None
    return run_as.get("user_name") or run_as.get("service_principal_name") or run_as.get("group_name")


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit)\b.*)$")


def describe_failure(paths: list[Path], rc: int) -> tuple[str, str]:
    """(error, error_trace) the way a task's output shows them: the last exception (or ERROR)
    line of the driver's output, and its tail. spark-submit merges the Python driver's stdout and
    stderr into its own stdout; the JVM's log goes to stderr."""
    lines = []
    for path in paths:
        text, _ = tail(path, 16 * 1024)
        lines += [ln for ln in text.splitlines() if ln.strip()]
    error = next((m.group(1) for ln in reversed(lines) if (m := _EXCEPTION_LINE.match(ln.strip()))), None)
    if error is None:
        error = next((ln.strip() for ln in reversed(lines) if " ERROR " in ln or "spark-jobs:" in ln), None)
    return (error or f"the wheel task exited with code {rc}"), "\n".join(lines[-40:])


def tail(path: Path, limit: int) -> tuple[str, bool]:
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size > limit:
            f.seek(size - limit)
        return f.read().decode("utf-8", "replace"), size > limit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DatabricksEmulator/1"
    ws: Workspace  # set on the subclass made by serve()

    def log_message(self, fmt: str, *args: Any) -> None:  # keep the test output clean
        pass

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict | None = None, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body and not head and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers=headers)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _json_body(self, raw: bytes) -> dict:
        try:
            data = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            raise ApiError(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request") from None
        if not isinstance(data, dict):
            raise ApiError(400, "MALFORMED_REQUEST", "The request body must be a JSON object")
        return data

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        raw = self._body() if self.command in ("POST", "PUT", "PATCH") else b""
        entry: dict[str, Any] = {"method": self.command, "path": path, "query": query, "at": time.time()}
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            try:
                entry["body"] = json.loads(raw)
            except ValueError:
                pass
        status = 500
        try:
            if path.startswith("/__emulator/"):
                status = self._control(path, raw)
                return
            if path == "/.well-known/databricks-config":
                status = 404
                self._json(404, {"error_code": "NOT_FOUND", "message": "Not Found"})
                return
            auth = self.headers.get("Authorization") or ""
            if auth != f"Bearer {self.ws.token}":
                raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
            fault = self.ws.take_fault(self.command, path)
            if fault is not None:
                hdrs = {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") is not None else {}
                raise ApiError(int(fault["status"]), fault.get("error_code") or "TEMPORARILY_UNAVAILABLE",
                               fault.get("message") or "The service is temporarily unavailable", hdrs)
            status = self._api(path, query, raw)
        except ApiError as e:
            status = e.status
            self._json(e.status, {"error_code": e.error_code, "message": e.message}, headers=e.headers)
        except Exception as e:  # noqa: BLE001 - answer 500 like a server would, keep serving
            status = 500
            self._json(500, {"error_code": "INTERNAL_ERROR", "message": f"emulator: {e!r}"})
        finally:
            entry["status"] = status
            with self.ws.lock:
                self.ws.requests.append(entry)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = _dispatch

    # -- test hooks -----------------------------------------------------------------------
    def _control(self, path: str, raw: bytes) -> int:
        ws = self.ws
        if path == "/__emulator/faults" and self.command == "POST":
            f = self._json_body(raw)
            f.setdefault("count", 1)
            f["remaining"] = int(f["count"])
            with ws.lock:
                ws.faults.append(f)
            self._json(200, f)
        elif path == "/__emulator/faults" and self.command == "DELETE":
            with ws.lock:
                ws.faults.clear()
            self._json(200, {})
        elif path == "/__emulator/hold" and self.command == "POST":
            (ws.hold.set if self._json_body(raw).get("hold") else ws.hold.clear)()
            self._json(200, {"hold": ws.hold.is_set()})
        elif path == "/__emulator/cancel-all" and self.command == "POST":
            for run in list(ws.runs.values()):
                ws.cancel(run.run_id)
            self._json(200, {})
        elif path == "/__emulator/force-state" and self.command == "POST":
            # A state this emulator never produces by itself (a newer workspace's, say).
            body = self._json_body(raw)
            run = ws._run(body.get("run_id"))
            with ws.lock:
                run.life, run.result = body["life_cycle_state"], body.get("result_state")
                run.message = body.get("state_message", "")
            self._json(200, ws.run_json(run.run_id))
        elif path == "/__emulator/requests":
            with ws.lock:
                self._json(200, ws.requests)
        elif path == "/__emulator/runs":
            self._json(200, ws.runs_view())
        else:
            raise ApiError(404, "NOT_FOUND", f"no emulator hook {path}")
        return 200

    # -- API ------------------------------------------------------------------------------
    def _api(self, path: str, query: dict, raw: bytes) -> int:
        ws, m = self.ws, self.command
        if path == "/api/2.0/fs/endpoints" and m == "GET":
            host = urlsplit(ws.host)
            self._json(200, {"endpoints": [{"api": "FILES_API", "api_version": "2.0", "scheme": host.scheme,
                                            "hostname": host.netloc, "multipart_upload_supported": False}]})
            return 200
        if path.startswith("/api/2.0/fs/files/"):
            return self._files(path[len("/api/2.0/fs/files"):], query, raw)
        if path.startswith("/api/2.0/fs/directories/"):
            return self._directories(path[len("/api/2.0/fs/directories"):])
        if path.startswith("/api/2.0/workspace/"):
            return self._workspace(path.rsplit("/", 1)[1], query, raw)
        jobs = {
            ("POST", "/api/2.2/jobs/runs/submit"): lambda: ws.submit(self._json_body(raw)),
            ("GET", "/api/2.2/jobs/runs/get"): lambda: ws.run_json(query.get("run_id")),
            ("GET", "/api/2.2/jobs/runs/get-output"): lambda: ws.run_output(query.get("run_id")),
            ("POST", "/api/2.2/jobs/runs/cancel"):
                lambda: (ws.cancel(self._json_body(raw).get("run_id")), {})[1],
        }
        handler = jobs.get((m, path))
        if handler is None:
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{m} {path}'")
        self._json(200, handler())
        return 200

    def _files(self, fpath: str, query: dict, raw: bytes) -> int:
        local = self.ws.local(fpath)
        m = self.command
        if m == "PUT":
            if local.is_dir():
                raise ApiError(409, "ALREADY_EXISTS", f"{fpath} is a directory")
            if local.exists() and query.get("overwrite", "false").lower() != "true":
                raise ApiError(409, "ALREADY_EXISTS", f"The file being created already exists: {fpath}")
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(local.name + ".uploading")
            tmp.write_bytes(raw)
            os.replace(tmp, local)
            self._send(204)
            return 204
        if m == "DELETE":
            if not local.is_file():
                raise ApiError(404, "NOT_FOUND", f"The file does not exist: {fpath}")
            local.unlink()
            self._send(204)
            return 204
        if m not in ("GET", "HEAD"):
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{m} is not allowed on files")
        if not local.is_file():
            raise ApiError(404, "NOT_FOUND", f"The file does not exist: {fpath}")
        data = local.read_bytes()
        headers = {"Last-Modified": formatdate(local.stat().st_mtime, usegmt=True), "Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        status = 200
        if rng and m == "GET":
            mt = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if mt:
                start = int(mt.group(1) or 0)
                end = int(mt.group(2)) if mt.group(2) else len(data) - 1
                if start >= len(data) and len(data) > 0:
                    raise ApiError(416, "INVALID_PARAMETER_VALUE", "Requested range not satisfiable")
                end = min(end, len(data) - 1)
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                data, status = data[start:end + 1], 206
        if m == "HEAD":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            return 200
        self._send(status, data, "application/octet-stream", headers)
        return status

    def _directories(self, dpath: str) -> int:
        local = self.ws.local(dpath.rstrip("/") or "/")
        m = self.command
        if m == "PUT":
            if local.is_file():
                raise ApiError(409, "ALREADY_EXISTS", f"A file exists at {dpath}")
            local.mkdir(parents=True, exist_ok=True)
            self._send(200, b"{}")
            return 200
        if not local.is_dir():
            raise ApiError(404, "NOT_FOUND", f"The directory does not exist: {dpath}")
        if m == "HEAD":
            self._send(200, head=True)
            return 200
        contents = []
        for p in sorted(local.iterdir()):
            if p.name.endswith(".uploading"):
                continue
            item = {"path": dpath.rstrip("/") + "/" + p.name, "name": p.name, "is_directory": p.is_dir()}
            if p.is_file():
                item.update(file_size=p.stat().st_size, last_modified=int(p.stat().st_mtime * 1000))
            contents.append(item)
        self._json(200, {"contents": contents})
        return 200

    def _workspace(self, op: str, query: dict, raw: bytes) -> int:
        ws, m = self.ws, self.command
        allowed = ("/Workspace/",)
        if op == "mkdirs" and m == "POST":
            path = self._json_body(raw).get("path", "")
            path = path if path.startswith("/Workspace") else "/Workspace" + path
            ws.local(path, allowed).mkdir(parents=True, exist_ok=True)
            self._json(200, {})
            return 200
        if op == "import" and m == "POST":
            fields = parse_multipart(self.headers.get("Content-Type") or "", raw)
            path = fields.get("path", b"").decode()
            path = path if path.startswith("/Workspace") else "/Workspace" + path
            local = ws.local(path, allowed)
            if not local.parent.is_dir():
                raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"The parent folder of {path} does not exist")
            if local.exists() and fields.get("overwrite", b"false").decode().lower() != "true":
                raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"{path} already exists")
            local.write_bytes(fields.get("content", b""))
            self._json(200, {})
            return 200
        if op in ("export", "get-status") and m == "GET":
            path = query.get("path", "")
            path = path if path.startswith("/Workspace") else "/Workspace" + path
            local = ws.local(path, allowed)
            if not local.exists():
                raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
            if op == "get-status":
                self._json(200, {"path": path, "object_type": "DIRECTORY" if local.is_dir() else "FILE"})
                return 200
            self._send(200, local.read_bytes(), "application/octet-stream")
            return 200
        raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{m} /api/2.0/workspace/{op}'")


def parse_multipart(content_type: str, raw: bytes) -> dict[str, bytes]:
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[name] = part.get_payload(decode=True) or b""
    return out


def serve(args: argparse.Namespace) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    host = f"http://127.0.0.1:{server.server_address[1]}"
    ws = Workspace(Path(args.root), args.token, host, args.pending_seconds, args.spark_submit,
                   args.python, args.spark_conf, args.token_owner)
    Handler.ws = ws

    def stop(signum, frame):  # noqa: ARG001
        ws.shutdown()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(str(server.server_address[1]))
        os.replace(tmp, args.port_file)
    print(f"databricks emulator on {host} (root {args.root})", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()


def default_spark_submit() -> str:
    import pyspark

    return os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-submit")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="folder for /Volumes, /Workspace files and run logs")
    p.add_argument("--token", required=True, help="the one access token accepted")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--pending-seconds", type=float, default=0.3, help="how long a run stays PENDING")
    p.add_argument("--spark-submit", default=None)
    p.add_argument("--python", default=sys.executable, help="PYSPARK_PYTHON of the runs")
    p.add_argument("--spark-conf", action="append", default=[], help="extra --conf k=v for every run")
    p.add_argument("--token-owner", default="token-owner@example.com")
    args = p.parse_args(argv)
    args.spark_submit = args.spark_submit or default_spark_submit()
    return args


# -- for tests: start and stop the emulator as a process -------------------------------------
class EmulatorProcess:
    def __init__(self, root: Path, token: str, pending_seconds: float = 0.3, spark_conf: list[str] = ()):
        self.root = Path(root)
        self.token = token
        self.pending_seconds = pending_seconds
        self.spark_conf = list(spark_conf)
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> "EmulatorProcess":
        self.root.mkdir(parents=True, exist_ok=True)
        port_file = self.root / "port"
        port_file.unlink(missing_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--root", str(self.root), "--token", self.token,
               "--port-file", str(port_file), "--pending-seconds", str(self.pending_seconds)]
        for c in self.spark_conf:
            cmd += ["--spark-conf", c]
        log = open(self.root / "emulator.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Databricks emulator did not start; see {self.root / 'emulator.log'}")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None

    # test hooks
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.host + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def inject(self, path: str, status: int, count: int = 1, method: str | None = None,
               retry_after: int | None = 0, error_code: str | None = None, message: str | None = None) -> None:
        fault = {"path": path, "status": status, "count": count, "retry_after": retry_after,
                 "error_code": error_code, "message": message}
        if method:
            fault["method"] = method
        self._call("POST", "/__emulator/faults", fault)

    def clear_faults(self) -> None:
        self._call("DELETE", "/__emulator/faults")

    def cancel_all(self) -> None:
        self._call("POST", "/__emulator/cancel-all", {})

    def hold_runs(self, hold: bool = True) -> None:
        """While held, submitted runs stay PENDING (no spark-submit) until canceled or released."""
        self._call("POST", "/__emulator/hold", {"hold": hold})

    def force_state(self, run_id: int, life_cycle_state: str, result_state: str | None = None) -> None:
        self._call("POST", "/__emulator/force-state", {"run_id": run_id, "life_cycle_state": life_cycle_state,
                                                       "result_state": result_state})

    def requests(self) -> list[dict]:
        return self._call("GET", "/__emulator/requests")

    def runs(self) -> list[dict]:
        return self._call("GET", "/__emulator/runs")

    def volume_path(self, path: str) -> Path:
        """Where a /Volumes/... (or /Workspace/...) path lives on this machine."""
        return self.root / "fs" / path.lstrip("/")


if __name__ == "__main__":
    serve(parse_args())
