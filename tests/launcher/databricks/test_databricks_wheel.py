"""The spark_jobs wheel: built once per content hash, with the console script Databricks calls."""

from __future__ import annotations

import zipfile
from pathlib import Path

from launcher.environments.databricks.wheel import PACKAGE_DIR, WheelCache, build_wheel, content_hash, package_files


def _tiny_package(root: Path) -> Path:
    pkg = root / "spark_jobs"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text("def main(argv=None):\n    return 0\n")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"ignored")
    return pkg


def test_content_hash_follows_the_files_not_the_bytecode(tmp_path):
    pkg = _tiny_package(tmp_path)
    first = content_hash(pkg)
    (pkg / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"changed")
    assert content_hash(pkg) == first
    (pkg / "main.py").write_text("def main(argv=None):\n    return 1\n")
    assert content_hash(pkg) != first


def test_the_cache_builds_once_per_hash(tmp_path):
    pkg = _tiny_package(tmp_path / "src")
    calls = []

    def builder(out_dir, package_dir):
        calls.append(out_dir)
        return build_wheel(out_dir, package_dir=package_dir)

    cache = WheelCache(tmp_path / "cache", package_dir=pkg, builder=builder)
    wheel, digest = cache.ensure()
    again, digest2 = cache.ensure()
    assert (again, digest2) == (wheel, digest) and len(calls) == 1
    assert wheel.parent == tmp_path / "cache" / digest
    (pkg / "extra.py").write_text("X = 1\n")
    newer, digest3 = cache.ensure()
    assert digest3 != digest and newer.is_file() and len(calls) == 2


def test_the_spark_jobs_wheel_holds_the_package_and_its_console_script(wheel_cache):
    wheel, digest = wheel_cache.ensure()
    assert digest == content_hash(PACKAGE_DIR)
    assert wheel.name.startswith("spark_jobs-") and wheel.name.endswith("-py3-none-any.whl")
    assert wheel.parent.name == digest
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "spark-jobs = spark_jobs.main:main" in z.read(entry_points).decode()
    expected = {"spark_jobs/" + p.relative_to(PACKAGE_DIR).as_posix() for p in package_files()
                if p.suffix == ".py"}
    assert expected <= names
