"""``photon``: job groups on one warm, in-process local SparkSession.

A cold session costs ~10 s and a small job on a warm one a fraction of a second, so the session
is started once, in a background thread as soon as the environment is built (the server's first
POST never waits for it), and kept for the life of the server. Runs execute on a thread pool,
each under its own Spark job group (``cancel`` -> ``cancelJobGroup`` interrupts its tasks at
once) and in its own FAIR scheduler pool (one pool per worker slot, so a big run cannot starve
a small one and the pool count stays bounded).

Everything a run leaves behind is a file: its log (``LAUNCHER_HOME/logs/<jobGroupId>.log``,
written by a handler on the ``spark_jobs`` logger that only takes the run's own thread) and its
result document (``spec.resultUri``), so both outlive the run's in-memory record.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import queue
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from launcher.environments.base import Handle, Run, RunState, State

log = logging.getLogger("launcher.photon")

RESTART_MESSAGE = (
    "the launcher restarted while this job was running in-process; run it again"
)
NAME = "photon"
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


# -- session configuration (pure) ---------------------------------------------------------------
def read_spark_defaults(path: Path) -> dict[str, str]:
    """``spark-defaults.conf``: one ``key value`` per line, ``#`` comments (Spark's own format)."""
    conf: dict[str, str] = {}
    if not path.is_file():
        return conf
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        if not value:
            key, _, value = line.partition("\t")
        conf[key.strip()] = value.strip()
    return conf


def session_conf(
    defaults: dict[str, str], extra: dict[str, str], allocation_file: str, conf_dir: Path = CONF_DIR
) -> dict[str, str]:
    """The photon session's Spark conf: the project's defaults, FAIR pools, then the user's."""
    conf = dict(defaults)
    # The defaults file names its log4j2 file relative to the project; Spark starts the JVM
    # from wherever the launcher runs, so make it absolute.
    opts = conf.get("spark.driver.extraJavaOptions", "")
    rel = "-Dlog4j2.configurationFile=conf/"
    if rel in opts:
        conf["spark.driver.extraJavaOptions"] = opts.replace(rel, f"-Dlog4j2.configurationFile={conf_dir}/")
    conf.setdefault("spark.ui.enabled", "false")
    conf.setdefault("spark.ui.showConsoleProgress", "false")
    conf.setdefault("spark.sql.shuffle.partitions", "4")
    conf["spark.scheduler.mode"] = "FAIR"
    conf["spark.scheduler.allocation.file"] = allocation_file
    conf.update(extra)
    return conf


def pool_name(slot: int) -> str:
    return f"photon-{slot}"


def fair_allocation_xml(slots: int) -> str:
    """One FAIR pool per worker slot: runs share the cores equally, a run's own jobs in order.

    Declaring the pools up front keeps Spark from warning about an unconfigured pool each time
    one is first used.
    """
    pools = "\n".join(
        f'  <pool name="{pool_name(i)}"><schedulingMode>FIFO</schedulingMode>'
        f"<weight>1</weight><minShare>0</minShare></pool>"
        for i in range(slots)
    )
    return f'<?xml version="1.0"?>\n<allocations>\n{pools}\n</allocations>\n'


def state_of_result(doc: dict[str, Any]) -> RunState:
    """A result document's status as a RunState; the first job error is the message."""
    status = doc.get("status")
    errors = [j.get("error") for j in doc.get("jobs", []) if j.get("error")]
    # The error that caused the others ("not run: ...") comes first in job order, but prefer a
    # real error over a NotRun placeholder.
    real = [e for e in errors if e.get("errorClass") != "NotRun"] or errors
    message = f"{real[0].get('errorClass')}: {real[0].get('message')}" if real else None
    if status == "Complete":
        return RunState(State.SUCCEEDED)
    if status == "Canceled":
        return RunState(State.CANCELED, message or "canceled")
    if status == "Failed":
        return RunState(State.FAILED, message or "the run failed")
    return RunState(State.FAILED, f"the result document has an unknown status {status!r}")


def stage_progress(stages: list[tuple[int, int]]) -> int | None:
    """Percent of tasks done over (numTasks, numCompletedTasks) pairs; None when nothing is known.

    Capped at 99: a run is 100 only when its result document says it ended.
    """
    total = sum(n for n, _ in stages)
    if total <= 0:
        return None
    done = sum(min(c, n) for n, c in stages)
    return min(99, int(100 * done / total))


def ended_per_result(doc: dict | None) -> RunState | None:
    """How a run ended per its result document; None when it has none or it is not final."""
    if doc is not None and doc.get("status") in ("Complete", "Failed", "Canceled"):
        return state_of_result(doc)
    return None


def read_result(uri: str | None, session=None) -> dict | None:
    """A run's result document, None while there is none. ``session()`` gives the SparkSession
    for a URI that is not a local file."""
    if not uri:
        return None
    from spark_jobs import fs

    try:
        fsys = fs.for_path(uri, None if fs.is_local(uri) else session())
        if not fsys.exists(uri):
            return None
        return json.loads(fsys.read_bytes(uri))
    except (OSError, ValueError) as e:
        log.warning("result document %s unreadable: %s", uri, e)
        return None


def run_log(handle: Handle, start: int, size: int) -> list[str]:
    path = handle.data.get("logPath")
    return read_lines(path, start, size) if path else []


def read_lines(path: str | os.PathLike, start: int, size: int) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in itertools.islice(f, max(start, 0), max(start, 0) + max(size, 0))]
    except FileNotFoundError:
        return []


# -- the run's log ------------------------------------------------------------------------------
class _ThreadFilter(logging.Filter):
    def __init__(self, thread_id: int):
        super().__init__()
        self.thread_id = thread_id

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread_id


class _RunLog:
    """The run's log file: our own start/end lines plus every ``spark_jobs`` record of its thread."""

    def __init__(self, path: str):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.FileHandler(path, encoding="utf-8")
        self.handler.setFormatter(_utc_formatter())
        self.handler.addFilter(_ThreadFilter(threading.get_ident()))
        self.logger = logging.getLogger("spark_jobs")
        if self.logger.getEffectiveLevel() > logging.INFO:
            self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self.handler)

    def line(self, level: int, message: str, *args: Any) -> None:
        record = logging.LogRecord("launcher.photon", level, __file__, 0, message, args, None)
        self.handler.handle(record)

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.handler.close()


def _utc_formatter() -> logging.Formatter:
    fmt = logging.Formatter(LOG_FORMAT)
    fmt.converter = time.gmtime
    return fmt


# -- the environment ----------------------------------------------------------------------------
@dataclass
class _Record:
    run: Run
    future: Future | None = None
    started: bool = False
    cancel_requested: bool = False
    state: RunState = field(default_factory=lambda: RunState(State.PENDING))


class PhotonEnvironment:
    name: ClassVar[str] = NAME

    def __init__(self, settings: Any = None, spark: Any = None, *, master: str | None = None,
                 concurrency: int | None = None, conf: dict[str, str] | None = None,
                 poll_interval: float | None = None, home: str | os.PathLike | None = None):
        own = getattr(getattr(settings, "environments", None), "photon", None)
        self.master = master or getattr(own, "master", None) or "local[2]"
        self.concurrency = concurrency or getattr(own, "concurrency", None) or 2
        self.poll_interval = poll_interval or getattr(own, "poll_interval_seconds", None) or 0.2
        self.extra_conf = dict(conf if conf is not None else getattr(own, "conf", None) or {})
        home = home if home is not None else getattr(settings, "home", None)
        self.home = Path(home) if home is not None else Path("var").resolve()
        self._lock = threading.Lock()
        self._runs: dict[str, _Record] = {}
        self._slots: queue.Queue[int] = queue.Queue()
        for i in range(self.concurrency):
            self._slots.put(i)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="photon")
        self._session_ready = threading.Event()
        self._session_error: BaseException | None = None
        self._owns_session = False
        self._closed = False
        self._listener = None
        self._spark = spark
        if spark is not None:
            self._session_ready.set()
        else:
            self._start_session()

    # -- the session ------------------------------------------------------------------------
    def _start_session(self) -> None:
        self._session_error = None
        self._session_ready.clear()
        threading.Thread(target=self._create_session, name="photon-session", daemon=True).start()

    def _create_session(self) -> None:
        try:
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
            from pyspark import SparkContext
            from pyspark.sql import SparkSession

            alloc = self.home / "photon-fairscheduler.xml"
            alloc.parent.mkdir(parents=True, exist_ok=True)
            alloc.write_text(fair_allocation_xml(self.concurrency))
            conf = session_conf(read_spark_defaults(CONF_DIR / "spark-defaults.conf"),
                                self.extra_conf, str(alloc))
            # A process holds one SparkContext: if one runs already (a test's session, a
            # notebook's), photon shares it and leaves stopping it to its owner.
            self._owns_session = SparkContext._active_spark_context is None
            builder = SparkSession.builder
            if self._owns_session:  # a borrowed session keeps its owner's configuration
                builder = builder.master(self.master).appName("launcher-photon")
                for k, v in conf.items():
                    builder = builder.config(k, v)
            started = time.monotonic()
            self._spark = builder.getOrCreate()
            log.info("photon SparkSession ready (%s) in %.1f s", self.master, time.monotonic() - started)
        except BaseException as e:  # noqa: BLE001 - every run waiting on it must learn why
            self._session_error = e
            log.error("photon SparkSession could not start: %s", e)
        finally:
            self._session_ready.set()

    @property
    def ready(self) -> bool:
        return self._session_ready.is_set() and self._spark is not None

    def session(self, timeout: float | None = None):
        """The SparkSession, waiting for it to start (never called on a request thread)."""
        if not self._session_ready.wait(timeout):
            raise TimeoutError("the photon SparkSession is still starting")
        if self._spark is None:
            raise RuntimeError(f"the photon SparkSession could not start: {self._session_error}")
        return self._spark

    # -- the protocol -----------------------------------------------------------------------
    def submit(self, run: Run) -> Handle:
        if self._closed:
            raise RuntimeError("the photon environment is shut down")
        with self._lock:
            if self._session_ready.is_set() and self._spark is None:
                self._start_session()  # the last attempt failed: try again for this run
            rec = _Record(run)
            self._runs[run.tag] = rec
            rec.future = self._pool.submit(self._execute, rec)
        return Handle(
            environment=NAME,
            tag=run.tag,
            external_id=f"pid:{os.getpid()}",
            data={"resultUri": run.spec.resultUri, "logPath": run.log_path, "pid": os.getpid()},
        )

    def poll(self, handle: Handle) -> RunState:
        rec = self._runs.get(handle.tag)
        if rec is None:
            return self._unknown(handle)
        fut = rec.future
        if fut is not None and fut.done() and not rec.state.has_terminated():
            # The worker ended without saying how (it cannot, but a run must never hang).
            rec.state = (RunState(State.CANCELED, "canceled before it started") if fut.cancelled() else
                         RunState(State.FAILED, f"the photon worker ended unexpectedly: {fut.exception()}"))
        if rec.cancel_requested and not rec.state.has_terminated() and rec.started:
            # A Spark job the run started after the first cancel is not stopped by it.
            self._cancel_spark(handle.tag)
        return rec.state

    def cancel(self, handle: Handle) -> None:
        rec = self._runs.get(handle.tag)
        if rec is None or rec.state.has_terminated():
            return
        rec.cancel_requested = True
        if rec.future is not None and rec.future.cancel():
            rec.state = RunState(State.CANCELED, "canceled before it started")
            return
        self._cancel_spark(handle.tag)

    def logs(self, handle: Handle, start: int, size: int) -> list[str]:
        return run_log(handle, start, size)

    def result(self, handle: Handle) -> dict | None:
        return read_result(handle.data.get("resultUri"), lambda: self.session(timeout=30))

    def recover(self, handle: Handle) -> RunState:
        rec = self._runs.get(handle.tag)
        if rec is not None:
            return self.poll(handle)
        return self._unknown(handle)

    def _unknown(self, handle: Handle) -> RunState:
        # Not a run of this process: the process that ran it is gone. If it got as far as its
        # result document, that says how it ended; otherwise the work died with the process.
        return ended_per_result(self.result(handle)) or RunState(State.FAILED, RESTART_MESSAGE)

    # -- optional extensions the dispatcher uses when present -------------------------------
    def set_listener(self, listener) -> None:
        """``listener(tag)`` is called when a run ends, so it is read back without a poll's wait."""
        self._listener = listener

    def progress(self, handle: Handle) -> int | None:
        """Percent of the run's Spark tasks done so far, from the status tracker."""
        rec = self._runs.get(handle.tag)
        if rec is None or not rec.started or self._spark is None:
            return None
        try:
            tracker = self._spark.sparkContext.statusTracker()
            stages = []
            for job_id in tracker.getJobIdsForGroup(handle.tag):
                info = tracker.getJobInfo(job_id)
                for sid in info.stageIds if info else ():
                    st = tracker.getStageInfo(sid)
                    if st is not None:
                        stages.append((st.numTasks, st.numCompletedTasks))
            return stage_progress(stages)
        except Exception:  # noqa: BLE001 - progress is a nicety; never fail a poll on it
            return None

    # -- running ----------------------------------------------------------------------------
    def _cancel_spark(self, tag: str) -> None:
        if self._spark is None:
            return
        try:
            self._spark.sparkContext.cancelJobGroup(tag)
        except Exception as e:  # noqa: BLE001 - the JVM may be stopping
            log.warning("cancelJobGroup(%s) failed: %s", tag, e)

    def _execute(self, rec: _Record) -> None:
        run = rec.run
        runlog = _RunLog(run.log_path)
        began = time.monotonic()
        # The run's end is published (rec.state) only after its last log line is written: a
        # caller that sees it ended reads a complete log.
        outcome = RunState(State.FAILED, "the run ended without an outcome")
        try:
            runlog.line(logging.INFO, "job group %s: queued on photon (%s)", run.job_group_id, self.master)
            spark = self.session()
            if rec.cancel_requested:
                outcome = RunState(State.CANCELED, "canceled before it started")
                runlog.line(logging.INFO, "job group %s: Canceled before it started", run.job_group_id)
                return
            slot = self._slots.get()
            try:
                rec.started = True
                rec.state = RunState(State.RUNNING)
                sc = spark.sparkContext
                sc.setJobGroup(run.tag, f"job group {run.job_group_id}", interruptOnCancel=True)
                sc.setLocalProperty("spark.scheduler.pool", pool_name(slot))
                runlog.line(logging.INFO, "job group %s: started (Spark job group %s, pool %s, user %s)",
                            run.job_group_id, run.tag, pool_name(slot), run.user)
                if rec.cancel_requested:  # a cancel that came while we set up
                    sc.cancelJobGroup(run.tag)
                from spark_jobs.runner import run_job

                result = run_job(run.spec, spark=spark)
                doc = result.model_dump(mode="json")
                for job in doc["jobs"]:
                    err = job.get("error")
                    runlog.line(logging.INFO if not err else logging.ERROR,
                                "job %s (%s): %s%s%s", job["jobId"], job["jobType"], job["status"],
                                f", {job['rows']} rows" if job.get("rows") is not None else "",
                                f": {err['errorClass']}: {err['message']}" if err else "")
                outcome = state_of_result(doc)
            finally:
                self._slots.put(slot)
                _clear_thread_properties(spark)
        except BaseException as e:  # noqa: BLE001 - a crash of the run is a Failed run, never a hang
            from spark_jobs.errors import describe_error

            err = describe_error(e)
            outcome = RunState(State.FAILED, f"{err['errorClass']}: {err['message']}")
            runlog.line(logging.ERROR, "job group %s: crashed: %s", run.job_group_id, outcome.message)
        finally:
            runlog.line(logging.INFO, "job group %s: %s in %.2f s", run.job_group_id,
                        _word(outcome.state), time.monotonic() - began)
            runlog.close()
            rec.state = outcome
            if self._listener is not None:
                try:
                    self._listener(run.tag)
                except Exception:  # noqa: BLE001 - the poll finds it anyway
                    log.exception("run listener failed")

    # -- life cycle -------------------------------------------------------------------------
    def close(self, stop_session: bool = False) -> None:
        """Cancel what runs and stop the workers.

        The session is kept unless ``stop_session`` (and photon started it): another user of the
        process's one SparkContext (a test's fixture, the next app built in the same process)
        may hold it too, and the JVM ends with the process anyway.
        """
        self._closed = True
        for tag, rec in list(self._runs.items()):
            if not rec.state.has_terminated():
                self.cancel(Handle(environment=NAME, tag=tag))
        self._pool.shutdown(wait=False, cancel_futures=True)
        if stop_session and self._owns_session and self._spark is not None:
            self._spark.stop()
            self._spark = None

    def forget(self, tag: str) -> None:
        """Drop a finished run's in-memory record (its log and result stay on disk)."""
        rec = self._runs.get(tag)
        if rec is not None and rec.state.has_terminated():
            self._runs.pop(tag, None)


def _clear_thread_properties(spark) -> None:
    """Leave the pooled worker thread as it was found (its next run sets its own)."""
    try:
        sc = spark.sparkContext
        for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel",
                    "spark.scheduler.pool"):
            sc.setLocalProperty(key, None)
    except Exception:  # noqa: BLE001 - the session may be stopping; nothing left to clean
        pass


def _word(state: State) -> str:
    return {State.SUCCEEDED: "Complete", State.FAILED: "Failed", State.CANCELED: "Canceled"}.get(state, state.value)


def build(settings: Any = None, spark: Any = None):
    """The photon environment these settings ask for.

    A given SparkSession (a test's, a notebook's) is shared in-process; otherwise
    ``[environments.photon] isolation`` decides: "process" (the default) runs the session in a
    worker process (``photon_process``), "inline" in this one.
    """
    own = getattr(getattr(settings, "environments", None), "photon", None)
    if spark is None and getattr(own, "isolation", "inline") == "process":
        from launcher.environments.photon_process import PhotonProcess

        return PhotonProcess(settings)
    return PhotonEnvironment(settings, spark=spark)
