"""Delta outputs and imported Delta datasets through run_job, read back with ``deltalake``.

This pyspark has no Delta jars, so every write here takes the deltalake path: parquet files
written by the executors (``pydelta``), one delta-rs transaction per output at the job's commit.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from engine_helpers import OLD, TRICKY, by_id, hidden_entries, read_parquet_output, snapshot, spec, write_input
from spark_jobs import run_job
from spark_jobs.delta_support import use_delta_spark
from spark_jobs.spec import Output, SpecError, parse_spec
from spark_jobs.writers import WriteContext, writer_for
from spark_jobs.writers.delta import DeltaLakeStage, DeltaSparkStage

UTC = dt.timezone.utc


def delta_out(path: Path, action: str, **kw) -> dict:
    return {"path": str(path), "action": action, "format": "delta", **kw}


def debris(root: Path) -> list[str]:
    """Staging folders, temporary or hidden files: anything but a table's own _delta_log."""
    return [p for p in hidden_entries(root) if "/_delta_log" not in p]


def rows_at(path: Path, version: int | None = None) -> list[dict]:
    table = DeltaTable(str(path), version=version).to_pyarrow_table()
    rows = table.to_pylist()
    for r in rows:  # deltalake gives zoneinfo UTC; compare with the inputs' timezone.utc
        for k, v in r.items():
            if isinstance(v, dt.datetime) and v.tzinfo is not None:
                r[k] = v.astimezone(UTC)
    return by_id(rows)


ALL_TYPES = pa.schema([
    ("id", pa.int64()), ("qty", pa.int32()), ("amount", pa.float64()), ("ratio", pa.float32()),
    ("name", pa.string()), ("flag", pa.bool_()), ("day", pa.date32()), ("ts", pa.timestamp("us", tz="UTC")),
    ("price", pa.decimal128(12, 3)), ("blob", pa.binary()),
])
ALL_ROWS = [
    {"id": 1, "qty": 3, "amount": 1.25, "ratio": 0.5, "name": 'a, "b"\nc', "flag": True, "day": dt.date(2024, 2, 29),
     "ts": dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "price": Decimal("-123456789.123"),
     "blob": b"\x00\x01\xff"},
    {"id": 2, "qty": None, "amount": None, "ratio": None, "name": None, "flag": None, "day": None, "ts": None,
     "price": None, "blob": None},
    {"id": 3, "qty": -2**31, "amount": -1e300, "ratio": -0.0, "name": "日本", "flag": False,
     "day": dt.date(1900, 1, 1), "ts": dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
     "price": Decimal("0.001"), "blob": b""},
]


def test_every_type_round_trips_through_a_delta_output_and_an_imported_delta_dataset(spark, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    pq.write_table(pa.Table.from_pylist(ALL_ROWS, schema=ALL_TYPES), src / "part-0.parquet")
    table = tmp_path / "t_1"
    result = run_job(spec(tmp_path, str(src), [delta_out(table, "create")], group=1), spark)
    assert result.status == "Complete", result.model_dump_json(indent=1)
    assert result.jobs[1].deltaVersion == 0 and result.jobs[1].rows == 3
    assert rows_at(table) == ALL_ROWS
    dtable = DeltaTable(str(table))
    assert dtable.schema().to_arrow().names == ALL_TYPES.names
    # Per-file statistics are in the add actions.
    adds = pa.table(dtable.get_add_actions(flatten=True)).to_pylist()
    assert sum(a["num_records"] for a in adds) == 3
    assert min(a["min.id"] for a in adds) == 1 and max(a["max.id"] for a in adds) == 3

    back = run_job(spec(tmp_path, str(table), [{"path": str(tmp_path / "o.parquet"), "action": "create",
                                               "format": "pqt"}], fmt="delta", group=2), spark)
    assert back.status == "Complete", back.model_dump_json(indent=1)
    assert by_id(read_parquet_output(tmp_path / "o.parquet")) == ALL_ROWS


def test_overwrite_makes_a_new_version_and_time_travel_keeps_the_old(spark, tmp_path):
    old_in = write_input(tmp_path / "in-old", OLD, files=1)
    new_in = write_input(tmp_path / "in-new", TRICKY, files=3)
    table = tmp_path / "t"
    first = run_job(spec(tmp_path, old_in, [delta_out(table, "overwrite")], group=3), spark)
    assert first.status == "Complete" and first.jobs[1].deltaVersion == 0
    second = run_job(spec(tmp_path, new_in, [delta_out(table, "overwrite")], group=4), spark)
    assert second.status == "Complete", second.model_dump_json(indent=1)
    assert second.jobs[1].deltaVersion == 1
    assert json.loads((tmp_path / "result-4.json").read_text())["jobs"][1]["deltaVersion"] == 1
    assert rows_at(table) == by_id(TRICKY)
    assert rows_at(table, version=0) == by_id(OLD)
    listed = {f.path for f in second.jobs[1].files}
    assert listed == set(DeltaTable(str(table)).file_uris())
    assert debris(tmp_path) == []


def test_append_twice_and_create_refuses_an_existing_table(spark, tmp_path):
    old_in = write_input(tmp_path / "in-old", OLD, files=1)
    new_in = write_input(tmp_path / "in-new", TRICKY, files=2)
    table = tmp_path / "t_5"
    assert run_job(spec(tmp_path, old_in, [delta_out(table, "create")], group=5), spark).status == "Complete"
    versions = []
    for group in (6, 7):
        r = run_job(spec(tmp_path, new_in, [delta_out(table, "append")], group=group), spark)
        assert r.status == "Complete", r.model_dump_json(indent=1)
        versions.append(r.jobs[1].deltaVersion)
    assert versions == [1, 2]
    assert rows_at(table) == by_id(OLD + TRICKY + TRICKY)
    assert rows_at(table, version=1) == by_id(OLD + TRICKY)

    before = snapshot(table)
    again = run_job(spec(tmp_path, new_in, [delta_out(table, "create")], group=5), spark)
    assert again.status == "Failed" and "already exists" in again.jobs[1].error.message
    assert snapshot(table) == before


def test_a_job_failing_mid_write_adds_no_version_and_leaves_no_files(spark, tmp_path):
    src = Path(write_input(tmp_path / "in", TRICKY, files=3))
    table = tmp_path / "t"
    assert run_job(spec(tmp_path, str(src), [delta_out(table, "overwrite")], group=8), spark).status == "Complete"
    before = snapshot(table)
    corrupt = sorted(src.iterdir())[-1]
    corrupt.write_bytes(corrupt.read_bytes()[:-30] + b"\x00" * 30)  # one task fails, the others write
    for action in ("overwrite", "append"):
        r = run_job(spec(tmp_path, str(src), [delta_out(table, action)], group=9), spark)
        assert r.status == "Failed", r.model_dump_json(indent=1)
        assert DeltaTable(str(table)).version() == 0
        assert snapshot(table) == before  # no parquet file of the failed write is left
    assert debris(tmp_path) == []
    # A failed create leaves no table folder at all.
    r = run_job(spec(tmp_path, str(src), [delta_out(tmp_path / "new_10", "create")], group=10), spark)
    assert r.status == "Failed" and not (tmp_path / "new_10").exists()


def test_two_appends_staged_together_both_land(spark, tmp_path):
    src = write_input(tmp_path / "in", OLD, files=1)
    table = tmp_path / "t"
    assert run_job(spec(tmp_path, src, [delta_out(table, "create")], group=11), spark).status == "Complete"
    df = spark.read.parquet(src)
    out = Output(jobId=1, path=str(table), action="append", format="delta")
    ctx = WriteContext(spark=spark, job_group_id=12, run_tag="12")
    # Both read version 0 while staging; the second commit finds version 1 taken and lands as 2.
    first, second = writer_for("delta").stage(df, out, ctx), writer_for("delta").stage(df, out, ctx)
    versions = sorted([first.commit().delta_version, second.commit().delta_version])
    assert versions == [1, 2]
    assert rows_at(table) == by_id(OLD * 3)


def test_two_jobs_appending_at_once_both_land(spark, tmp_path):
    src = write_input(tmp_path / "in", TRICKY, files=2)
    table = tmp_path / "t"
    assert run_job(spec(tmp_path, src, [delta_out(table, "create")], group=13), spark).status == "Complete"
    results = {}

    def append(group: int) -> None:
        results[group] = run_job(spec(tmp_path, src, [delta_out(table, "append")], group=group), spark)

    threads = [threading.Thread(target=append, args=(g,)) for g in (14, 15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert [results[g].status for g in (14, 15)] == ["Complete", "Complete"]
    assert sorted(results[g].jobs[1].deltaVersion for g in (14, 15)) == [1, 2]
    assert rows_at(table) == by_id(TRICKY * 3)


def test_partition_by_makes_folders_and_values_read_back(spark, tmp_path):
    rows = [dict(r, name=f"n{r['id'] % 3}") for r in TRICKY]
    rows[0]["name"] = "a/b=c"  # a value the folder name must escape
    rows[1]["name"] = None
    src = write_input(tmp_path / "in", rows, files=2)
    by_two, by_name = tmp_path / "t_16", tmp_path / "n_16"
    r = run_job(spec(tmp_path, src, [delta_out(by_two, "create", partitionBy=["flag", "qty"]),
                                     delta_out(by_name, "create", partitionBy=["name"])], group=16), spark)
    assert r.status == "Complete", r.model_dump_json(indent=1)
    folders = sorted(p.name for p in by_two.iterdir() if p.name != "_delta_log")
    assert folders == ["flag=__HIVE_DEFAULT_PARTITION__", "flag=false", "flag=true"]
    assert sorted(p.name for p in (by_two / "flag=true").iterdir()) == ["qty=0", "qty=3"]
    assert sorted(p.name for p in by_name.iterdir() if p.name != "_delta_log") == [
        "name=__HIVE_DEFAULT_PARTITION__", "name=a%2Fb%3Dc", "name=n0", "name=n1", "name=n2"]
    assert DeltaTable(str(by_two)).metadata().partition_columns == ["flag", "qty"]
    assert rows_at(by_two) == by_id(rows)
    assert rows_at(by_name) == by_id(rows)
    # The data files hold the other columns only; the values live in the folders and the log.
    some_file = next((by_two / "flag=true" / "qty=3").iterdir())
    assert pq.read_schema(some_file).names == ["id", "name", "amount", "day", "ts"]

    # Read back as imported datasets: partition values typed as the table says.
    for n, table in enumerate((by_two, by_name)):
        copy = tmp_path / f"copy_{17 + n}"
        back = run_job(spec(tmp_path, str(table), [delta_out(copy, "create")], fmt="delta", group=17 + n), spark)
        assert back.status == "Complete", back.model_dump_json(indent=1)
        assert rows_at(copy) == by_id(rows)
        assert DeltaTable(str(copy)).schema().to_json() == DeltaTable(str(table)).schema().to_json()


def test_merge_schema_adds_columns_and_its_absence_is_an_error_naming_them(spark, tmp_path):
    src = write_input(tmp_path / "in", OLD, files=1)
    table = tmp_path / "t"
    assert run_job(spec(tmp_path, src, [delta_out(table, "create")], group=18), spark).status == "Complete"
    wider = ["derive type: single value: qty * 2 as: 'double_qty'"]
    refused = run_job(spec(tmp_path, src, [delta_out(table, "append")], group=19, recipe=wider), spark)
    assert refused.status == "Failed"
    assert "['double_qty'] are not in the table; set mergeSchema" in refused.jobs[1].error.message
    assert DeltaTable(str(table)).version() == 0

    merged = run_job(spec(tmp_path, src, [delta_out(table, "append", mergeSchema=True)], group=20, recipe=wider),
                     spark)
    assert merged.status == "Complete", merged.model_dump_json(indent=1)
    got = sorted((r["id"], r["double_qty"] is not None, r["double_qty"]) for r in rows_at(table))
    # The rows of version 0 read the new column as null.
    assert got == [(100, False, None), (100, True, 0), (101, False, None), (101, True, 2),
                   (102, False, None), (102, True, 4)]
    assert DeltaTable(str(table)).schema().to_arrow().names[-1] == "double_qty"


@pytest.mark.parametrize("option,value", [("compression", "gzip"), ("header", True), ("asSingleFile", True),
                                          ("delim", ";"), ("hasQuotes", True)])
def test_file_options_are_refused_for_delta_by_name(tmp_path, option, value):
    with pytest.raises(SpecError, match=rf"outputs\.0.*{option} applies to csv.*not delta"):
        parse_spec(spec(tmp_path, "/in", [{**delta_out(tmp_path / "t", "create"), option: value}]))
    # ... and partitionBy / mergeSchema are Delta's own.
    with pytest.raises(SpecError, match="partitionBy applies to delta only"):
        parse_spec(spec(tmp_path, "/in", [{"path": "/o", "action": "create", "format": "pqt",
                                           "partitionBy": ["a"]}]))


def test_the_path_is_chosen_from_the_classpath(spark, tmp_path):
    from spark_jobs import classpath

    assert not use_delta_spark(spark)  # no Delta jars in a pip pyspark
    df = spark.range(3)
    out = Output(jobId=1, path=str(tmp_path / "t"), action="create", format="delta")
    ctx = WriteContext(spark=spark, job_group_id=21, run_tag="21")
    stage = writer_for("delta").stage(df, out, ctx)
    assert isinstance(stage, DeltaLakeStage)
    stage.abort()
    assert not (tmp_path / "t").exists() and hidden_entries(tmp_path) == []

    key = (spark.sparkContext.applicationId, classpath.DELTA_SOURCE_CLASS)
    saved = classpath._cache[key]
    classpath._cache[key] = True  # what the one-time look-up answers where the jars are
    try:
        spark_stage = writer_for("delta").stage(df, out, ctx)
        assert isinstance(spark_stage, DeltaSparkStage)  # delta-spark writes only at commit
        spark_stage.abort()
    finally:
        classpath._cache[key] = saved
    assert not (tmp_path / "t").exists()
