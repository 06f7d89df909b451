"""Packaging: the --py-files zip and the Databricks wheel, reproducible and built once per content."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import spark_jobs
from spark_jobs.packaging import PACKAGE_DIR, build_wheel, build_zip, content_hash


def test_version_matches_the_project():
    assert spark_jobs.__version__ == importlib.metadata.version("spark-jobgroups-launcher")


def test_zip_is_reproducible_and_built_once_per_content(tmp_path):
    pkg = tmp_path / "src" / "spark_jobs"
    shutil.copytree(PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "__pycache__").mkdir(exist_ok=True)
    (pkg / "__pycache__" / "junk.pyc").write_bytes(b"x")

    a = build_zip(tmp_path / "a", package_dir=pkg)
    b = build_zip(tmp_path / "b", package_dir=pkg)
    assert a.name == f"spark_jobs-{spark_jobs.__version__}.zip"
    assert a.read_bytes() == b.read_bytes()
    names = zipfile.ZipFile(a).namelist()
    assert "spark_jobs/__init__.py" in names and "spark_jobs/main.py" in names
    assert "spark_jobs/writers/commit.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)

    stamp = a.stat().st_mtime_ns
    os.utime(a, ns=(stamp - 10**9, stamp - 10**9))
    assert build_zip(tmp_path / "a", package_dir=pkg) == a
    assert a.stat().st_mtime_ns == stamp - 10**9  # unchanged content: not rebuilt

    (pkg / "errors.py").write_text((pkg / "errors.py").read_text() + "\n# changed\n")
    assert build_zip(tmp_path / "a", package_dir=pkg) == a
    assert zipfile.ZipFile(a).read("spark_jobs/errors.py").endswith(b"# changed\n")
    assert zipfile.ZipFile(a).comment == f"sha256:{content_hash(pkg)}".encode()
    assert [p.name for p in (tmp_path / "a").iterdir()] == [a.name]  # no temporary left


def test_make_zip_command_prints_the_path(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "spark_jobs.packaging", "zip", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / f"spark_jobs-{spark_jobs.__version__}.zip")


def test_wheel_installs_with_the_console_script(tmp_path):
    whl = build_wheel(tmp_path / "dist")
    assert re.fullmatch(rf"spark_jobs-{re.escape(spark_jobs.__version__)}\+[0-9a-f]{{12}}-py3-none-any\.whl",
                        whl.name)
    assert build_wheel(tmp_path / "dist") == whl

    zf = zipfile.ZipFile(whl)
    dist_info = whl.name.split("-py3")[0] + ".dist-info"
    assert zf.read(f"{dist_info}/entry_points.txt").decode() == \
        "[console_scripts]\nspark-jobs = spark_jobs.main:main\n"
    metadata = zf.read(f"{dist_info}/METADATA").decode()
    assert "Name: spark_jobs" in metadata and "Requires-Dist: pydantic>=2.6,<3" in metadata
    for line in zf.read(f"{dist_info}/RECORD").decode().splitlines():
        name, digest, size = line.split(",")
        if name.endswith("RECORD"):
            continue
        data = zf.read(name)
        want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={want}" and int(size) == len(data)

    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--target", str(target), str(whl)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (target / "bin" / "spark-jobs").exists()
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", "import spark_jobs, spark_jobs.main; print(spark_jobs.__file__)"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(target))
