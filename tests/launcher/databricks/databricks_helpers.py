"""Helpers of the databricksSpark tests: specs, runs, following a run by hand."""

from __future__ import annotations

import time
import uuid
from pathlib import Path


def csv_spec(data_dir: Path, job_group_id: int, recipe: list, *, profile: bool = False):
    """A spec: people.csv -> recipe -> one csv output (single file, header)."""
    from spark_jobs.spec import parse_spec

    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir / "people.csv"
    source.write_text("name,age\nada,36\ngrace,45\nlinus,28\n")
    return parse_spec({
        "jobGroupId": job_group_id,
        "jobs": {"wrangle": job_group_id * 10 + 1},
        "datasets": [
            {"kind": "imported", "id": 1, "name": "people", "uri": str(source), "format": "csv"},
            {"kind": "wrangled", "id": 2, "name": "people_out", "input": {"kind": "imported", "id": 1},
             "recipe": recipe},
        ],
        "target": 2,
        "outputs": [{"jobId": job_group_id * 10 + 2, "path": str(data_dir / "out" / "people.csv"),
                     "action": "overwrite", "format": "csv", "header": True, "asSingleFile": True}],
        "resultUri": str(data_dir / "results" / f"{job_group_id}.json"),
    })


def make_run(tmp_path: Path, spec, user: str = "alice"):
    from launcher.environments.base import Run

    gid = spec.jobGroupId
    return Run(job_group_id=gid, spec=spec, spec_path=str(tmp_path / f"{gid}.json"), user=user,
               tag=f"jg-{gid}-{uuid.uuid4().hex[:12]}", log_path=str(tmp_path / "logs" / f"{gid}.log"))


def wait_for(env, handle, predicate, timeout: float = 300.0, interval: float = 0.3):
    """Poll until ``predicate(state)``; returns the state (the dispatcher's job, done by hand)."""
    deadline = time.monotonic() + timeout
    while True:
        state = env.poll(handle)
        if predicate(state):
            return state
        if state.has_terminated() or time.monotonic() > deadline:
            raise AssertionError(f"run ended or timed out in {state}; log:\n"
                                 + "\n".join(env.logs(handle, 0, 200)))
        time.sleep(interval)


def emulated_run(emulator, run_id: int) -> dict:
    return next(r for r in emulator.runs() if r["run_id"] == run_id)
