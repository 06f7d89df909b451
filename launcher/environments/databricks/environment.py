"""``databricksSpark``: a job group runs as a one-time Databricks run (Jobs API ``runs/submit``).

submit: the ``spark_jobs`` wheel (built once per content hash, uploaded once per hash) and a
copy of the spec whose ``resultUri`` points into the upload directory go to the workspace; then
one ``python_wheel_task`` run is submitted with an idempotency token derived from the job group,
so a repeated submit of the same group never starts a second run.
poll: one ``runs/get``; the state is mapped by ``states.map_run_state``. A failed run's message
gets the task's ``get_run_output`` error, and its output tail goes to the job group's log.
result: the result document read back from the upload directory (a local copy is kept at the
launcher's own ``resultUri``).

Nothing here waits for a run: the dispatcher calls ``poll`` on its own schedule. 429/503 answers
are retried by the SDK with backoff within ``retry_budget_seconds`` per call (submit, uploads);
poll uses a short per-call budget and this class bounds the whole unavailable stretch by
``retry_budget_seconds`` too, so the dispatcher's thread is never held long.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import DatabricksError, NotFound, Unauthenticated
from databricks.sdk.service import compute, jobs

from launcher.environments.base import Handle, Run, RunState, State
from launcher.environments.databricks import failures
from launcher.environments.databricks.failures import DatabricksEnvironmentError, describe, is_transient
from launcher.environments.databricks.principals import idempotency_token, principal_for, run_name
from launcher.environments.databricks.remote_files import remote_files
from launcher.environments.databricks.settings import DatabricksSettings, configuration_problem
from launcher.environments.databricks.states import map_run_state
from launcher.environments.databricks.wheel import WheelCache

log = logging.getLogger("launcher.environments.databricks")

PACKAGE_NAME = "spark_jobs"
ENTRY_POINT = "spark-jobs"
TASK_KEY = "spark_jobs"
RUNS_API = "/api/2.2/jobs/runs/get"  # read raw, so an unknown state keeps its raw value
# A poll is one look: its own retries stay short, the stretch across polls is bounded separately.
POLL_CALL_RETRY_SECONDS = 5


@dataclass
class _Followed:
    """What this process knows of a run between polls (lost on restart, rebuilt by recover)."""

    last: RunState | None = None
    unavailable_since: float | None = None
    final: RunState | None = None
    result: dict | None = None


class DatabricksEnvironment:
    name: ClassVar[str] = "databricksSpark"

    def __init__(self, settings: DatabricksSettings, work_dir: Path | str, *,
                 clock: Callable[[], float] = time.monotonic, wheel_cache: WheelCache | None = None):
        self.settings = settings
        self.work_dir = Path(work_dir)
        self.poll_interval = settings.poll_interval_seconds
        self.concurrency = settings.concurrency
        self._clock = clock
        self._wheels = wheel_cache or WheelCache(self.work_dir / "wheels")
        self._uploaded_wheels: set[str] = set()
        self._lock = threading.Lock()
        self._followed: dict[int, _Followed] = {}
        self._tags: dict[str, int] = {}
        self._clients: dict[str, WorkspaceClient] = {}

    # -- clients -----------------------------------------------------------------------------
    def _client(self, kind: str = "main") -> WorkspaceClient:
        with self._lock:
            if kind not in self._clients:
                problem = configuration_problem(self.settings)
                if problem:
                    raise DatabricksEnvironmentError(problem)
                budget = int(max(1, self.settings.retry_budget_seconds))
                if kind == "poll":
                    budget = min(budget, POLL_CALL_RETRY_SECONDS)
                token = self.settings.token()
                cfg = Config(host=self.settings.host, token=token.get_secret_value(), auth_type="pat",
                             retry_timeout_seconds=budget, product="spark-jobgroups-launcher",
                             product_version="0.1.0")
                self._clients[kind] = WorkspaceClient(config=cfg)
            return self._clients[kind]

    def _reset_clients_after(self, err: BaseException) -> None:
        """After a 401 the next call makes new clients, which read the token again: a token
        fixed in its variable or file is picked up without a launcher restart."""
        if isinstance(err, Unauthenticated):
            with self._lock:
                self._clients.clear()

    # -- submit ------------------------------------------------------------------------------
    def submit(self, run: Run) -> Handle:
        s = self.settings
        principal = principal_for(run.user, s)
        run_dir = f"{s.upload_dir}/runs/{run.tag}"
        spec_uri, result_uri = f"{run_dir}/spec.json", f"{run_dir}/result.json"
        token = idempotency_token(run.job_group_id, run.tag)
        _append(run.log_path, f"databricksSpark: job group {run.job_group_id} to {s.host}, "
                              f"run as {principal.label}")
        op = failures.UPLOAD
        try:
            w = self._client()
            files = remote_files(w, s.upload_dir)
            wheel_uri = self._ensure_wheel(files, run.log_path)
            # The cluster reads and writes the volume through its /Volumes mount: the copy of the
            # spec it runs writes its result document beside itself, where result() reads it.
            spec = run.spec.model_copy(update={"resultUri": result_uri})
            files.upload(spec_uri, spec.to_json().encode())
            _append(run.log_path, f"uploaded the job spec to {spec_uri}")
            op = failures.SUBMIT
            waiter = w.jobs.submit(
                run_name=run_name(run.job_group_id, run.tag),
                tasks=[self._task(spec_uri, wheel_uri)],
                environments=self._environments(wheel_uri),
                run_as=principal.run_as(),
                idempotency_token=token,
                timeout_seconds=s.timeout_seconds or None,
            )
        except (DatabricksError, TimeoutError, OSError) as e:
            self._reset_clients_after(e)
            message = describe(op, e, s)
            _append(run.log_path, f"failed: {message}")
            raise DatabricksEnvironmentError(message) from None
        run_id = int(waiter.response.run_id)
        with self._lock:
            self._tags[run.tag] = run_id
        _append(run.log_path, f"submitted Databricks run {run_id} (idempotency token {token})")
        return Handle(
            environment=self.name,
            tag=run.tag,
            external_id=str(run_id),
            data={
                "runId": run_id,
                "runAs": principal.label,
                "principal": principal.as_dict(),
                "host": s.host,
                "specUri": spec_uri,
                "resultUri": result_uri,
                "localResultUri": run.spec.resultUri,
                "wheelUri": wheel_uri,
                "logPath": run.log_path,
                "idempotencyToken": token,
            },
        )

    def _ensure_wheel(self, files, log_path: str) -> str:
        wheel, digest = self._wheels.ensure()
        uri = f"{self.settings.upload_dir}/wheels/{digest}/{wheel.name}"
        if digest not in self._uploaded_wheels:
            if files.exists(uri):
                _append(log_path, f"the spark_jobs wheel {wheel.name} is already in the workspace")
            else:
                files.upload(uri, wheel.read_bytes())
                _append(log_path, f"uploaded the spark_jobs wheel to {uri}")
            self._uploaded_wheels.add(digest)
        return uri

    def _task(self, spec_uri: str, wheel_uri: str) -> jobs.SubmitTask:
        s = self.settings
        task = jobs.SubmitTask(
            task_key=TASK_KEY,
            python_wheel_task=jobs.PythonWheelTask(
                package_name=PACKAGE_NAME, entry_point=ENTRY_POINT, parameters=["--spec", spec_uri]),
        )
        if s.serverless:
            task.environment_key = TASK_KEY  # serverless installs the wheel from its environment
        else:
            task.libraries = [compute.Library(whl=wheel_uri)]
            if s.existing_cluster_id:
                task.existing_cluster_id = s.existing_cluster_id
            else:
                task.new_cluster = compute.ClusterSpec.from_dict(s.new_cluster or {})
        return task

    def _environments(self, wheel_uri: str) -> list[jobs.JobEnvironment] | None:
        if not self.settings.serverless:
            return None
        return [jobs.JobEnvironment(environment_key=TASK_KEY, spec=compute.Environment(
            environment_version=self.settings.serverless_environment_version, dependencies=[wheel_uri]))]

    # -- follow ------------------------------------------------------------------------------
    def poll(self, handle: Handle) -> RunState:
        run_id = _run_id(handle)
        if run_id is None:
            return RunState(State.FAILED, "no Databricks run id was saved for this job group: the launcher "
                                          "stopped while submitting it")
        with self._lock:
            self._tags[handle.tag] = run_id
        f = self._follow(run_id)
        if f.final is not None:
            return f.final
        try:
            raw = self._client("poll").api_client.do("GET", RUNS_API, query={"run_id": run_id})
        except Exception as e:  # noqa: BLE001 - sorted into transient and final below
            return self._poll_failed(handle, f, e)
        f.unavailable_since = None
        st = raw.get("state") or {}
        state = map_run_state(st.get("life_cycle_state"), st.get("result_state"), st.get("state_message"))
        if f.last is None or f.last.state != state.state:
            page = f" ({raw['run_page_url']})" if raw.get("run_page_url") and f.last is None else ""
            _append(_log_path(handle), f"Databricks run {run_id}: {_raw_state(st)}{page}")
        f.last = state
        if not state.has_terminated():
            return state
        if state.state == State.FAILED:
            state = self._with_task_output(handle, raw, state)
        elif state.state == State.SUCCEEDED:
            state = self._fetch_result(handle, f, state)
        f.final = state
        return state

    def recover(self, handle: Handle) -> RunState:
        run_id = _run_id(handle)
        if run_id is not None:
            with self._lock:
                self._followed.pop(run_id, None)
            _append(_log_path(handle), f"launcher restarted: following Databricks run {run_id} again")
        return self.poll(handle)

    def _follow(self, run_id: int) -> _Followed:
        with self._lock:
            return self._followed.setdefault(run_id, _Followed())

    def _poll_failed(self, handle: Handle, f: _Followed, err: Exception) -> RunState:
        s = self.settings
        if not is_transient(err):
            self._reset_clients_after(err)
            message = describe(failures.POLL, err, s)
            _append(_log_path(handle), f"failed: {message}")
            f.final = RunState(State.FAILED, message)
            return f.final
        now = self._clock()
        if f.unavailable_since is None:
            f.unavailable_since = now
        waited = now - f.unavailable_since
        if waited >= s.retry_budget_seconds:
            message = describe(failures.POLL, err, s)
            _append(_log_path(handle), f"failed: {message}")
            f.final = RunState(State.FAILED, message)
            return f.final
        # Not known to have changed: report what was last seen and look again next poll.
        last = f.last or RunState(State.RUNNING)
        return RunState(last.state, f"workspace unavailable for {waited:.0f} s: {failures.server_message(err)}")

    def _with_task_output(self, handle: Handle, raw: dict, state: RunState) -> RunState:
        """A failed run's message with its task's error; the task's output tail goes to the log."""
        tasks = raw.get("tasks") or []
        task_run_id = tasks[0].get("run_id") if tasks else None
        if task_run_id is None:
            return state
        try:
            out = self._client("poll").jobs.get_run_output(task_run_id)
        except Exception as e:  # noqa: BLE001 - the state's own message is still worth reporting
            _append(_log_path(handle), f"could not read the task's output: {describe(failures.OUTPUT, e, self.settings)}")
            return state
        tail = self.settings.log_tail_lines
        lines = []
        if out.error_trace:
            lines += ["task error trace:"] + out.error_trace.rstrip().splitlines()[-tail:]
        if out.logs:
            lines += ["task output (tail):"] + out.logs.rstrip().splitlines()[-tail:]
        if out.error:
            lines.append(f"task error: {out.error}")
        if lines:
            _append(_log_path(handle), *lines)
        if out.error:
            return RunState(state.state, f"{state.message}; task error: {out.error.strip()}")
        return state

    def _fetch_result(self, handle: Handle, f: _Followed, state: RunState) -> RunState:
        """Read the result document as the run ends, so an unreadable one is a clear failure."""
        try:
            f.result = self._download_result(handle)
        except DatabricksEnvironmentError as e:
            return RunState(State.FAILED, str(e))
        return state

    # -- stop, logs, result ------------------------------------------------------------------
    def cancel(self, handle: Handle) -> None:
        run_id = _run_id(handle)
        if run_id is None:
            return
        try:
            self._client().jobs.cancel_run(run_id)  # returns a waiter; never waited on here
        except NotFound:
            return
        except (DatabricksError, TimeoutError, OSError) as e:
            message = describe(failures.CANCEL, e, self.settings)
            _append(_log_path(handle), f"cancel failed: {message}")
            raise DatabricksEnvironmentError(message) from None
        _append(_log_path(handle), f"cancel requested for Databricks run {run_id}")

    def logs(self, handle: Handle, start: int, size: int) -> list[str]:
        path = _log_path(handle)
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError:
            return []
        return lines[max(0, start): max(0, start) + max(0, size)]

    def result(self, handle: Handle) -> dict | None:
        run_id = _run_id(handle)
        f = self._follow(run_id) if run_id is not None else _Followed()
        if f.result is None:
            f.result = self._download_result(handle)
        return f.result

    def forget(self, tag: str) -> None:
        """The dispatcher is done with the run of ``tag``: drop what is kept about it."""
        with self._lock:
            run_id = self._tags.pop(tag, None)
            if run_id is not None:
                self._followed.pop(run_id, None)

    def _download_result(self, handle: Handle) -> dict | None:
        uri = handle.data.get("resultUri")
        if not uri:
            return None
        try:
            data = remote_files(self._client(), self.settings.upload_dir).download(uri)
        except (DatabricksError, TimeoutError, OSError) as e:
            message = describe(failures.DOWNLOAD, e, self.settings)
            _append(_log_path(handle), f"failed: {message}")
            raise DatabricksEnvironmentError(message) from None
        if data is None:
            return None
        try:
            doc = json.loads(data)
        except ValueError as e:
            raise DatabricksEnvironmentError(f"the result document {uri} is not JSON: {e}") from None
        local = handle.data.get("localResultUri")
        if local and local.startswith("/"):
            try:
                Path(local).parent.mkdir(parents=True, exist_ok=True)
                Path(local).write_bytes(data)
            except OSError as e:
                log.warning("could not keep a local copy of %s at %s: %s", uri, local, e)
        return doc


# -- helpers ---------------------------------------------------------------------------------
def _run_id(handle: Handle) -> int | None:
    value = handle.external_id or handle.data.get("runId")
    return int(value) if value not in (None, "") else None


def _log_path(handle: Handle) -> str | None:
    return handle.data.get("logPath")


def _raw_state(st: dict[str, Any]) -> str:
    parts = [st.get("life_cycle_state") or "?"]
    if st.get("result_state"):
        parts.append(st["result_state"])
    text = "/".join(parts)
    return f"{text}: {st['state_message']}" if st.get("state_message") else text


def _append(path: str | None, *lines: str) -> None:
    if not path:
        return
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(f"{stamp} {line}\n")
    except OSError as e:
        log.warning("cannot write the run log %s: %s", path, e)
