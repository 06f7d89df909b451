"""run_job(spec, spark): datasets in order -> stage every output -> commit -> profile -> result.

The same function runs under spark-submit, a Databricks task and a test's own session. It never
raises for a job that fails: the failure is in the result document (and in the return value),
which is what the launcher reads back.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from spark_jobs import fs
from spark_jobs.errors import describe_error, is_cancellation
from spark_jobs.readers import read_dataset
from spark_jobs.recipes import RecipeContext, apply_recipe
from spark_jobs.result import JobError, JobResult, RunResult, now
from spark_jobs.spec import DatasetRef, ImportedDataset, JobSpec, parse_spec
from spark_jobs.writers import Staged, WriteContext, writer_for

log = logging.getLogger("spark_jobs")


def run_job(spec: JobSpec | dict | str, spark: SparkSession | None = None) -> RunResult:
    """Run one job group's spec on ``spark`` (or the active session) and write its result."""
    if not isinstance(spec, JobSpec):
        spec = parse_spec(spec)
    if spark is None:
        from spark_jobs.session import get_or_create

        spark = get_or_create()
    result = _Run(spec, spark).run()
    write_result(spec.resultUri, result, spark)
    return result


def write_result(uri: str, result: RunResult, spark: SparkSession | None = None) -> None:
    data = json.dumps(result.model_dump(mode="json"), indent=2).encode()
    fsys = fs.for_path(uri, spark)
    fsys.mkdirs(fs.parent(uri))
    fsys.write_bytes(uri, data)


class _Run:
    def __init__(self, spec: JobSpec, spark: SparkSession):
        self.spec = spec
        self.spark = spark
        self.frames: dict[str, DataFrame] = {}
        self.ctx = RecipeContext(spark=spark, resolve=self.frame)
        self.result = RunResult(jobGroupId=spec.jobGroupId, status="Complete", startedAt=now())
        self.wrangle = self._job(spec.jobs.wrangle, "wrangle")
        self.writers = {o.jobId: self._job(o.jobId, "filewriter", path=o.path) for o in spec.outputs}
        self.profile = self._job(spec.jobs.profile, "profile") if spec.profiler else None

    def _job(self, job_id: int, job_type: str, **kw: Any) -> JobResult:
        job = JobResult(jobId=job_id, jobType=job_type, status="Complete", **kw)
        self.result.jobs.append(job)
        return job

    # -- datasets ---------------------------------------------------------------------------
    def frame(self, ref: DatasetRef) -> DataFrame:
        """A dataset's DataFrame, built once however many datasets use it."""
        if ref.key not in self.frames:
            ds = self.spec.dataset(ref)
            if isinstance(ds, ImportedDataset):
                df = read_dataset(self.spark, ds)
            else:
                df = apply_recipe(self.frame(ds.input), ds.recipe, self.ctx)
            self.frames[ref.key] = df
        return self.frames[ref.key]

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> RunResult:
        wrangle = self.wrangle
        wrangle.startedAt = now()
        try:
            target = self.frame(DatasetRef(kind="wrangled", id=self.spec.target))
            target.schema  # analysis: unknown columns and bad steps fail here, before any write
            # The transform is computed once however many outputs (and the profile) use it.
            shared = len(self.spec.outputs) + (1 if self.profile else 0) > 1
            if shared:
                target = target.persist()
                wrangle.rows = target.count()
        except Exception as e:  # noqa: BLE001 - every failure becomes a Failed job, never a crash
            self._fail(wrangle, e)
            self._skip(list(self.writers.values()) + ([self.profile] if self.profile else []),
                       "not run: the wrangle job failed", wrangle.status)
            return self._finish()
        wrangle.finishedAt = now()

        rows = self._write_outputs(target, transform_in_write=not shared)
        if rows is not None and wrangle.rows is None:
            wrangle.rows = rows
        if self.profile:
            self._run_profile(target)
        if shared:
            target.unpersist()
        return self._finish()

    def _write_outputs(self, df: DataFrame, transform_in_write: bool) -> int | None:
        wctx = WriteContext(
            spark=self.spark, job_group_id=self.spec.jobGroupId, run_tag=f"{self.spec.jobGroupId}"
        )
        staged: list[tuple[JobResult, Staged, Observation]] = []
        for output in self.spec.outputs:
            job = self.writers[output.jobId]
            job.startedAt = now()
            obs = Observation()
            try:
                writer = writer_for(output.format)
                staged.append((job, writer.stage(df.observe(obs, F.count(F.lit(1)).alias("rows")), output, wctx), obs))
            except Exception as e:  # noqa: BLE001
                # Nothing is committed unless every output staged: abort what is staged.
                for _, s, _ in staged:
                    s.abort()
                self._fail(job, e)
                if transform_in_write:
                    # The transform ran inside this write; its error is the wrangle job's too.
                    self._fail(self.wrangle, e)
                others = [j for j in self.writers.values() if j is not job]
                self._skip(others, f"not written: output of job {job.jobId} failed", job.status)
                if self.profile:
                    self._skip([self.profile], "not run: an output failed", job.status)
                return None
        rows = None
        for job, s, obs in staged:
            try:
                committed = s.commit()
            except Exception as e:  # noqa: BLE001
                self._fail(job, e)
                continue
            job.path = committed.path
            job.files = committed.files
            job.deltaVersion = committed.delta_version
            job.rows = int(obs.get["rows"])
            rows = job.rows
            job.finishedAt = now()
        self._collect_mismatches()
        return rows

    def _collect_mismatches(self) -> None:
        for obs in self.ctx.mismatch_observations:
            for col, n in obs.get.items():
                self.result.mismatches[col] = self.result.mismatches.get(col, 0) + int(n or 0)

    def _run_profile(self, df: DataFrame) -> None:
        job = self.profile
        job.startedAt = now()
        try:
            from spark_jobs.column_profile import profile_dataframe

            self.result.profile = profile_dataframe(df, self.result.mismatches)
            job.finishedAt = now()
        except Exception as e:  # noqa: BLE001
            self._fail(job, e)

    # -- bookkeeping ------------------------------------------------------------------------
    def _fail(self, job: JobResult, e: BaseException) -> None:
        job.status = "Canceled" if is_cancellation(e) else "Failed"
        job.error = JobError(**describe_error(e))
        job.finishedAt = now()
        log.error("job %s (%s) %s: %s", job.jobId, job.jobType, job.status, job.error.message)

    def _skip(self, jobs: list[JobResult], why: str, status: str) -> None:
        """Jobs that never ran end as their cause did: Failed, or Canceled after a cancel."""
        for job in jobs:
            if job.status == "Complete":
                job.status = status
                job.error = JobError(errorClass="NotRun", message=why)
                job.finishedAt = now()

    def _finish(self) -> RunResult:
        statuses = {j.status for j in self.result.jobs}
        if "Canceled" in statuses:
            self.result.status = "Canceled"
        elif "Failed" in statuses:
            self.result.status = "Failed"
        self.result.finishedAt = now()
        return self.result
