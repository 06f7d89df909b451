"""Ship the engine to a cluster: a zip for ``spark-submit --py-files`` and a wheel for Databricks.

    python -m spark_jobs.packaging zip dist      ->  dist/spark_jobs-<version>.zip
    python -m spark_jobs.packaging wheel dist    ->  dist/spark_jobs-<version>+<hash>-py3-none-any.whl

Both are built from the ``spark_jobs`` package's files alone, byte-for-byte reproducible (sorted
entries, fixed timestamps), and only when their content changed: the zip carries the content
hash in its comment, the wheel in its local version (so a cluster that caches libraries by path
installs a changed engine under a new name). Writes go to a temporary file renamed into place,
so concurrent builders never see half a file.

The wheel holds ``spark_jobs`` only (not the launcher), declares the ``spark-jobs`` console
script (the Databricks python_wheel_task entry point) and requires only pydantic; pyspark is the
cluster's.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DIST_NAME = "spark_jobs"
REQUIRES = ["pydantic>=2.6,<3"]
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: reproducible archives


def version() -> str:
    from spark_jobs import __version__

    return __version__


def package_files(package_dir: Path = PACKAGE_DIR) -> list[tuple[str, Path]]:
    """(archive name, file) for every file of the package, caches left out, sorted."""
    root = package_dir.parent
    out = []
    for path in package_dir.rglob("*"):
        rel = path.relative_to(root)
        if path.is_dir() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        out.append((rel.as_posix(), path))
    return sorted(out)


def content_hash(package_dir: Path = PACKAGE_DIR) -> str:
    h = hashlib.sha256()
    for name, path in package_files(package_dir):
        data = path.read_bytes()
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _entry(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def _atomic_zip(target: Path, fill) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a dist file is for others to read
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            fill(zf)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def build_zip(out_dir: str | os.PathLike, package_dir: Path = PACKAGE_DIR) -> Path:
    """``<out_dir>/spark_jobs-<version>.zip``; rebuilt only when the package's content changed."""
    digest = content_hash(package_dir)
    target = Path(out_dir) / f"{DIST_NAME}-{version()}.zip"
    comment = f"sha256:{digest}".encode()
    if target.exists():
        try:
            with zipfile.ZipFile(target) as zf:
                if zf.comment == comment:
                    return target
        except zipfile.BadZipFile:
            pass

    def fill(zf: zipfile.ZipFile) -> None:
        zf.comment = comment
        for name, path in package_files(package_dir):
            _entry(zf, name, path.read_bytes())

    _atomic_zip(target, fill)
    return target


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def wheel_version(package_dir: Path = PACKAGE_DIR) -> str:
    return f"{version()}+{content_hash(package_dir)[:12]}"


def build_wheel(out_dir: str | os.PathLike, package_dir: Path = PACKAGE_DIR) -> Path:
    """A pure-Python wheel of ``spark_jobs`` with the ``spark-jobs`` console script; cached by
    content hash (the hash is the wheel's local version, so it is also in the file name)."""
    ver = wheel_version(package_dir)
    target = Path(out_dir) / f"{DIST_NAME}-{ver}-py3-none-any.whl"
    if target.exists():
        return target
    dist_info = f"{DIST_NAME}-{ver}.dist-info"
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            f"Name: {DIST_NAME}",
            f"Version: {ver}",
            "Summary: The job engine of spark-jobgroups-launcher: runs one job spec on Spark",
            "Requires-Python: >=3.11",
            *[f"Requires-Dist: {r}" for r in REQUIRES],
            "",
        ]
    )
    wheel = "\n".join(
        [
            "Wheel-Version: 1.0",
            "Generator: spark_jobs.packaging",
            "Root-Is-Purelib: true",
            "Tag: py3-none-any",
            "",
        ]
    )
    entry_points = "[console_scripts]\nspark-jobs = spark_jobs.main:main\n"
    files = [(name, path.read_bytes()) for name, path in package_files(package_dir)]
    files += [
        (f"{dist_info}/METADATA", metadata.encode()),
        (f"{dist_info}/WHEEL", wheel.encode()),
        (f"{dist_info}/entry_points.txt", entry_points.encode()),
        (f"{dist_info}/top_level.txt", b"spark_jobs\n"),
    ]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files)
    record += f"{dist_info}/RECORD,,\n"

    def fill(zf: zipfile.ZipFile) -> None:
        for name, data in files:
            _entry(zf, name, data)
        _entry(zf, f"{dist_info}/RECORD", record.encode())

    _atomic_zip(target, fill)
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m spark_jobs.packaging", description=__doc__.split("\n")[0])
    p.add_argument("kind", choices=["zip", "wheel"])
    p.add_argument("out_dir", nargs="?", default="dist")
    args = p.parse_args(argv)
    path = build_zip(args.out_dir) if args.kind == "zip" else build_wheel(args.out_dir)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
