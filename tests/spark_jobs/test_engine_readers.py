"""Readers: csv (header, delimiter, quote, encoding; typed or all strings), json (lines and
multi-line), parquet, text; local paths and file: URIs; a source that cannot be read is named."""

from __future__ import annotations

import json

import pytest

from spark_jobs.readers import READERS, SourceError, read_dataset
from spark_jobs.spec import ImportedDataset


def ds(uri, fmt, **options) -> ImportedDataset:
    return ImportedDataset(id=3, name="src", uri=str(uri), format=fmt, options=options)


def test_csv_all_strings_by_default_and_typed_on_request(spark, tmp_path):
    p = tmp_path / "a.csv"
    p.write_text('id;name;amount\n1;"semi;colon ""q""";2.5\n2;"two\nlines";3\n', encoding="utf-8")
    df = read_dataset(spark, ds(p, "csv", delimiter=";", multiLine=True))
    assert [f.dataType.simpleString() for f in df.schema] == ["string"] * 3
    assert [tuple(r) for r in df.orderBy("id").collect()] == [
        ("1", 'semi;colon "q"', "2.5"), ("2", "two\nlines", "3")]
    typed = read_dataset(spark, ds(f"file:{p}", "csv", delimiter=";", multiLine=True, inferSchema=True))
    assert [f.dataType.simpleString() for f in typed.schema] == ["int", "string", "double"]


def test_csv_without_header_and_in_latin_1(spark, tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes("1,café\n2,naïve\n".encode("latin-1"))
    df = read_dataset(spark, ds(p, "csv", header=False, encoding="ISO-8859-1"))
    assert df.columns == ["_c0", "_c1"]
    assert [tuple(r) for r in df.orderBy("_c0").collect()] == [("1", "café"), ("2", "naïve")]


def test_json_lines_and_multi_line(spark, tmp_path):
    (tmp_path / "l.json").write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": null}\n')
    (tmp_path / "m.json").write_text(json.dumps([{"a": 1, "b": "x"}, {"a": 2}], indent=2))
    for name, opts in (("l.json", {}), ("m.json", {"multiLine": True})):
        rows = read_dataset(spark, ds(tmp_path / name, "json", **opts)).orderBy("a").collect()
        assert [(r["a"], r["b"]) for r in rows] == [(1, "x"), (2, None)]


def test_parquet_and_text_and_globs(spark, tmp_path):
    spark.createDataFrame([(1, "a")], "id long, v string").write.parquet(str(tmp_path / "p"))
    assert [tuple(r) for r in read_dataset(spark, ds(tmp_path / "p", "pqt")).collect()] == [(1, "a")]
    (tmp_path / "t1.txt").write_text("hello\nworld\n")
    (tmp_path / "t2.txt").write_text("again\n")
    df = read_dataset(spark, ds(tmp_path / "t*.txt", "text"))
    assert df.columns == ["column1"] and sorted(r[0] for r in df.collect()) == ["again", "hello", "world"]


def test_missing_and_unreadable_sources_are_named(spark, tmp_path, monkeypatch):
    with pytest.raises(SourceError, match=r"imported dataset 3 \(src\): no such file or folder: .*nope.csv"):
        read_dataset(spark, ds(tmp_path / "nope.csv", "csv"))
    (tmp_path / "not.parquet").write_text("plain text")
    with pytest.raises(SourceError, match=r"imported dataset 3 \(src\): cannot read .*not.parquet as pqt"):
        read_dataset(spark, ds(tmp_path / "not.parquet", "pqt")).collect()
    monkeypatch.delitem(READERS, "json")
    with pytest.raises(SourceError, match=r"format 'json' cannot be read here; known: \["):
        read_dataset(spark, ds(tmp_path / "x.json", "json"))
