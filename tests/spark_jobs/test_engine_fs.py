"""File-system helpers, write options and staging names: pure functions by exact equality, and
both FS implementations (LocalFS with the os module, HadoopFS through the driver's JVM)."""

from __future__ import annotations

import bz2
import gzip
import os

import pytest

from spark_jobs import fs
from spark_jobs.spec import Output
from spark_jobs.writers.commit import compress, final_path, is_debris, staging_name, wait_for_tasks
from spark_jobs.writers.text import csv_header_line, csv_options, json_options


def test_path_helpers():
    assert fs.parent("/out/x.csv") == "/out"
    assert fs.parent("/x.csv") == "/"
    assert fs.parent("hdfs://nn/a/x") == "hdfs://nn/a"
    assert fs.parent("file:/x") == "file:/"
    assert fs.parent("s3a://b/k/x/") == "s3a://b/k"
    assert fs.basename("s3a://b/k/x/") == "x"
    assert fs.join("hdfs://nn/a/", "b", "c") == "hdfs://nn/a/b/c"
    assert fs.absolute("rel/x.csv") == os.path.join(os.getcwd(), "rel/x.csv")
    assert fs.absolute("s3a://b/x") == "s3a://b/x"
    assert fs.is_local("file:///x") and fs.is_local("/x") and fs.is_local("C:/x")
    assert not fs.is_local("abfss://c@a.dfs.core.windows.net/x")
    name = fs.hidden_sibling("/out/x.csv", "replaced")
    assert name.startswith("/out/.x.csv.replaced-") and len(name) == len("/out/.x.csv.replaced-") + 12


def test_final_path_and_staging_name():
    def out(**kw):
        return Output(jobId=1, action="create", **kw)

    assert final_path(out(path="/o/a.csv", format="csv", compression="gzip", asSingleFile=True)) == "/o/a.csv.gz"
    assert final_path(out(path="/o/a.csv.gz", format="csv", compression="gzip", asSingleFile=True)) == "/o/a.csv.gz"
    assert final_path(out(path="/o/a.json", format="json", compression="bzip2", asSingleFile=True)) == "/o/a.json.bz2"
    # A folder keeps its name; its part files get the ending.
    assert final_path(out(path="/o/a.csv/", format="csv", compression="gzip")) == "/o/a.csv"
    assert final_path(out(path="hdfs://nn/o/p", format="pqt")) == "hdfs://nn/o/p"
    assert staging_name("/o/a.csv.gz", 12, "abc") == "/o/.a.csv.gz.staging-12-abc"
    assert [is_debris(n) for n in ("_SUCCESS", ".part-0.crc", "_temporary", "part-0.csv")] == [True, True, True, False]


def test_write_options():
    o = Output(jobId=1, path="/o", action="create", format="csv", delim="\t", hasQuotes=True, compression="bzip2")
    assert csv_options(o, header=False) == {
        "sep": "\t", "quote": '"', "escape": '"', "quoteAll": "true", "header": "false",
        "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false", "compression": "bzip2",
        "encoding": "UTF-8", "lineSep": "\n", "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
        "timestampNTZFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSS",
    }
    j = Output(jobId=1, path="/o", action="create", format="json")
    assert json_options(j)["ignoreNullFields"] == "false" and json_options(j)["compression"] == "none"
    assert csv_header_line(["a", "b,c", 'd"e'], ",", False) == b'a,"b,c","d""e"\n'
    assert csv_header_line(["a", "b"], ";", True) == b'"a";"b"\n'


def test_compress_gives_whole_members():
    assert gzip.decompress(compress(b"h\n", "gzip") + gzip.compress(b"x\n")) == b"h\nx\n"
    assert bz2.decompress(compress(b"h\n", "bzip2") + bz2.compress(b"x\n")) == b"h\nx\n"
    assert compress(b"h\n", "none") == b"h\n" and compress(b"", "gzip") == b""
    with pytest.raises(ValueError, match="accepted none, gzip, bzip2"):
        compress(b"x", "zstd")


def _exercise(f: fs.FS, base: str) -> None:
    f.mkdirs(fs.join(base, "d1"))
    f.write_bytes(fs.join(base, "d1", "a"), b"alpha\n")
    f.write_bytes(fs.join(base, "d1", "b"), b"beta")
    assert f.read_bytes(fs.join(base, "d1", "a")) == b"alpha\n"
    assert f.tail(fs.join(base, "d1", "b"), 2) == b"ta" and f.tail(fs.join(base, "d1", "b"), 99) == b"beta"
    assert f.size(fs.join(base, "d1", "b")) == 4
    f.concat([fs.join(base, "d1", "a"), b"--", fs.join(base, "d1", "b")], fs.join(base, "joined"), prefix=b"P:")
    assert f.read_bytes(fs.join(base, "joined")) == b"P:alpha\n--beta"
    with pytest.raises(FileExistsError):
        f.rename(fs.join(base, "d1", "a"), fs.join(base, "d1", "b"))
    # replace: file over file, folder over a non-empty folder, file over folder
    f.write_bytes(fs.join(base, "new"), b"new")
    f.replace(fs.join(base, "new"), fs.join(base, "joined"))
    assert f.read_bytes(fs.join(base, "joined")) == b"new" and not f.exists(fs.join(base, "new"))
    f.mkdirs(fs.join(base, "d2"))
    f.write_bytes(fs.join(base, "d2", "c"), b"c")
    f.replace(fs.join(base, "d2"), fs.join(base, "d1"))
    assert [e.name for e in f.list(fs.join(base, "d1")) if not e.name.startswith(".")] == ["c"]
    f.replace(fs.join(base, "joined"), fs.join(base, "d1"))
    assert not f.is_dir(fs.join(base, "d1")) and f.read_bytes(fs.join(base, "d1")) == b"new"
    visible = sorted(e.name for e in f.list(base) if not e.name.startswith("."))
    assert visible == ["d1"]
    f.delete(fs.join(base, "d1"))
    assert not f.exists(fs.join(base, "d1"))


def test_local_fs(tmp_path):
    _exercise(fs.LocalFS(), str(tmp_path))
    assert os.listdir(tmp_path) == []  # nothing aside, no temporaries


def test_hadoop_fs_through_the_jvm(spark, tmp_path):
    _exercise(fs.HadoopFS(spark), f"file://{tmp_path}")
    # Hadoop's checksummed local FS leaves .crc files; nothing else.
    assert all(n.startswith(".") and n.endswith(".crc") for n in os.listdir(tmp_path))


def test_for_path_picks_by_scheme_and_default_fs(spark):
    assert isinstance(fs.for_path("file:/x", spark), fs.LocalFS)
    assert isinstance(fs.for_path("/x", spark), fs.LocalFS)  # the default FS is file: here
    assert isinstance(fs.for_path("/Volumes/c/s/v/x", spark), fs.LocalFS)
    assert isinstance(fs.for_path("hdfs://nn:8020/x", spark), fs.HadoopFS)


def test_wait_for_tasks_returns_at_once_when_nothing_runs(spark):
    clock = iter(range(1000)).__next__
    assert wait_for_tasks(spark, timeout=5, clock=lambda: float(clock()), sleep=lambda s: None) is True
