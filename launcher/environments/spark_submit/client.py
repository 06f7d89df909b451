"""spark-submit processes: started in their own session (so a cancel reaches the JVM and the
Python driver it starts, and nothing else), output to the run's log file, stopped by process
group with a bounded wait before SIGKILL.

After a launcher restart the process is no longer our child: it is recognised by its process
group and by a marker (the spec location) on its command line, never by PID alone, since PIDs
are reused.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable


def launch(argv: list[str], *, env: dict[str, str], log_path: str, cwd: str,
           header: list[str]) -> subprocess.Popen:
    """Start spark-submit: argv as a list (never a shell), stdout and stderr to the log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    Path(cwd).mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        for line in header:
            log.write(f"[launcher] {line}\n")
        log.write(f"[launcher] {shlex.join(argv)}\n")
        log.flush()
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, start_new_session=True, close_fds=True)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a live process, None when it does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ..." - comm may hold spaces and parentheses.
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[2])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def group_members(pgid: int, marker: str | None = None) -> list[int]:
    """Live (not zombie) processes of a process group; with ``marker``, only the group when
    one of its processes has the marker on its command line (else [])."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = _stat(int(entry))
        if st is not None and st[1] == pgid and st[0] != "Z":
            members.append(int(entry))
    if marker is not None and not any(marker in _cmdline(pid) for pid in members):
        return []
    return members


def groups_with(marker: str) -> list[int]:
    """Process groups (other than ours) with a process whose command line holds ``marker``:
    how a run is found when the launcher stopped before it could save the PID."""
    own = os.getpgid(0)
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and marker in _cmdline(int(entry)):
            st = _stat(int(entry))
            if st is not None and st[0] != "Z" and st[1] != own:
                found.add(st[1])
    return sorted(found)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _terminate(pgid: int) -> None:
    """SIGTERM the Python driver when there is one: it cancels its Spark jobs, aborts staged
    outputs and writes a Canceled result, then the JVM around it exits on its own. Before the
    driver exists (the JVM is still starting) the whole group gets it."""
    drivers = [pid for pid in group_members(pgid) if _comm(pid).startswith("python")]
    if not drivers:
        _signal_group(pgid, signal.SIGTERM)
    for pid in drivers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def stop_group(pgid: int, *, timeout: float, proc: subprocess.Popen | None = None,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> bool:
    """SIGTERM (the driver), wait up to ``timeout``, then SIGKILL the group. True when it is gone."""
    _terminate(pgid)
    deadline = clock() + timeout
    killed = False
    while True:
        if proc is not None:
            proc.poll()  # reap our child, or it stays in the group as a zombie
        if not group_members(pgid):
            return True
        if clock() >= deadline:
            if killed:
                return False
            _signal_group(pgid, signal.SIGKILL)
            killed = True
            deadline = clock() + 5.0
        sleep(0.1)


def stop_group_in_background(pgid: int, *, timeout: float, proc: subprocess.Popen | None) -> threading.Thread:
    """The same, on a thread: a cancel returns at once and the dispatcher keeps polling."""
    t = threading.Thread(target=stop_group, args=(pgid,), kwargs={"timeout": timeout, "proc": proc},
                         name=f"stop-{pgid}", daemon=True)
    t.start()
    return t
