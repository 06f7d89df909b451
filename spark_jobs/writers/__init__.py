"""Writers, one module per format family; importing this package registers them all."""

from spark_jobs.writers.base import WRITERS, Committed, Staged, WriteContext, Writer, writer_for

# Each module registers its formats with @register on import.
from spark_jobs.writers import text, parquet  # noqa: E402,F401
from spark_jobs.writers import avro, delta  # noqa: E402,F401

__all__ = ["WRITERS", "Committed", "Staged", "WriteContext", "Writer", "writer_for"]
