"""Entry point: ``spark-submit spark_jobs/main.py --spec URI``, ``python -m spark_jobs``, and
the ``spark-jobs`` console script of the wheel (Databricks python_wheel_task).

Exit code 0 only when the job group ends Complete, so a scheduler that knows nothing of the
result document still sees failures.
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="spark-jobs",
        description="Run one job spec (a JSON file or URI) and write its result document.",
    )
    p.add_argument("--spec", required=True, help="path or URI of the job spec JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from spark_jobs import fs
    from spark_jobs.runner import run_job
    from spark_jobs.session import get_or_create
    from spark_jobs.spec import SpecError, parse_spec

    spark = None if fs.is_local(args.spec) else get_or_create()
    try:
        spec = parse_spec(fs.for_path(args.spec, spark).read_bytes(args.spec))
    except (SpecError, OSError) as e:
        print(f"spark-jobs: {e}", file=sys.stderr)
        return 2
    result = run_job(spec, spark or get_or_create(f"jobGroup-{spec.jobGroupId}"))
    logging.getLogger("spark_jobs").info("job group %s: %s", spec.jobGroupId, result.status)
    return 0 if result.status == "Complete" else 1


if __name__ == "__main__":
    sys.exit(main())
