"""The photon worker process: the warm SparkSession and the runs, outside the API's process.

``PhotonProcess`` (the environment the server uses) starts this module as
``python -m launcher.environments.photon_worker --fd N`` with one end of a socket pair, sends
the photon settings as the first message, then calls the in-process ``PhotonEnvironment`` here
by name: ``("call", id, method, args)`` -> ``("reply", id, ok, value)``. The worker pushes
``("changed", tag)`` when a run ends, so the dispatcher reads it back at once.

Why a process of its own: a run's driver side is Python (plan building over py4j, the result
document) and took the API's GIL and CPU while Spark kept both cores busy; POSTs and status
GETs waited behind it. Here the worker and its JVM (which inherits the niceness) run at a lower
CPU priority, so the API answers first and Spark gets every cycle the API does not use.

When the launcher goes away (the socket ends, ``kill -9`` included) the worker cancels what
runs and exits, and the JVM with it: no orphan Spark is left holding the cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger("launcher.photon.worker")

# What the launcher may call, and nothing else.
CALLS = ("submit", "poll", "cancel", "recover", "progress", "forget", "result", "ready")


def _call(env: Any, method: str, args: tuple) -> Any:
    if method == "ready":
        return env.ready
    return getattr(env, method)(*args)


def serve(conn: Connection, env: Any) -> None:
    """Answer the launcher's calls until it says close or goes away."""
    send_lock = threading.Lock()

    def send(msg: tuple) -> None:
        with send_lock:
            try:
                conn.send(msg)
            except (OSError, ValueError):
                pass  # the launcher is gone; the recv loop ends too

    env.set_listener(lambda tag: send(("changed", tag)))
    try:
        while True:
            try:
                kind, call_id, method, args = conn.recv()
            except (EOFError, OSError):
                log.info("the launcher closed the connection: stopping photon")
                return
            if kind == "close":
                send(("reply", call_id, True, None))
                return
            if method not in CALLS:
                send(("reply", call_id, False, f"photon worker: unknown call {method!r}"))
                continue
            try:
                value = _call(env, method, args)
            except Exception as e:  # noqa: BLE001 - the caller gets the error, the worker goes on
                send(("reply", call_id, False, f"{type(e).__name__}: {e}"))
            else:
                send(("reply", call_id, True, value))
    finally:
        env.close(stop_session=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="photon_worker", description=__doc__.split("\n")[0])
    p.add_argument("--fd", type=int, required=True, help="the socket to the launcher")
    args = p.parse_args(argv)
    conn = Connection(args.fd)
    config: dict = conn.recv()
    logging.basicConfig(level=config.get("log_level", "INFO").upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    nice = int(config.get("nice") or 0)
    if nice > 0:
        os.nice(nice)  # before the JVM starts: it inherits the priority
    from launcher.environments.photon import PhotonEnvironment

    env = PhotonEnvironment(None, master=config["master"], concurrency=config["concurrency"],
                            conf=config["conf"], poll_interval=config["poll_interval"], home=config["home"])
    serve(conn, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
