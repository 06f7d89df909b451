"""Writers: every format x action x compression x asSingleFile the contract allows for csv, json
and parquet, run through run_job and read back value by value with Python's csv, gzip, bz2 and
json modules and pyarrow. (avro and delta have their own tests.)"""

from __future__ import annotations

import bz2
import json
import zlib
from pathlib import Path

import pandas as pd
import pytest

from engine_helpers import (
    COLUMNS,
    OLD,
    TRICKY,
    by_id,
    by_id_csv,
    csv_rows,
    csv_text,
    decompress,
    hidden_entries,
    json_rows,
    read_csv_output,
    read_json_output,
    read_parquet_output,
    snapshot,
    spec,
    write_input,
)
from spark_jobs import run_job

EXT = {"none": "", "gzip": ".gz", "bzip2": ".bz2"}
# One csv variant per compression, so header, delim and hasQuotes are each exercised.
CSV_VARIANTS = {
    "none": {"header": True, "delim": ",", "hasQuotes": False},
    "gzip": {"header": True, "delim": ";", "hasQuotes": True},
    "bzip2": {"header": False, "delim": "\t", "hasQuotes": False},
}


def outputs_for(fmt: str, action: str, out: Path, suffix: str = "") -> list[dict]:
    if fmt == "pqt":
        return [{"path": str(out / f"data{suffix}.parquet"), "action": action, "format": "pqt"}]
    outs = []
    for comp in ("none", "gzip", "bzip2"):
        for single in (False, True):
            o = {
                "path": str(out / f"{comp}-{'single' if single else 'parts'}{suffix}.{fmt}"),
                "action": action,
                "format": fmt,
                "asSingleFile": single,
            }
            if comp != "none":
                o["compression"] = comp
            if fmt == "csv":
                o.update(CSV_VARIANTS[comp])
            outs.append(o)
    return outs


def final_path(o: dict) -> Path:
    comp = o.get("compression", "none")
    return Path(o["path"] + (EXT[comp] if o.get("asSingleFile") else ""))


def read_output(o: dict) -> list:
    path = final_path(o)
    if o["format"] == "csv":
        return by_id_csv(read_csv_output(path, o["delim"], o["header"]))
    if o["format"] == "json":
        return by_id(read_json_output(path))
    return by_id(read_parquet_output(path))


def expected(o: dict, rows: list[dict]) -> list:
    if o["format"] == "csv":
        return by_id_csv(csv_rows(rows))
    if o["format"] == "json":
        return by_id(json_rows(rows))
    return by_id(rows)


def check_layout(o: dict) -> None:
    """Exactly one file for asSingleFile; else a folder of part files, each with its endings."""
    path = final_path(o)
    comp = o.get("compression", "none")
    if o.get("asSingleFile"):
        assert path.is_file()
        assert not Path(o["path"]).exists() or comp == "none"
        return
    assert path.is_dir()
    names = [p.name for p in path.iterdir()]
    assert names and all(n.startswith("part-") for n in names), names
    ending = {"csv": ".csv", "json": ".json", "pqt": ".parquet"}[o["format"]] + EXT[comp]
    assert all(n.endswith(ending) for n in names), names


@pytest.mark.parametrize("fmt", ["csv", "json", "pqt"])
@pytest.mark.parametrize("action", ["create", "overwrite", "append"])
def test_every_combination_reads_back_value_by_value(spark, tmp_path, fmt, action):
    old_in = write_input(tmp_path / "in-old", OLD, files=1)
    new_in = write_input(tmp_path / "in-new", TRICKY, files=3)
    out = tmp_path / "out"

    earlier = outputs_for(fmt, "overwrite", out)
    first = run_job(spec(tmp_path, old_in, earlier, group=1), spark)
    assert first.status == "Complete", first.model_dump_json(indent=1)
    before = snapshot(out)
    old_single = {str(final_path(o)): final_path(o).read_bytes() for o in earlier if o.get("asSingleFile")}

    # create: the launcher has already put _<jobGroupId> before the extension.
    outputs = outputs_for(fmt, action, out, suffix="_2" if action == "create" else "")
    result = run_job(spec(tmp_path, new_in, outputs, group=2), spark)
    assert result.status == "Complete", result.model_dump_json(indent=1)

    want_rows = OLD + TRICKY if action == "append" else TRICKY
    for o, job in zip(outputs, result.jobs[1:]):
        check_layout(o)
        assert read_output(o) == expected(o, want_rows), o
        assert job.rows == len(TRICKY)
        assert job.path == str(final_path(o))
        listed = {f.path: f.size for f in job.files}
        on_disk = [final_path(o)] if o.get("asSingleFile") else sorted(final_path(o).iterdir())
        assert listed == {str(p): p.stat().st_size for p in on_disk}
        if o["format"] == "csv" and o["hasQuotes"] and o["header"]:
            head = decompress(final_path(o)).decode() if o.get("asSingleFile") else \
                decompress(sorted(final_path(o).iterdir())[0]).decode()
            assert head.split("\n", 1)[0] == o["delim"].join(f'"{c}"' for c in COLUMNS)

    after = snapshot(out)
    if action == "create":
        # The earlier results are untouched; the new ones are beside them.
        assert {k: after[k] for k in before} == before
        for o in earlier:
            assert read_output(o) == expected(o, OLD)
    if action == "append":
        for o in earlier:
            if o.get("asSingleFile"):
                # Old bytes first, unchanged; the new rows follow (a new gzip member / bz2 stream).
                assert final_path(o).read_bytes().startswith(old_single[str(final_path(o))])
            else:
                # Nothing old is rewritten: every old part file is still there, byte for byte.
                for k, v in before.items():
                    if k.startswith(str(final_path(o).relative_to(out)) + "/"):
                        assert after[k] == v
    assert hidden_entries(tmp_path / "out") == []
    assert json.loads(Path(result_uri(tmp_path, 2)).read_text()) == result.model_dump(mode="json")



def result_uri(tmp_path: Path, group: int) -> Path:
    return tmp_path / f"result-{group}.json"

def _gzip_members(data: bytes) -> list[bytes]:
    members = []
    while data:
        d = zlib.decompressobj(wbits=31)
        members.append(d.decompress(data))
        data = d.unused_data
    return members


def _bz2_streams(data: bytes) -> list[bytes]:
    streams = []
    while data:
        d = bz2.BZ2Decompressor()
        streams.append(d.decompress(data))
        data = d.unused_data
    return streams


def test_single_file_is_joined_from_parallel_parts_with_one_header(spark, tmp_path):
    """No coalesce(1): each partition is its own gzip member / bzip2 stream, the header first."""
    src = write_input(tmp_path / "in", TRICKY, files=3)
    outs = [
        {"path": str(tmp_path / "o.csv"), "action": "create", "format": "csv", "asSingleFile": True,
         "header": True, "compression": "gzip"},
        {"path": str(tmp_path / "o2.csv"), "action": "create", "format": "csv", "asSingleFile": True,
         "header": True, "compression": "bzip2"},
    ]
    assert run_job(spec(tmp_path, src, outs), spark).status == "Complete"
    header = (",".join(COLUMNS) + "\n").encode()
    members = _gzip_members((tmp_path / "o.csv.gz").read_bytes())
    streams = _bz2_streams((tmp_path / "o2.csv.bz2").read_bytes())
    for pieces in (members, streams):
        assert len(pieces) == 1 + 3  # the header, then one per partition
        assert pieces[0] == header
        assert all(header not in p for p in pieces[1:])
    assert by_id_csv(read_csv_output(tmp_path / "o.csv.gz", ",", True)) == by_id_csv(csv_rows(TRICKY))


def test_append_single_file_twice_keeps_one_header_and_old_bytes(spark, tmp_path):
    a = write_input(tmp_path / "a", OLD, files=1)
    b = write_input(tmp_path / "b", TRICKY, files=2)
    o = {"path": str(tmp_path / "log.csv"), "action": "append", "format": "csv", "asSingleFile": True,
         "header": True, "compression": "gzip"}
    assert run_job(spec(tmp_path, a, [o], group=1), spark).status == "Complete"
    first = (tmp_path / "log.csv.gz").read_bytes()
    assert run_job(spec(tmp_path, b, [o], group=2), spark).status == "Complete"
    second = (tmp_path / "log.csv.gz").read_bytes()
    assert second.startswith(first)
    assert run_job(spec(tmp_path, a, [o], group=3), spark).status == "Complete"
    text = decompress(tmp_path / "log.csv.gz").decode()
    assert text.count("id,name,amount") == 1 and text.startswith("id,name,amount")
    rows = read_csv_output(tmp_path / "log.csv.gz", ",", True)
    assert by_id_csv(rows) == by_id_csv(csv_rows(OLD + TRICKY + OLD))
    assert hidden_entries(tmp_path) == []


def test_append_to_a_file_without_its_last_newline(spark, tmp_path):
    src = write_input(tmp_path / "in", OLD, files=1)
    target = tmp_path / "hand.csv"
    target.write_bytes(b"1,hand written")  # no final newline: the new rows must not join it
    o = {"path": str(target), "action": "append", "format": "csv", "asSingleFile": True}
    assert run_job(spec(tmp_path, src, [o]), spark).status == "Complete"
    text = target.read_text()
    assert text.startswith("1,hand written\n")
    assert by_id_csv(read_csv_output(target, ",", False)) == [["1", "hand written"]] + by_id_csv(csv_rows(OLD))


def test_csv_reads_back_identically_in_python_pandas_and_spark(spark, tmp_path):
    """RFC 4180: quotes doubled, fields with delimiters, quotes and line breaks quoted."""
    src = write_input(tmp_path / "in", TRICKY, files=2)
    o = {"path": str(tmp_path / "t.csv"), "action": "create", "format": "csv", "asSingleFile": True,
         "header": True}
    assert run_job(spec(tmp_path, src, [o]), spark).status == "Complete"
    raw = (tmp_path / "t.csv").read_text()
    assert '"quote "" inside"' in raw and "\\" + '"' not in raw.replace('\\slash ""', "")

    want = by_id_csv(csv_rows(TRICKY))
    assert by_id_csv(read_csv_output(tmp_path / "t.csv", ",", True)) == want

    frame = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert list(frame.columns) == COLUMNS
    assert by_id_csv(frame.values.tolist()) == want

    back = (spark.read.option("header", True).option("multiLine", True).option("escape", '"')
            .csv(str(tmp_path / "t.csv")).collect())
    got = sorted(([("" if v is None else v) for v in r] for r in back), key=lambda r: int(r[0]))
    assert got == want
    # The file itself tells an empty string ("") from a missing value (nothing).
    assert "\n6,\"\",,,,,\n" in raw and "\n7,,1.5," in raw


def test_csv_text_forms():
    import datetime as dt

    assert csv_text(dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)) == "2024-01-02T03:04:05.000006Z"
    assert csv_text(None) == "" and csv_text(False) == "false"


def test_one_output_alone_is_not_cached_and_counts_rows(spark, tmp_path):
    src = write_input(tmp_path / "in", TRICKY, files=3)
    o = {"path": str(tmp_path / "p"), "action": "create", "format": "json"}
    result = run_job(spec(tmp_path, src, [o]), spark)
    assert result.status == "Complete"
    assert result.jobs[0].rows == len(TRICKY) and result.jobs[1].rows == len(TRICKY)
    assert spark.sparkContext._jsc.getPersistentRDDs().isEmpty()
