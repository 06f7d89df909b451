"""The ``spark_jobs`` wheel a Databricks task installs: built once per content hash.

The hash covers every file of the ``spark_jobs`` package, so an edit produces a new wheel (and a
new upload path, which matters because clusters cache libraries by path) while an unchanged tree
reuses the wheel already built. The wheel itself comes from the engine's builder
(``spark_jobs.packaging.build_wheel``): a distribution named ``spark_jobs`` with the
``spark-jobs`` console script, which is what ``python_wheel_task`` looks up.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from pathlib import Path

import spark_jobs

PACKAGE_DIR = Path(spark_jobs.__file__).resolve().parent
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


def package_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    files = []
    for p in sorted(package_dir.rglob("*")):
        rel = p.relative_to(package_dir)
        if p.is_file() and not _SKIP_DIRS.intersection(rel.parts) and not p.name.endswith(_SKIP_SUFFIXES):
            files.append(p)
    return files


def content_hash(package_dir: Path = PACKAGE_DIR) -> str:
    """sha256 of the package's relative paths and bytes; first 16 hex digits."""
    h = hashlib.sha256()
    for p in package_files(package_dir):
        h.update(p.relative_to(package_dir).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def build_wheel(out_dir: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """The engine's own reproducible wheel builder (``spark_jobs.packaging``)."""
    from spark_jobs.packaging import build_wheel as engine_build_wheel

    return Path(engine_build_wheel(out_dir, package_dir=package_dir))


class WheelCache:
    """``<root>/<hash>/spark_jobs-*.whl``: one wheel per content hash, built at most once."""

    def __init__(self, root: Path, package_dir: Path = PACKAGE_DIR, builder=build_wheel):
        self.root = Path(root)
        self.package_dir = package_dir
        self._builder = builder
        self._lock = threading.Lock()

    def ensure(self) -> tuple[Path, str]:
        digest = content_hash(self.package_dir)
        target = self.root / digest
        with self._lock:
            found = sorted(target.glob("*.whl")) if target.is_dir() else []
            if found:
                return found[-1], digest
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=self.root))
            try:
                wheel = self._builder(tmp, package_dir=self.package_dir)
                if target.exists():  # another process built it meanwhile
                    shutil.rmtree(tmp, ignore_errors=True)
                    return sorted(target.glob("*.whl"))[-1], digest
                tmp.rename(target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            return target / wheel.name, digest
