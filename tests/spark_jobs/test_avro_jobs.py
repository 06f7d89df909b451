"""avro outputs and imported avro datasets through run_job, read back with fastavro / pyarrow.

This pyspark has no spark-avro, so every write here goes through the ``pyavro`` Python Data
Source and the engine's staging (hidden sibling, rename on commit).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import fastavro
import pytest

from engine_helpers import (
    OLD, TRICKY, by_id, hidden_entries, read_parquet_output, snapshot, spec, write_input,
)
from spark_jobs import run_job
from spark_jobs.spec import SpecError, parse_spec

UTC = dt.timezone.utc


def read_avro_output(path: Path) -> list[dict]:
    rows = []
    for f in sorted(path.iterdir()):
        assert f.name.startswith("part-") and f.name.endswith(".avro"), f
        with open(f, "rb") as fo:
            rows.extend(fastavro.reader(fo))
    return by_id(rows)


def avro_out(path: Path, action: str) -> dict:
    return {"path": str(path), "action": action, "format": "avro"}


@pytest.mark.parametrize("action", ["create", "overwrite", "append"])
def test_each_action_reads_back_with_fastavro(spark, tmp_path, action):
    old_in = write_input(tmp_path / "in-old", OLD, files=1)
    new_in = write_input(tmp_path / "in-new", TRICKY, files=3)
    out = tmp_path / "out"
    target = out / "data.avro"

    first = run_job(spec(tmp_path, old_in, [avro_out(target, "overwrite")], group=1), spark)
    assert first.status == "Complete", first.model_dump_json(indent=1)
    assert read_avro_output(target) == by_id(OLD)
    before = snapshot(out)

    # create: the launcher has already put _<jobGroupId> before the extension.
    path = out / "data_2.avro" if action == "create" else target
    result = run_job(spec(tmp_path, new_in, [avro_out(path, action)], group=2), spark)
    assert result.status == "Complete", result.model_dump_json(indent=1)
    job = result.jobs[1]
    assert job.rows == len(TRICKY) and job.path == str(path)
    assert {f.path: f.size for f in job.files} == {str(p): p.stat().st_size for p in sorted(path.iterdir())}

    want = OLD + TRICKY if action == "append" else TRICKY
    assert read_avro_output(path) == by_id(want)
    after = snapshot(out)
    if action in ("create", "append"):
        assert {k: after[k] for k in before} == before  # nothing old rewritten
    if action == "create":
        assert read_avro_output(target) == by_id(OLD)
    assert hidden_entries(out) == []


def test_create_refuses_an_existing_path(spark, tmp_path):
    src = write_input(tmp_path / "in", OLD, files=1)
    target = tmp_path / "out" / "data_3.avro"
    assert run_job(spec(tmp_path, src, [avro_out(target, "create")], group=3), spark).status == "Complete"
    before = snapshot(tmp_path / "out")
    again = run_job(spec(tmp_path, src, [avro_out(target, "create")], group=3), spark)
    assert again.status == "Failed"
    assert "already exists" in again.jobs[1].error.message
    assert snapshot(tmp_path / "out") == before


@pytest.mark.parametrize("option", [{"compression": "gzip"}, {"asSingleFile": True}, {"header": True}])
def test_file_options_are_refused_for_avro_by_name(tmp_path, option):
    bad = spec(tmp_path, "/in", [{**avro_out(tmp_path / "o", "create"), **option}])
    name = next(iter(option))
    with pytest.raises(SpecError, match=rf"outputs\.0.*{name} applies to csv"):
        parse_spec(bad)


def write_avro_input(folder: Path, rows: list[dict], schema: dict, files: int = 2, codec="snappy") -> str:
    folder.mkdir(parents=True)
    step = -(-len(rows) // files)
    for n in range(files):
        with open(folder / f"part-{n}.avro", "wb") as fo:
            fastavro.writer(fo, schema, rows[n * step:(n + 1) * step], codec=codec)
    return str(folder)


ALL_TYPES_SCHEMA = {"type": "record", "name": "topLevelRecord", "fields": [
    {"name": "id", "type": "long"},
    {"name": "qty", "type": ["int", "null"]},
    {"name": "amount", "type": ["double", "null"]},
    {"name": "ratio", "type": ["float", "null"]},
    {"name": "name", "type": ["string", "null"]},
    {"name": "flag", "type": ["boolean", "null"]},
    {"name": "day", "type": [{"type": "int", "logicalType": "date"}, "null"]},
    {"name": "ts", "type": [{"type": "long", "logicalType": "timestamp-micros"}, "null"]},
    {"name": "price", "type": [{"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3}, "null"]},
    {"name": "blob", "type": ["bytes", "null"]},
]}
ALL_TYPES_ROWS = [
    {"id": 1, "qty": 3, "amount": 1.25, "ratio": 0.5, "name": 'a, "b"\nc', "flag": True,
     "day": dt.date(2024, 2, 29), "ts": dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
     "price": Decimal("-123456789.123"), "blob": b"\x00\x01\xff"},
    {"id": 2, "qty": None, "amount": None, "ratio": None, "name": None, "flag": None,
     "day": None, "ts": None, "price": None, "blob": None},
    {"id": 3, "qty": -2**31, "amount": -1e300, "ratio": -0.0, "name": "日本", "flag": False,
     "day": dt.date(1900, 1, 1), "ts": dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
     "price": Decimal("0.001"), "blob": b""},
]


def test_imported_avro_through_run_job_into_avro_and_parquet(spark, tmp_path):
    src = write_avro_input(tmp_path / "in.avro", ALL_TYPES_ROWS, ALL_TYPES_SCHEMA)
    outs = [avro_out(tmp_path / "o.avro", "create"),
            {"path": str(tmp_path / "o.parquet"), "action": "create", "format": "pqt"}]
    result = run_job(spec(tmp_path, src, outs, fmt="avro", group=4), spark)
    assert result.status == "Complete", result.model_dump_json(indent=1)
    assert [j.rows for j in result.jobs[1:]] == [3, 3]

    assert read_avro_output(tmp_path / "o.avro") == ALL_TYPES_ROWS
    # The writer's schema is the reader's: same names, types and logical types.
    with open(next((tmp_path / "o.avro").iterdir()), "rb") as fo:
        written = fastavro.reader(fo).writer_schema
    assert written["fields"] == ALL_TYPES_SCHEMA["fields"]
    assert by_id(read_parquet_output(tmp_path / "o.parquet")) == ALL_TYPES_ROWS


def test_imported_avro_with_a_recipe_and_a_glob(spark, tmp_path):
    schema = {"type": "record", "name": "r", "fields": [{"name": "id", "type": "long"},
                                                       {"name": "name", "type": "string"}]}
    rows = [{"id": i, "name": f"n{i}"} for i in range(10)]
    write_avro_input(tmp_path / "in", rows, schema, files=3, codec="deflate")
    recipe = ["keep row: id >= 4"]
    result = run_job(spec(tmp_path, str(tmp_path / "in" / "part-*.avro"),
                          [avro_out(tmp_path / "o.avro", "create")], fmt="avro", group=5, recipe=recipe), spark)
    assert result.status == "Complete", result.model_dump_json(indent=1)
    assert read_avro_output(tmp_path / "o.avro") == rows[4:]


def test_a_job_failing_mid_write_leaves_old_results_and_no_debris(spark, tmp_path):
    schema = {"type": "record", "name": "r", "fields": [{"name": "id", "type": "long"}]}
    src = tmp_path / "in"
    write_avro_input(src, [{"id": i} for i in range(30)], schema, files=3)
    target = tmp_path / "out" / "data.avro"
    first = run_job(spec(tmp_path, str(src), [avro_out(target, "overwrite")], fmt="avro", group=6), spark)
    assert first.status == "Complete"
    before = snapshot(tmp_path / "out")

    # One input file turns corrupt: its task fails while the others write their parts.
    corrupt = src / "part-2.avro"
    data = corrupt.read_bytes()
    corrupt.write_bytes(data[:-40] + b"\x07" * 40)
    for action in ("overwrite", "append"):
        result = run_job(spec(tmp_path, str(src), [avro_out(target, action)], fmt="avro", group=6), spark)
        assert result.status == "Failed", result.model_dump_json(indent=1)
        assert snapshot(tmp_path / "out") == before
        assert hidden_entries(tmp_path / "out") == []
    doc = json.loads((tmp_path / "result-6.json").read_text())
    assert doc["status"] == "Failed" and doc["jobs"][1]["error"]["message"]
