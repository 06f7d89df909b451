"""Fixtures for the spark environment: a real standalone cluster (session scope) and helpers
that build real job specs with spark_jobs.spec and read outputs back with the csv module.

The cluster: a master with its REST submission server and two workers of 2 cores each, on free
ports on 127.0.0.1, started with spark-class and stopped by PID. Two cores per worker because a
cluster-mode driver takes a core of its own and a Python app then still needs executors (the
machine has 2 real cores; oversubscribing is fine for tiny jobs).
"""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path

import pytest

from launcher.environments.base import Handle, Run, RunState
from launcher.environments.spark_submit.local_cluster import LocalCluster
from spark_jobs.spec import DatasetRef, ImportedDataset, JobIds, JobSpec, Output, WrangledDataset

ROWS = [("1", "ann", "2.5"), ("2", "bob", "10"), ("3", "cy, jr", "7.25")]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = LocalCluster(tmp_path_factory.mktemp("standalone"), workers=2, cores_per_worker=2,
                     memory_per_worker="2g", python=sys.executable).start()
    yield c
    c.stop()


def write_input(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "orders.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "amount"])
        w.writerows(ROWS)
    return path


def make_run(tmp: Path, gid: int, *, user: str = "alice", action: str = "overwrite",
             out_name: str = "out.csv") -> Run:
    """A real job: read a csv, derive a column, write one csv file; spec saved as JSON."""
    src = write_input(tmp / "in")
    spec = JobSpec(
        jobGroupId=gid,
        jobs=JobIds(wrangle=gid * 10),
        datasets=[
            ImportedDataset(id=1, name="orders", uri=str(src), format="csv"),
            WrangledDataset(id=2, name="orders wrangled", input=DatasetRef(kind="imported", id=1),
                            recipe=[{"op": "derive", "value": "UPPER(name)", "as": "shout"}]),
        ],
        target=2,
        outputs=[Output(jobId=gid * 10 + 1, path=str(tmp / "out" / out_name), action=action, format="csv",
                        header=True, asSingleFile=True)],
        resultUri=str(tmp / "results" / f"{gid}.json"),
        runAs=user,
    )
    spec_path = tmp / "specs" / f"{gid}.json"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(spec.to_json())
    return Run(job_group_id=gid, spec=spec, spec_path=str(spec_path), user=user,
               tag=f"jg-{gid}-{int(time.time() * 1000) % 10**8:08d}", log_path=str(tmp / "logs" / f"{gid}.log"))


def read_csv(path: str | Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(Path(path).read_text())))


EXPECTED = [["id", "name", "amount", "shout"]] + [[i, n, a, n.upper()] for i, n, a in ROWS]


def wait(env, handle: Handle, until=lambda s: s.has_terminated(), timeout: float = 240.0,
         every: float = 0.5) -> RunState:
    deadline = time.monotonic() + timeout
    while True:
        state = env.poll(handle)
        if until(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"run {handle.tag} still {state} after {timeout} s; log:\n"
                                 + "\n".join(env.logs(handle, 0, 10_000)[-60:]))
        time.sleep(every)
