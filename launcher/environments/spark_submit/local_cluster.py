"""A real Spark standalone cluster on 127.0.0.1: one master (with its REST submission server)
and N workers, started with ``spark-class`` from the installed pyspark and stopped by PID.

Used by the tests' session fixture and by ``bench/bench_spark_submit.py``; nothing in the
launcher itself starts clusters. The pip pyspark has no ``sbin/start-*.sh`` scripts, so the
daemons are started directly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def spark_home() -> str:
    import pyspark

    return os.path.dirname(pyspark.__file__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    work_dir: Path
    workers: int = 2
    cores_per_worker: int = 2
    memory_per_worker: str = "2g"
    python: str = sys.executable
    master_port: int = field(default_factory=free_port)
    webui_port: int = field(default_factory=free_port)
    rest_port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def webui_url(self) -> str:
        return f"http://127.0.0.1:{self.webui_port}"

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SPARK_HOME=spark_home(),
            PYSPARK_PYTHON=self.python,
            # Keep the daemons' own logs out of the way and small.
            SPARK_LOG_DIR=str(self.work_dir / "logs"),
            SPARK_NO_DAEMONIZE="1",
            # Bind drivers and executors to loopback too, not to whatever the hostname resolves to.
            SPARK_LOCAL_IP="127.0.0.1",
            **extra,
        )
        return env

    def _start(self, name: str, args: list[str], extra_env: dict[str, str]) -> None:
        log = open(self.work_dir / f"{name}.log", "ab")
        cmd = [os.path.join(spark_home(), "bin", "spark-class"), *args]
        # Own session so that stop() can end the daemon's whole process group.
        self.procs.append(
            subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(extra_env),
                             start_new_session=True, cwd=self.work_dir)
        )
        log.close()

    def start(self, timeout: float = 90.0) -> "LocalCluster":
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "logs").mkdir(exist_ok=True)
        master_opts = (
            "-Dspark.master.rest.enabled=true "
            f"-Dspark.master.rest.host=127.0.0.1 -Dspark.master.rest.port={self.rest_port}"
        )
        self._start(
            "master",
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(self.master_port), "--webui-port", str(self.webui_port)],
            {"SPARK_MASTER_OPTS": master_opts},
        )
        for i in range(self.workers):
            wdir = self.work_dir / f"worker{i}"
            wdir.mkdir(exist_ok=True)
            self._start(
                f"worker{i}",
                ["org.apache.spark.deploy.worker.Worker", self.master_url, "--host", "127.0.0.1",
                 "--webui-port", str(free_port()), "--cores", str(self.cores_per_worker),
                 "--memory", self.memory_per_worker, "--work-dir", str(wdir)],
                {},
            )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()  # never leave daemons behind a failed start
            raise
        return self

    def state(self) -> dict:
        with urllib.request.urlopen(self.webui_url + "/json/", timeout=5) as r:
            return json.loads(r.read())

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"a cluster daemon exited early; see the logs in {self.work_dir}")
            try:
                alive = [w for w in self.state().get("workers", []) if w.get("state") == "ALIVE"]
                if len(alive) >= self.workers:
                    with socket.create_connection(("127.0.0.1", self.rest_port), timeout=1):
                        return
            except (OSError, ValueError) as e:  # not listening yet, or the UI not serving JSON yet
                last = e
            time.sleep(0.3)
        raise RuntimeError(f"the standalone cluster did not come up in {timeout}s ({last}); logs in {self.work_dir}")

    def stop(self, timeout: float = 15.0) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in reversed(self.procs):
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        self.procs.clear()
