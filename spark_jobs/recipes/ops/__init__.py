"""One module per family of ops; importing them registers every op in ``steps.STEPS``."""

from spark_jobs.recipes.ops import columns, datasets, reshape, rows, text  # noqa: F401
