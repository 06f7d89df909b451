"""``photon`` as the server runs it: the same environment, in a worker process of its own.

``PhotonProcess`` has photon's interface (submit, poll, cancel, logs, result, recover, progress)
and forwards each call to ``launcher.environments.photon_worker``, which holds the warm
SparkSession and runs the job groups (see that module for why). Logs and local result documents
are files, read here without a round trip.

The worker is started with the environment (the session warms up while the server starts) and
again on the next submit if it died. A run that was in a worker that died ends Failed with the
worker's exit status, unless its result document says it ended first; a run of a worker from
before a launcher restart ends Failed with photon's restart message, as in-process runs do.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future, TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from typing import Any, ClassVar

from launcher.environments.base import Handle, Run, RunState, State
from launcher.environments.photon import NAME, RESTART_MESSAGE, ended_per_result, read_result, run_log

log = logging.getLogger("launcher.photon")

CALL_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


class WorkerGone(RuntimeError):
    """The worker process ended before it answered."""


class _Worker:
    """One worker process and the socket to it; replies are matched to calls by id."""

    def __init__(self, config: dict[str, Any]):
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "launcher.environments.photon_worker", "--fd", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self.pid = self.proc.pid
        self.conn = Connection(ours.detach())
        self._send_lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._ids = itertools.count(1)
        self.on_changed = None
        self.exit_reason: str | None = None
        self.ended = threading.Event()
        self.conn.send(config)
        threading.Thread(target=self._read, name=f"photon-worker-{self.pid}", daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.exit_reason is None

    def call(self, method: str, *args: Any, timeout: float = CALL_TIMEOUT_SECONDS) -> Any:
        fut: Future = Future()
        call_id = next(self._ids)
        self._pending[call_id] = fut
        try:
            if not self.alive:
                raise WorkerGone(self.exit_reason)
            with self._send_lock:
                self.conn.send(("call", call_id, method, args))
            ok, value = fut.result(timeout)
        except (OSError, ValueError) as e:
            raise WorkerGone(self.exit_reason or f"the photon worker cannot be reached: {e}") from None
        except FutureTimeout:
            raise TimeoutError(f"the photon worker did not answer {method} within {timeout:.0f} s") from None
        finally:
            self._pending.pop(call_id, None)
        if not ok:
            raise RuntimeError(value)
        return value

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "reply":
                fut = self._pending.get(msg[1])
                if fut is not None and not fut.done():
                    fut.set_result((msg[2], msg[3]))
            elif msg[0] == "changed" and self.on_changed is not None:
                try:
                    self.on_changed(msg[1])
                except Exception:  # noqa: BLE001 - the poll finds it anyway
                    log.exception("run listener failed")
        code = self.proc.wait()
        self.exit_reason = (f"the photon worker process (pid {self.pid}) exited with code {code}"
                            if code >= 0 else
                            f"the photon worker process (pid {self.pid}) was killed by signal {-code}")
        self.ended.set()
        for fut in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(WorkerGone(self.exit_reason))
        if self.on_changed is not None:
            self.on_changed(None)  # every run of this worker changed: it ended with it

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        if self.alive:
            try:
                with self._send_lock:
                    self.conn.send(("close", 0, None, ()))
            except (OSError, ValueError):
                pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.conn.close()


class PhotonProcess:
    """photon's environment, run by a worker process (``[environments.photon] isolation = "process"``)."""

    name: ClassVar[str] = NAME

    def __init__(self, settings: Any = None, *, master: str | None = None, concurrency: int | None = None,
                 conf: dict[str, str] | None = None, poll_interval: float | None = None, nice: int | None = None):
        own = getattr(getattr(settings, "environments", None), "photon", None)
        self.master = master or getattr(own, "master", None) or "local[2]"
        self.concurrency = concurrency or getattr(own, "concurrency", None) or 2
        self.poll_interval = poll_interval or getattr(own, "poll_interval_seconds", None) or 0.2
        home = getattr(settings, "home", None)
        self._config = {
            "master": self.master, "concurrency": self.concurrency, "poll_interval": self.poll_interval,
            "conf": dict(conf if conf is not None else getattr(own, "conf", None) or {}),
            "home": str(home) if home is not None else os.path.abspath("var"),
            "nice": nice if nice is not None else getattr(own, "nice", 10),
            "log_level": str(getattr(settings, "log_level", "info")),
        }
        self._lock = threading.Lock()
        self._listener = None
        self._closed = False
        self._ready = False
        # Workers this launcher started that have ended, by pid: their runs end with them.
        self._gone: dict[int, str] = {}
        self._tags: set[str] = set()  # runs submitted and not yet forgotten
        self._worker = self._start()

    # -- the worker -------------------------------------------------------------------------
    def _start(self) -> _Worker:
        w = _Worker(self._config)
        w.on_changed = lambda tag, w=w: self._changed(w, tag)
        log.info("photon worker process started (pid %s, nice %s)", w.pid, self._config["nice"])
        return w

    def _changed(self, w: _Worker, tag: str | None) -> None:
        if tag is None:  # the worker ended
            self._gone[w.pid] = w.exit_reason or "the photon worker process ended"
            self._ready = False
            if not self._closed:
                log.error("%s; the next run starts a new one", self._gone[w.pid])
        if self._listener is not None:
            self._listener(tag) if tag is not None else self._listener_all()

    def _listener_all(self) -> None:
        # The dispatcher's listener takes one tag; a dead worker changes every run it had.
        for tag in list(self._tags):
            self._listener(tag)

    def _current(self, *, start: bool = False) -> _Worker:
        with self._lock:
            if not self._worker.alive and start and not self._closed:
                self._worker = self._start()
            return self._worker

    # -- the protocol -----------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        if not self._ready:
            try:
                self._ready = bool(self._current().call("ready", timeout=2))
            except Exception:  # noqa: BLE001 - starting, or gone: not ready either way
                return False
        return self._ready

    def submit(self, run: Run) -> Handle:
        if self._closed:
            raise RuntimeError("the photon environment is shut down")
        handle = self._current(start=True).call("submit", run)
        self._tags.add(run.tag)
        return handle

    def poll(self, handle: Handle) -> RunState:
        return self._ask("poll", handle)

    def recover(self, handle: Handle) -> RunState:
        return self._ask("recover", handle)

    def _ask(self, method: str, handle: Handle) -> RunState:
        gone = self._gone_with_worker(handle)
        if gone is not None:
            return gone
        w = self._current()
        try:
            return w.call(method, handle)
        except WorkerGone:
            # It died under the call: once its end is recorded, the run's state follows from it.
            w.ended.wait(10)
            return self._gone_with_worker(handle) or RunState(State.FAILED, str(w.exit_reason))

    def cancel(self, handle: Handle) -> None:
        if self._gone_with_worker(handle) is None:
            self._current().call("cancel", handle)

    def progress(self, handle: Handle) -> int | None:
        if self._gone_with_worker(handle) is not None:
            return None
        return self._current().call("progress", handle, timeout=5)

    def forget(self, tag: str) -> None:
        self._tags.discard(tag)
        w = self._current()
        if w.alive:
            try:
                w.call("forget", tag, timeout=5)
            except Exception:  # noqa: BLE001 - only a record to drop
                pass

    def logs(self, handle: Handle, start: int, size: int) -> list[str]:
        return run_log(handle, start, size)

    def result(self, handle: Handle) -> dict | None:
        from spark_jobs import fs

        uri = handle.data.get("resultUri")
        if uri and not fs.is_local(uri):  # needs the worker's Spark (Hadoop file systems)
            return self._current(start=True).call("result", handle)
        return read_result(uri)  # a file: read here, even when the worker is gone

    def set_listener(self, listener) -> None:
        self._listener = listener

    def close(self, stop_session: bool = True) -> None:
        """Stop the worker: it cancels what runs and stops its SparkSession."""
        self._closed = True
        self._worker.stop()

    # -- helpers ----------------------------------------------------------------------------
    def _gone_with_worker(self, handle: Handle) -> RunState | None:
        """How a run ended if the worker it was in is gone (None: its worker is the live one)."""
        pid = handle.data.get("pid")
        w = self._worker
        if pid == w.pid and w.alive:
            return None
        if pid == w.pid or pid in self._gone:
            why = self._gone.get(pid) or w.exit_reason or "the photon worker process ended"
            message = f"{why} while this run was in it; run it again"
        else:
            message = RESTART_MESSAGE
        return ended_per_result(self.result(handle)) or RunState(State.FAILED, message)
