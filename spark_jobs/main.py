"""Entry point: ``spark-submit spark_jobs/main.py --spec URI``, ``python -m spark_jobs``, and
the ``spark-jobs`` console script of the wheel (Databricks python_wheel_task).

Exit code 0 only when the job group ends Complete (1 when it ran and failed or was canceled,
2 when the spec cannot be read), so a scheduler that knows nothing of the result document
still sees failures. The result document is written in every case where the spec names one.

SIGTERM (how a cancel stops a spark-submit driver) cancels the running Spark jobs from another
thread and marks the run canceled; the runner then aborts every staged output and writes a
Canceled result before the process exits.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and sys.path and os.path.basename(sys.path[0]) == "spark_jobs":
    # Run as a script, this file's folder is sys.path[0]: its modules would shadow the
    # standard library's and the package itself (shipped by --py-files) would be imported twice.
    sys.path.pop(0)

import argparse  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402

log = logging.getLogger("spark_jobs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="spark-jobs",
        description="Run one job spec (a JSON file or URI) and write its result document.",
    )
    p.add_argument("--spec", required=True, help="path or URI of the job spec JSON")
    p.add_argument(
        "--clean-staging",
        action="store_true",
        help="do not run: remove what a killed run of this spec left in staging, then exit",
    )
    return p.parse_args(argv)


def _log_to_stderr() -> None:
    """The engine's own log lines on stderr (the driver log), whatever pyspark did to logging."""
    if not any(getattr(h, "_spark_jobs", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._spark_jobs = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _install_sigterm(job_group_id: int | None) -> None:
    from spark_jobs.errors import CANCEL_REQUESTED

    def cancel_spark() -> None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            return
        try:
            if job_group_id is not None:
                spark.sparkContext.cancelJobGroup(f"jobGroup-{job_group_id}")
            else:
                spark.sparkContext.cancelAllJobs()
        except Exception:  # noqa: BLE001 - the context may already be stopping
            pass

    def on_term(signum, frame) -> None:
        log.warning("signal %s: canceling the run", signum)
        CANCEL_REQUESTED.set()
        # Not from this thread: it may be inside a py4j call whose connection it owns.
        threading.Thread(target=cancel_spark, name="cancel", daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _log_to_stderr()
    import spark_jobs
    from spark_jobs import fs
    from spark_jobs.runner import failed_result_for_bad_spec, result_uri_of, run_job, write_result
    from spark_jobs.session import get_or_create
    from spark_jobs.spec import SpecError, parse_spec

    # Where the engine was loaded from: the --py-files zip, a wheel, or a source tree.
    log.info("spark_jobs %s from %s", spark_jobs.__version__, os.path.dirname(spark_jobs.__file__))
    spark = None if fs.is_local(args.spec) else get_or_create()
    try:
        raw = fs.for_path(args.spec, spark).read_bytes(args.spec)
    except OSError as e:
        print(f"spark-jobs: cannot read the spec {args.spec}: {e}", file=sys.stderr)
        return 2
    try:
        spec = parse_spec(raw)
    except SpecError as e:
        print(f"spark-jobs: {e}", file=sys.stderr)
        failed = failed_result_for_bad_spec(raw, e)
        if failed is not None:
            write_result(result_uri_of(raw), failed, spark)
        return 2
    if args.clean_staging:
        from spark_jobs.writers.commit import sweep_staging

        for path in sweep_staging(spec, spark):
            log.info("removed %s", path)
        return 0
    _install_sigterm(spec.jobGroupId)
    result = run_job(spec, spark or get_or_create(f"jobGroup-{spec.jobGroupId}"))
    log.info("job group %s: %s", spec.jobGroupId, result.status)
    return 0 if result.status == "Complete" else 1


if __name__ == "__main__":
    sys.exit(main())
