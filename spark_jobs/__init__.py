"""The job engine: runs one job spec inside a Spark driver. Knows nothing of the launcher."""

from spark_jobs.result import RunResult

# Kept equal to the project's version in pyproject.toml (a test checks): it names the zip and
# the wheel the engine is shipped in, where no package metadata exists.
__version__ = "0.1.0"
from spark_jobs.spec import SPEC_VERSION, JobSpec, parse_spec


def run_job(spec, spark=None) -> RunResult:
    """Run a job spec (JobSpec, dict or JSON text) on ``spark``; see spark_jobs.runner."""
    from spark_jobs.runner import run_job as _run_job

    return _run_job(spec, spark)


__all__ = ["SPEC_VERSION", "JobSpec", "RunResult", "parse_spec", "run_job"]
