"""Shared by the engine's tests: tricky data, spec building, and independent read-back.

Everything read back here uses Python's csv, gzip, bz2 and json modules and pyarrow, never
Spark, so a writer cannot pass by agreeing with its own reader.
"""

from __future__ import annotations

import bz2
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

UTC = dt.timezone.utc

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("amount", pa.float64()),
        ("qty", pa.int32()),
        ("flag", pa.bool_()),
        ("day", pa.date32()),
        ("ts", pa.timestamp("us", tz="UTC")),
    ]
)
COLUMNS = SCHEMA.names


def _row(i, name, amount=1.5, qty=3, flag=True, day=dt.date(2024, 2, 29),
         ts=dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)):
    return {"id": i, "name": name, "amount": amount, "qty": qty, "flag": flag, "day": day, "ts": ts}


# Values that break naive csv writers: delimiters, quotes, line breaks, blanks, non-ASCII.
TRICKY = [
    _row(1, "plain"),
    _row(2, "comma, inside", amount=-2.25, qty=-7, flag=False),
    _row(3, 'quote " inside', amount=1000.0, qty=0),
    _row(4, "new\nline", ts=dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    _row(5, "  lead and trail  "),
    _row(6, "", amount=None, qty=None, flag=None, day=None, ts=None),
    _row(7, None),
    _row(8, "ünïcødé ✓ 日本"),
    _row(9, 'back\\slash "q"'),
    _row(10, '"starts with a quote'),
    _row(11, "cr\r\nlf"),
    _row(12, "semi;colon\ttab"),
]

OLD = [_row(100 + i, f"old {i}", amount=float(i), qty=i) for i in range(3)]


def write_input(folder: Path, rows: list[dict], files: int = 3) -> str:
    """rows as a folder of ``files`` parquet files (written by pyarrow): several partitions."""
    folder.mkdir(parents=True, exist_ok=True)
    step = max(1, -(-len(rows) // files))
    for n, start in enumerate(range(0, len(rows), step)):
        table = pa.Table.from_pylist(rows[start:start + step], schema=SCHEMA)
        pq.write_table(table, folder / f"part-{n:02d}.parquet")
    return str(folder)


def spec(tmp: Path, input_uri: str, outputs: list[dict], group: int = 7, recipe=None,
         fmt: str = "pqt", options: dict | None = None, **extra) -> dict:
    imported = {"kind": "imported", "id": 1, "name": "input", "uri": input_uri, "format": fmt}
    if options:
        imported["options"] = options
    outs = []
    for n, o in enumerate(outputs):
        outs.append({"jobId": 10 + n, **o})
    return {
        "jobGroupId": group,
        "jobs": {"wrangle": 1},
        "datasets": [
            imported,
            {"kind": "wrangled", "id": 2, "input": {"kind": "imported", "id": 1}, "recipe": recipe or []},
        ],
        "target": 2,
        "outputs": outs,
        "resultUri": str(tmp / f"result-{group}.json"),
        **extra,
    }


# -- value forms ------------------------------------------------------------------------------

def ts_text(v: dt.datetime) -> str:
    return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def csv_text(v) -> str:
    """How a value appears in a csv cell (as Python's csv module reads it back)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return ts_text(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def csv_rows(rows: list[dict]) -> list[list[str]]:
    return [[csv_text(r[c]) for c in COLUMNS] for r in rows]


def json_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        d = {}
        for c in COLUMNS:
            v = r[c]
            if isinstance(v, dt.datetime):
                v = ts_text(v)
            elif isinstance(v, dt.date):
                v = v.isoformat()
            d[c] = v
        out.append(d)
    return out


# -- reading outputs back ---------------------------------------------------------------------

def decompress(path: Path) -> bytes:
    """gzip and bzip2 by extension; both modules read concatenated members / streams."""
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    if path.name.endswith(".bz2"):
        with bz2.open(path, "rb") as f:
            return f.read()
    return path.read_bytes()


def part_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir())


def read_csv_file(path: Path, delim: str, header: bool) -> tuple[list[str] | None, list[list[str]]]:
    text = decompress(path).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    if header:
        return rows[0], rows[1:]
    return None, rows


def read_csv_output(path: Path, delim: str, header: bool) -> list[list[str]]:
    """Every data row of a csv output (a file, or a folder of parts each with its header)."""
    files = [path] if path.is_file() else part_files(path)
    rows = []
    for f in files:
        head, body = read_csv_file(f, delim, header)
        if header:
            assert head == COLUMNS, f"{f}: header {head}"
        rows.extend(body)
    return rows


def read_json_output(path: Path) -> list[dict]:
    files = [path] if path.is_file() else part_files(path)
    rows = []
    for f in files:
        for line in decompress(f).decode("utf-8").splitlines():
            rows.append(json.loads(line))
    return rows


def read_parquet_output(path: Path) -> list[dict]:
    rows = []
    for f in part_files(path):
        rows.extend(pq.read_table(f).to_pylist())
    for r in rows:
        ts = r.get("ts")
        if isinstance(ts, dt.datetime) and ts.tzinfo is None:
            r["ts"] = ts.replace(tzinfo=UTC)  # INT96 timestamps come back without a zone
    return rows


def by_id_csv(rows: list[list[str]]) -> list[list[str]]:
    return sorted(rows, key=lambda r: int(r[0]))


def by_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["id"])


# -- the state of a folder --------------------------------------------------------------------

def snapshot(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under root (folders implied)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def hidden_entries(root: Path) -> list[str]:
    """Anything a run should not leave: dot files/folders (staging, .crc), _SUCCESS, _temporary."""
    bad = []
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            if name.startswith((".", "_")):
                bad.append(str(Path(dirpath) / name))
    return bad
