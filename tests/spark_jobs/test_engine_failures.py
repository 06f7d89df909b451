"""Failures: a write that fails or is canceled half-way leaves the old results byte-for-byte and
no staging debris; bad input ends as a Failed job naming the cause, never a partial output."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from engine_helpers import OLD, TRICKY, hidden_entries, snapshot, spec, write_input
from spark_jobs import run_job
from spark_jobs.errors import CANCEL_REQUESTED, is_cancellation
from spark_jobs.spec import Output
from spark_jobs.writers import WRITERS, WriteContext, writer_for
from spark_jobs.writers.commit import sweep_staging

OUTPUT_KINDS = [
    {"format": "csv", "asSingleFile": True, "compression": "gzip", "header": True},
    {"format": "csv", "compression": "bzip2"},
    {"format": "json", "asSingleFile": True},
    {"format": "json"},
    {"format": "pqt"},
]


def _id(kind: dict) -> str:
    return "-".join(str(v) for v in kind.values())


def failing_frame(spark, fail_on: int = 7, slow: float = 1.0):
    """20 rows in 4 partitions; the row ``fail_on`` raises while partition 0 is still busy."""

    @F.udf("long")
    def boom(i):
        if i == 0:
            time.sleep(slow)  # a task still running when the job fails: abort must wait it out
        if i == fail_on:
            raise ValueError(f"boom on row {i}")
        return i

    return spark.range(0, 20, 1, 4).withColumn("v", boom("id"))


def old_results(spark, out: Path, kind: dict, action: str) -> Output:
    """Write earlier results at out/<name> with the writers themselves, then return the output."""
    o = Output(jobId=1, path=str(out / "data"), action="overwrite", **kind)
    ctx = WriteContext(spark=spark, job_group_id=1, run_tag="1")
    writer_for(o.format).stage(spark.range(5).withColumn("v", F.col("id") * 2), o, ctx).commit()
    return Output(jobId=2, path=str(out / "data"), action=action, **kind)


@pytest.mark.parametrize("action", ["overwrite", "append"])
@pytest.mark.parametrize("kind", OUTPUT_KINDS, ids=_id)
def test_a_write_failing_half_way_leaves_old_results_and_no_debris(spark, tmp_path, kind, action):
    out = tmp_path / "out"
    o = old_results(spark, out, kind, action)
    before = snapshot(out)
    ctx = WriteContext(spark=spark, job_group_id=2, run_tag="2")
    with pytest.raises(Exception) as err:
        writer_for(o.format).stage(failing_frame(spark), o, ctx)
    assert "boom on row 7" in str(err.value)
    assert snapshot(out) == before
    assert hidden_entries(out) == []
    assert sorted(os.listdir(out)) == sorted({p.split("/")[0] for p in before})


def test_abort_after_staging_leaves_nothing_and_old_results(spark, tmp_path):
    out = tmp_path / "out"
    o = old_results(spark, out, {"format": "csv", "asSingleFile": True}, "append")
    before = snapshot(out)
    ctx = WriteContext(spark=spark, job_group_id=2, run_tag="2")
    staged = writer_for("csv").stage(spark.range(3), o, ctx)
    assert any(n.startswith(".data.staging-2-") for n in os.listdir(out))
    staged.abort()
    assert snapshot(out) == before and hidden_entries(out) == []


def test_a_canceled_write_leaves_old_results_and_no_debris(spark, tmp_path):
    out = tmp_path / "out"
    o = old_results(spark, out, {"format": "csv", "asSingleFile": True, "compression": "gzip"}, "overwrite")
    before = snapshot(out)
    caught: list[BaseException] = []

    @F.udf("long")
    def slow(i):
        time.sleep(0.5)
        return i

    def write() -> None:
        spark.sparkContext.setJobGroup("cancel-me", "test", interruptOnCancel=True)
        ctx = WriteContext(spark=spark, job_group_id=3, run_tag="3")
        try:
            writer_for("csv").stage(spark.range(0, 40, 1, 4).withColumn("v", slow("id")), o, ctx)
        except BaseException as e:  # noqa: BLE001
            caught.append(e)

    t = threading.Thread(target=write)
    t.start()
    tracker = spark.sparkContext.statusTracker()
    deadline = time.monotonic() + 60
    while not tracker.getJobIdsForGroup("cancel-me") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # tasks are running and writing
    spark.sparkContext.cancelJobGroup("cancel-me")
    t.join(60)
    assert caught and is_cancellation(caught[0]), caught
    assert snapshot(out) == before
    assert hidden_entries(out) == []


def _conflicting_parquet(folder: Path) -> str:
    """Two valid parquet files whose column x has different types: reading fails in a task."""
    folder.mkdir()
    pq.write_table(pa.table({"id": [1, 2], "x": pa.array([1, 2], pa.int64())}), folder / "a.parquet")
    pq.write_table(pa.table({"id": [3, 4], "x": pa.array(["three", "four"])}), folder / "b.parquet")
    return str(folder)


def test_run_job_failing_at_run_time_keeps_every_old_result(spark, tmp_path):
    out = tmp_path / "out"
    outputs = [
        {"path": str(out / "one.csv"), "action": "overwrite", "format": "csv", "asSingleFile": True,
         "compression": "gzip", "header": True},
        {"path": str(out / "parts.json"), "action": "append", "format": "json"},
        {"path": str(out / "data.parquet"), "action": "overwrite", "format": "pqt"},
    ]
    good = write_input(tmp_path / "good", OLD, files=1)
    assert run_job(spec(tmp_path, good, outputs, group=1), spark).status == "Complete"
    before = snapshot(out)

    bad = _conflicting_parquet(tmp_path / "bad")
    result = run_job(spec(tmp_path, bad, outputs, group=2), spark)
    assert result.status == "Failed"
    wrangle, *writers = result.jobs
    assert wrangle.status == "Failed"
    assert "x" in wrangle.error.message and ("convert" in wrangle.error.message.lower()
                                             or "BINARY" in wrangle.error.message)
    assert [w.status for w in writers] == ["Failed", "Failed", "Failed"]
    assert writers[0].error.message == wrangle.error.message
    assert writers[1].error.errorClass == "NotRun"
    assert snapshot(out) == before
    assert hidden_entries(out) == []
    assert json.loads((tmp_path / "result-2.json").read_text())["status"] == "Failed"


def test_cancel_requested_between_phases_ends_canceled_with_nothing_written(spark, tmp_path):
    src = write_input(tmp_path / "in", OLD, files=1)
    outputs = [{"path": str(tmp_path / "out" / "x.csv"), "action": "create", "format": "csv"}]
    CANCEL_REQUESTED.set()
    try:
        result = run_job(spec(tmp_path, src, outputs), spark)
    finally:
        CANCEL_REQUESTED.clear()
    assert result.status == "Canceled"
    assert [j.status for j in result.jobs] == ["Canceled", "Canceled"]
    assert not (tmp_path / "out").exists()


def test_sigterm_handler_requests_a_cancel():
    from spark_jobs.main import _install_sigterm

    previous = signal.getsignal(signal.SIGTERM)
    try:
        _install_sigterm(12345)
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not CANCEL_REQUESTED.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert CANCEL_REQUESTED.is_set()
    finally:
        signal.signal(signal.SIGTERM, previous)
        CANCEL_REQUESTED.clear()


# -- bad input --------------------------------------------------------------------------------

def _run(spark, tmp_path, outputs, input_uri=None, **kw):
    src = input_uri or write_input(tmp_path / "in", OLD, files=1)
    return run_job(spec(tmp_path, src, outputs, **kw), spark)


def test_missing_input_file_fails_the_wrangle_and_writes_nothing(spark, tmp_path):
    target = tmp_path / "out.csv"
    missing = str(tmp_path / "nope" / "orders.csv")
    result = _run(spark, tmp_path, [{"path": str(target), "action": "create", "format": "csv"}],
                  input_uri=missing)
    assert result.status == "Failed"
    assert missing in result.jobs[0].error.message and "no such file" in result.jobs[0].error.message
    assert result.jobs[1].status == "Failed" and result.jobs[1].error.errorClass == "NotRun"
    assert not target.exists()


def test_malformed_spec_is_a_failed_result_naming_the_field(spark, tmp_path):
    bad = spec(tmp_path, str(tmp_path), [{"path": str(tmp_path / "o"), "action": "replace", "format": "csv"}])
    result = run_job(bad, spark)
    assert result.status == "Failed"
    assert all(j.status == "Failed" for j in result.jobs) and len(result.jobs) == 2
    msg = result.jobs[0].error.message
    assert "outputs.0.action" in msg and "create" in msg and "overwrite" in msg
    assert json.loads((tmp_path / "result-7.json").read_text())["jobs"][1]["error"]["errorClass"] == "SpecError"


def test_unknown_output_format_names_the_accepted_ones(spark, tmp_path):
    result = _run(spark, tmp_path, [{"path": str(tmp_path / "o"), "action": "create", "format": "xml"}])
    assert result.status == "Failed"
    msg = result.jobs[1].error.message
    assert "outputs.0.format" in msg and "'csv'" in msg and "'pqt'" in msg


def test_a_format_without_a_writer_here_fails_before_writing(spark, tmp_path, monkeypatch):
    monkeypatch.delitem(WRITERS, "json")
    target = tmp_path / "o.json"
    result = _run(spark, tmp_path, [{"path": str(target), "action": "create", "format": "json"}])
    assert result.status == "Failed"
    assert "'json' has no writer" in result.jobs[1].error.message
    assert not target.exists()


def test_spec_without_result_uri_raises(spark):
    from spark_jobs.spec import SpecError

    with pytest.raises(SpecError, match="resultUri"):
        run_job({"jobGroupId": 1}, spark)


def test_unwritable_path_fails_naming_it_and_writes_no_other_output(spark, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    ok_target = tmp_path / "fine.csv"
    outputs = [
        {"path": str(ok_target), "action": "create", "format": "csv"},
        {"path": str(blocker / "out.csv"), "action": "create", "format": "csv"},
    ]
    result = _run(spark, tmp_path, outputs)
    assert result.status == "Failed"
    bad = result.jobs[2]
    assert bad.status == "Failed" and str(blocker) in bad.error.message and "not a folder" in bad.error.message
    assert result.jobs[1].error.errorClass == "NotRun"
    assert not ok_target.exists() and blocker.read_text() == "not a folder"
    assert hidden_entries(tmp_path) == []


def test_unknown_column_in_a_step_fails_naming_it(spark, tmp_path):
    target = tmp_path / "o.csv"
    result = _run(spark, tmp_path, [{"path": str(target), "action": "create", "format": "csv"}],
                  recipe=[{"op": "rename", "mapping": {"no_such_col": "x"}}])
    assert result.status == "Failed"
    assert "no_such_col" in result.jobs[0].error.message
    assert not target.exists()


def test_create_refuses_an_existing_path_and_leaves_it(spark, tmp_path):
    target = tmp_path / "taken.csv"
    target.write_text("precious\n")
    result = _run(spark, tmp_path, [{"path": str(target), "action": "create", "format": "csv",
                                     "asSingleFile": True}])
    assert result.status == "Failed"
    assert "already exists" in result.jobs[1].error.message
    assert target.read_text() == "precious\n" and hidden_entries(tmp_path) == []


def test_append_parts_onto_a_file_is_refused(spark, tmp_path):
    target = tmp_path / "single.csv"
    target.write_text("1,a\n")
    result = _run(spark, tmp_path, [{"path": str(target), "action": "append", "format": "csv"}])
    assert result.status == "Failed" and "is a file" in result.jobs[1].error.message
    assert target.read_text() == "1,a\n"


def test_sweep_staging_removes_only_this_groups_leftovers(tmp_path):
    from spark_jobs.spec import parse_spec

    s = parse_spec(spec(tmp_path, str(tmp_path), [{"path": str(tmp_path / "o.csv"), "action": "overwrite",
                                                  "format": "csv"}], group=7))
    (tmp_path / ".o.csv.staging-7-abc" / "parts").mkdir(parents=True)
    (tmp_path / ".o.csv.staging-8-abc").mkdir()
    removed = sweep_staging(s)
    assert removed == [str(tmp_path / ".o.csv.staging-7-abc")]
    assert sorted(os.listdir(tmp_path)) == [".o.csv.staging-8-abc"]
