"""Entry points: spark-submit with the --py-files zip (a real subprocess), python -m spark_jobs /
the spark-jobs console script, and main() on the session already running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine_helpers import OLD, TRICKY, by_id, by_id_csv, csv_rows, json_rows, read_csv_output, \
    read_json_output, spec, write_input
from spark_jobs.packaging import build_zip

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_GATEWAY", "SPARK_"))}
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    return env


@pytest.mark.slow
def test_spark_submit_runs_main_py_with_the_zip(tmp_path):
    """One real spark-submit: the package comes from the zip, outputs and result as in-process."""
    zip_path = build_zip(tmp_path / "dist")
    src = write_input(tmp_path / "in", TRICKY, files=2)
    outputs = [
        {"path": str(tmp_path / "out" / "t.csv"), "action": "create", "format": "csv", "asSingleFile": True,
         "header": True, "compression": "gzip"},
        {"path": str(tmp_path / "out" / "t.json"), "action": "overwrite", "format": "json"},
    ]
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec(tmp_path, src, outputs, group=41)))
    cmd = [
        str(BIN / "spark-submit"),
        "--master", "local[2]",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.session.timeZone=UTC",
        "--conf", "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs=false",
        "--driver-java-options", f"-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}",
        "--py-files", str(zip_path),
        str(ROOT / "spark_jobs" / "main.py"),
        "--spec", str(spec_path),
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    # The engine was imported from the shipped zip, not from the source tree.
    # PythonRunner merges the driver's stderr into spark-submit's stdout.
    assert f"from {zip_path}/spark_jobs" in proc.stdout + proc.stderr, proc.stdout[-4000:]

    result = json.loads((tmp_path / "result-41.json").read_text())
    assert result["status"] == "Complete"
    assert [j["rows"] for j in result["jobs"]] == [len(TRICKY)] * 3
    assert result["jobs"][1]["path"] == str(tmp_path / "out" / "t.csv.gz")
    assert by_id_csv(read_csv_output(tmp_path / "out" / "t.csv.gz", ",", True)) == by_id_csv(csv_rows(TRICKY))
    assert by_id(read_json_output(tmp_path / "out" / "t.json")) == by_id(json_rows(TRICKY))


def test_main_runs_a_spec_on_the_active_session(spark, tmp_path):
    """What ``python -m spark_jobs --spec`` and ``spark-jobs --spec`` run, in-process."""
    from spark_jobs.main import main

    src = write_input(tmp_path / "in", OLD, files=1)
    s = spec(tmp_path, src, [{"path": str(tmp_path / "o.json"), "action": "create", "format": "json"}], group=5)
    (tmp_path / "spec.json").write_text(json.dumps(s))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert main(["--spec", str(tmp_path / "spec.json")]) == 0
        assert main(["--spec", f"file:{tmp_path / 'spec.json'}"]) == 1  # create: the path exists now
    finally:
        signal.signal(signal.SIGTERM, previous)
    result = json.loads((tmp_path / "result-5.json").read_text())
    assert result["status"] == "Failed" and "already exists" in result["jobs"][1]["error"]["message"]
    assert by_id(read_json_output(tmp_path / "o.json")) == by_id(json_rows(OLD))


def test_main_clean_staging(tmp_path):
    from spark_jobs.main import main

    s = spec(tmp_path, str(tmp_path), [{"path": str(tmp_path / "o.csv"), "action": "overwrite", "format": "csv"}],
             group=9)
    (tmp_path / "spec.json").write_text(json.dumps(s))
    (tmp_path / ".o.csv.staging-9-0a1b2c").mkdir()
    assert main(["--spec", str(tmp_path / "spec.json"), "--clean-staging"]) == 0
    assert not (tmp_path / ".o.csv.staging-9-0a1b2c").exists()


def test_console_script_and_module_refuse_a_bad_spec_and_write_a_failed_result(tmp_path):
    """No JVM needed to refuse a spec: exit 2, the cause on stderr and in the result document."""
    bad = {"jobGroupId": 3, "resultUri": str(tmp_path / "r.json"), "jobs": {"wrangle": 1},
           "datasets": [], "target": 2, "outputs": [{"jobId": 2, "path": "/x", "action": "create",
                                                     "format": "csv", "hasQuotes": "maybe"}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    for cmd in ([str(BIN / "spark-jobs")], [sys.executable, "-m", "spark_jobs"]):
        (tmp_path / "r.json").unlink(missing_ok=True)
        proc = subprocess.run([*cmd, "--spec", str(tmp_path / "bad.json")], env=_env(), cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "outputs.0.hasQuotes" in proc.stderr
        result = json.loads((tmp_path / "r.json").read_text())
        assert result["status"] == "Failed"
        assert [j["jobId"] for j in result["jobs"]] == [1, 2]
        assert "target: wrangled dataset 2 is not in datasets" in result["jobs"][0]["error"]["message"] \
            or "outputs.0.hasQuotes" in result["jobs"][0]["error"]["message"]

    proc = subprocess.run([str(BIN / "spark-jobs"), "--spec", str(tmp_path / "missing.json")], env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "missing.json" in proc.stderr
