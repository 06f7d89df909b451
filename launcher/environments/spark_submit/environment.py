"""The ``spark`` environment: the Environment protocol over the four run modes.

The mode a run was submitted with is saved in its handle, so a run keeps being followed the
way it started even when the configuration changes between launcher restarts. What is common to
every mode lives here: the result document, the log file and its paging, the driver's log kept
after the run ends, and which runs this process canceled.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import ClassVar

from launcher.environments.base import Handle, Run, RunState, State
from launcher.environments.spark_submit.modes import MODES, Context, Mode, append_log
from launcher.environments.spark_submit.settings import SparkSettings
from launcher.environments.spark_submit.states import settle
from spark_jobs import fs

log = logging.getLogger("launcher.environments.spark")

# Written once the driver's remote log has been copied into the launcher's log file.
ARCHIVED = "[launcher] ---- end of the driver's log ----"


class SparkSubmitEnvironment:
    name: ClassVar[str] = "spark"

    def __init__(self, settings: SparkSettings, work_dir: str | os.PathLike):
        self.settings = settings
        # Absolute: paths under it go into REST requests and --py-files read elsewhere.
        self.ctx = Context(settings, Path(work_dir).resolve())
        self._modes: dict[str, Mode] = {}
        self._canceled: set[str] = set()
        self._swept: set[str] = set()

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency

    @property
    def poll_interval(self) -> float:
        return self.settings.poll_interval_seconds

    def _mode(self, handle: Handle | None = None) -> Mode:
        name = (handle.data.get("mode") if handle is not None else None) or self.settings.mode
        if name not in self._modes:
            self._modes[name] = MODES[name](self.ctx)
        return self._modes[name]

    # -- the protocol ------------------------------------------------------------------------
    def submit(self, run: Run) -> Handle:
        result_uri = run.spec.resultUri
        if fs.is_local(result_uri) and os.path.exists(fs.local_path(result_uri)):
            # A document left from an earlier attempt must never pass for this run's.
            os.remove(fs.local_path(result_uri))
        mode = self._mode()
        data = {"mode": mode.name, "resultUri": result_uri, "logPath": run.log_path,
                "specLocation": run.spec_path, "user": run.user,
                "proxyUser": self.settings.proxy_user(run.user)}
        return mode.submit(run, data)

    def poll(self, handle: Handle) -> RunState:
        return self._settled(handle, self._mode(handle).poll(handle))

    def recover(self, handle: Handle) -> RunState:
        return self._settled(handle, self._mode(handle).recover(handle))

    def cancel(self, handle: Handle) -> None:
        self._canceled.add(handle.tag)
        self._mode(handle).cancel(handle)

    def result(self, handle: Handle) -> dict | None:
        uri = handle.data.get("resultUri")
        if not uri:
            return None
        if not fs.is_local(uri):
            log.warning("result document %s: only local paths and file: URIs are read back", uri)
            return None
        try:
            return json.loads(Path(fs.local_path(uri)).read_text())
        except FileNotFoundError:
            return None

    def logs(self, handle: Handle, start: int, size: int) -> list[str]:
        lines = self._log_lines(handle)
        if not any(line == ARCHIVED for line in lines):
            try:
                lines += self._mode(handle).live_log(handle)
            except Exception as e:  # noqa: BLE001 - the driver's host may be gone; our log stays
                lines.append(f"[launcher] the driver's log is not reachable: {e}")
        return lines[max(0, start):max(0, start) + max(0, size)]

    def forget(self, tag: str) -> None:
        """The dispatcher is done with the run: drop what this process remembers of it."""
        self._canceled.discard(tag)
        self._swept.discard(tag)
        self.ctx.seen.pop(tag, None)
        self.ctx.procs.pop(tag, None)
        run_dir = Path(self.ctx.run_dir(tag))
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()

    # -- common ------------------------------------------------------------------------------
    def _settled(self, handle: Handle, vendor: RunState) -> RunState:
        status = None
        uri = handle.data.get("resultUri")
        if vendor.has_terminated() and uri and not fs.is_local(uri):
            return RunState(State.FAILED, f"the run ended ({vendor.state.value}) but its result document {uri} "
                                          "is not on a file system the launcher reads (local paths and file: URIs)")
        if vendor.has_terminated():
            doc = self.result(handle)
            status = doc.get("status") if doc else None
        state = settle(vendor, status, canceled=handle.tag in self._canceled)
        if state.has_terminated():
            self._archive_driver_log(handle)
        if state.state is State.CANCELED and status is None:
            # Killed before its own abort could run: what it staged must not stay behind.
            self._sweep_staging(handle)
        return state

    def _sweep_staging(self, handle: Handle) -> None:
        spec_path = handle.data.get("specLocation")
        if not spec_path or not fs.is_local(spec_path) or handle.tag in self._swept:
            return
        self._swept.add(handle.tag)
        try:
            from spark_jobs.spec import parse_spec
            from spark_jobs.writers.commit import sweep_staging

            spec = parse_spec(Path(fs.local_path(spec_path)).read_text())
            # Local outputs only: another file system needs the cluster's Hadoop client.
            local = [o for o in spec.outputs if fs.is_local(o.path)]
            removed = sweep_staging(spec.model_copy(update={"outputs": local}), None)
        except Exception as e:  # noqa: BLE001 - tidying up must not change the run's outcome
            log.warning("staging of %s not swept: %s", handle.tag, e)
            return
        if removed and handle.data.get("logPath"):
            append_log(handle.data["logPath"], [f"removed what the killed run had staged: {p}" for p in removed])

    def _log_lines(self, handle: Handle) -> list[str]:
        path = handle.data.get("logPath")
        if not path:
            return []
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def _archive_driver_log(self, handle: Handle) -> None:
        """Copy a remote driver's log into the log file once: workers and pods do not keep it."""
        path = handle.data.get("logPath")
        if not path or ARCHIVED in self._log_lines(handle):
            return
        try:
            lines = self._mode(handle).live_log(handle)
        except Exception as e:  # noqa: BLE001
            lines = [f"the driver's log could not be fetched: {e}"]
        if not lines:
            return
        with open(path, "a", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in [*lines, ARCHIVED])
