"""run_job(spec, spark): datasets in order -> stage every output -> commit -> profile -> result.

The same function runs under spark-submit, a Databricks task and a test's own session. It never
raises for a job that fails: the failure is in the result document (and in the return value),
which is what the launcher reads back.

The transform is computed once however many outputs there are: with more than one consumer
the target DataFrame is persisted, and the first write fills the cache (no separate count).
Rows are counted by ``df.observe`` on each write, in the same pass that writes them.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from typing import Any, Iterator

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from spark_jobs import fs
from spark_jobs.errors import JobCanceled, describe_error, is_cancellation, raise_if_canceled
from spark_jobs.readers import read_dataset
from spark_jobs.recipes import RecipeContext, apply_recipe
from spark_jobs.result import JobError, JobResult, RunResult, now
from spark_jobs.spec import DatasetRef, ImportedDataset, JobSpec, SpecError, parse_spec
from spark_jobs.writers import Staged, WriteContext, writer_for

log = logging.getLogger("spark_jobs")


def run_job(spec: JobSpec | dict | str | bytes, spark: SparkSession | None = None) -> RunResult:
    """Run one job group's spec on ``spark`` (or the active session) and write its result.

    A malformed spec ends as a Failed result naming the field, written where the spec says
    when that much of it can be read; a spec without a jobGroupId or resultUri raises SpecError.
    """
    if not isinstance(spec, JobSpec):
        try:
            spec = parse_spec(spec)
        except SpecError as e:
            result = failed_result_for_bad_spec(spec, e)
            if result is None:
                raise
            write_result(result_uri_of(spec), result, spark)
            return result
    if spark is None:
        from spark_jobs.session import get_or_create

        spark = get_or_create(f"jobGroup-{spec.jobGroupId}")
    with job_group(spark, spec.jobGroupId):
        result = _Run(spec, spark).run()
    write_result(spec.resultUri, result, spark)
    return result


def write_result(uri: str, result: RunResult, spark: SparkSession | None = None) -> None:
    data = json.dumps(result.model_dump(mode="json"), indent=2).encode()
    fsys = fs.for_path(uri, spark)
    fsys.mkdirs(fs.parent(uri))
    fsys.write_bytes(uri, data)


# -- a spec that does not parse ---------------------------------------------------------------

def _raw(spec: Any) -> dict:
    if isinstance(spec, dict):
        return spec
    try:
        raw = json.loads(spec)
    except (TypeError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def result_uri_of(spec: Any) -> str | None:
    uri = _raw(spec).get("resultUri")
    return uri if isinstance(uri, str) and uri else None


def failed_result_for_bad_spec(spec: Any, error: SpecError) -> RunResult | None:
    """A Failed result for every job the raw spec names, or None when it names no group/result."""
    raw = _raw(spec)
    group = raw.get("jobGroupId")
    if not isinstance(group, int) or result_uri_of(raw) is None:
        return None
    stamp = now()
    err = JobError(errorClass="SpecError", message=str(error))
    result = RunResult(jobGroupId=group, status="Failed", startedAt=stamp, finishedAt=stamp)
    jobs = raw.get("jobs") if isinstance(raw.get("jobs"), dict) else {}
    candidates = [(jobs.get("wrangle"), "wrangle")]
    for o in raw.get("outputs") or []:
        candidates.append((o.get("jobId") if isinstance(o, dict) else None, "filewriter"))
    if raw.get("profiler"):
        candidates.append((jobs.get("profile"), "profile"))
    for job_id, job_type in candidates:
        if isinstance(job_id, int):
            result.jobs.append(JobResult(jobId=job_id, jobType=job_type, status="Failed",
                                         startedAt=stamp, finishedAt=stamp, error=err))
    return result


# -- the Spark job group ----------------------------------------------------------------------

@contextmanager
def job_group(spark: SparkSession, job_group_id: int) -> Iterator[None]:
    """Tag this thread's Spark jobs ``jobGroup-<id>`` (cancelable, and what abort waits for),
    unless the caller already set a group (the photon environment does, to cancel it)."""
    try:
        sc = spark.sparkContext
    except Exception:  # noqa: BLE001 - Spark Connect: no job groups from here
        yield
        return
    if sc.getLocalProperty("spark.jobGroup.id") is not None:
        yield
        return
    keys = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")
    saved = {k: sc.getLocalProperty(k) for k in keys}
    sc.setJobGroup(f"jobGroup-{job_group_id}", f"job group {job_group_id}", interruptOnCancel=True)
    try:
        yield
    finally:
        for k, v in saved.items():
            sc.setLocalProperty(k, v)


# -- one run ----------------------------------------------------------------------------------

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
        outputs = self.spec.outputs
        try:
            target = self.frame(DatasetRef(kind="wrangled", id=self.spec.target))
            target.schema  # analysis: unknown columns and bad steps fail here, before any write
        except BaseException as e:  # noqa: BLE001 - every failure becomes a Failed job
            self._fail(wrangle, e)
            self._skip(self._after(wrangle), "not run: the wrangle job failed", wrangle.status)
            return self._finish()

        # Every output's path and format checked before any data is computed.
        writers = {}
        for output in outputs:
            try:
                writers[output.jobId] = writer_for(output.format)
                preflight = getattr(writers[output.jobId], "preflight", None)
                if preflight is not None:
                    preflight(output, self._write_context())
            except BaseException as e:  # noqa: BLE001
                job = self.writers[output.jobId]
                self._fail(job, e)
                self._skip(self._after(job), f"not run: output of job {job.jobId} failed", job.status)
                return self._finish()

        consumers = len(outputs) + (1 if self.profile else 0)
        shared = consumers > 1
        if shared:
            target = target.persist()
        try:
            if outputs:
                if self._write_outputs(target, writers) and self.profile:
                    self._run_profile(target)
            else:
                if not self.profile:
                    wrangle.rows = target.count()
                wrangle.finishedAt = now()
                if self.profile:
                    self._run_profile(target)
        finally:
            if shared:
                target.unpersist()
        return self._finish()

    def _write_context(self) -> WriteContext:
        return WriteContext(spark=self.spark, job_group_id=self.spec.jobGroupId,
                            run_tag=f"{self.spec.jobGroupId}")

    def _write_outputs(self, df: DataFrame, writers: dict[int, Any]) -> bool:
        """Stage every output, then commit them all; False when any failed (nothing committed
        unless everything staged)."""
        wctx = self._write_context()
        staged: list[tuple[JobResult, Staged, Observation]] = []
        for i, output in enumerate(self.spec.outputs):
            job = self.writers[output.jobId]
            job.startedAt = now()
            obs = Observation()
            try:
                raise_if_canceled()
                observed = df.observe(obs, F.count(F.lit(1)).alias("rows"))
                staged.append((job, writers[output.jobId].stage(observed, output, wctx), obs))
            except BaseException as e:  # noqa: BLE001 - a cancel lands here too
                for _, s, _ in staged:
                    s.abort()
                self._fail(job, e)
                not_run = [j for j in self.writers.values() if j is not job] + self._profile_job()
                if i == 0:
                    if not _is_output_error(e):
                        # The first write computes the transform: its failure is the wrangle's.
                        self._fail(self.wrangle, e)
                    not_run.append(self.wrangle)
                self._skip(not_run, f"not written: output of job {job.jobId} failed", job.status)
                return False
            if i == 0:
                self.wrangle.finishedAt = now()
        try:
            raise_if_canceled()  # a cancel that came while the last output was joined
        except JobCanceled as e:
            for job, s, _ in staged:
                s.abort()
                self._fail(job, e)
            self._skip(self._profile_job(), "not run: canceled", "Canceled")
            return False
        ok = True
        for n, (job, s, obs) in enumerate(staged):
            try:
                committed = s.commit()
            except BaseException as e:  # noqa: BLE001
                self._fail(job, e)
                for _, later, _ in staged[n + 1:]:
                    later.abort()
                not_run = [j for j, _, _ in staged[n + 1:]] + self._profile_job()
                self._skip(not_run, f"not committed: output of job {job.jobId} failed", job.status)
                ok = False
                break
            job.path = committed.path
            job.files = committed.files
            job.deltaVersion = committed.delta_version
            job.rows = int(obs.get["rows"])
            if self.wrangle.rows is None:
                self.wrangle.rows = job.rows
            job.finishedAt = now()
        if ok:
            self._collect_mismatches()
        return ok

    def _profile_job(self) -> list[JobResult]:
        return [self.profile] if self.profile else []

    def _after(self, job: JobResult) -> list[JobResult]:
        """The jobs that cannot run once ``job`` failed: every other one still Complete."""
        return [j for j in self.result.jobs if j is not job and j.status == "Complete"]

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
        except BaseException as e:  # noqa: BLE001
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
        if self.wrangle.finishedAt is None:
            self.wrangle.finishedAt = now()
        self.result.finishedAt = now()
        return self.result


def _is_output_error(e: BaseException) -> bool:
    from spark_jobs.writers.commit import OutputError

    return isinstance(e, OutputError)
