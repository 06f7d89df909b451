"""``spark_jobs`` as a zip for ``--py-files``, built once per content hash (by the engine's
``spark_jobs.packaging``).

Each content hash gets its own folder, so a zip is never rewritten in place: a driver in flight
keeps reading the archive it started with, and a changed engine gets a new path.
"""

from __future__ import annotations

import os
from pathlib import Path

from spark_jobs import packaging


def build_zip(cache_dir: str | os.PathLike) -> str:
    """The path of the zip for the engine as it is now, built if not there yet."""
    digest = packaging.content_hash()[:16]
    return str(packaging.build_zip(Path(cache_dir) / digest))
