"""``spark_jobs`` as a zip for ``--py-files``, built once per content hash.

The engine's own ``spark_jobs.packaging`` is used when it exists; until then (and as the
fallback) the zip is built here. Either way a changed source tree gives a new file name, so a
driver never runs a stale copy and a run in flight keeps the zip it started with.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import zipfile
from pathlib import Path


def _package_dir() -> Path:
    spec = importlib.util.find_spec("spark_jobs")
    assert spec is not None and spec.submodule_search_locations
    return Path(list(spec.submodule_search_locations)[0])


def _files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )


def content_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in _files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def build_zip(cache_dir: str | os.PathLike) -> str:
    """The path of ``spark_jobs-<hash>.zip`` in ``cache_dir``, built if not there yet."""
    engine = _engine_packaging()
    if engine is not None:
        return engine(cache_dir)
    root = _package_dir()
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"spark_jobs-{content_hash(root)}.zip"
    if target.exists():
        return str(target)
    fd, tmp = tempfile.mkstemp(dir=cache, suffix=".zip.tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for p in _files(root):
                # Fixed timestamps: the same sources give the same bytes.
                info = zipfile.ZipInfo(f"spark_jobs/{p.relative_to(root).as_posix()}", (2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, p.read_bytes())
        os.replace(tmp, target)  # atomic: two launchers building at once both end with one good file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(target)


def _engine_packaging():
    """The engine's builder (``spark_jobs.packaging``), when it has landed."""
    try:
        from spark_jobs import packaging  # type: ignore[attr-defined]
    except ImportError:
        return None
    for name in ("build_zip", "py_files_zip", "build_py_files"):
        fn = getattr(packaging, name, None)
        if callable(fn):
            return lambda cache_dir: str(fn(cache_dir))
    return None
