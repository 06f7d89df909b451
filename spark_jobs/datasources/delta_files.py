"""What a Delta ``add`` action says about a parquet file: partition values, path, statistics.

Pure functions (no Spark, no I/O) following the Delta transaction protocol:

- partition folders are Hive style, ``col=value`` with the value escaped as Spark escapes it
  (``ExternalCatalogUtils.escapePathName``), a null as ``__HIVE_DEFAULT_PARTITION__``;
- partition values in the log are strings ("Partition Value Serialization"), a null as None;
- an add action's ``path`` in the log is a relative URI (the escaped folder name encoded once
  more); delta-rs does that encoding, so the paths handed to it are plain relative paths;
- ``stats`` is JSON: ``numRecords``, and per column ``nullCount``, ``minValues``, ``maxValues``
  (numbers, dates, timestamps, strings; a timestamp bound is widened to whole milliseconds and a
  string longer than 32 characters gets only a prefix as its minimum, as delta-spark does).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Iterable

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
STRING_PREFIX = 32
# Characters Hive and Spark escape in a partition folder name.
_ESCAPED = set('"#%\'*/:=?\\\x7f{[]^') | {chr(c) for c in range(1, 32)}


def escape_path_name(value: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


def partition_value(value: Any) -> str | None:
    """A partition column's value as the Delta log holds it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return value.isoformat(sep="T", timespec="microseconds") + "Z"
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        raise ValueError("a binary column cannot be a partition column")
    return str(value)


def partition_dir(columns: list[str], values: Iterable[str | None]) -> str:
    """``a=1/b=x`` for one combination of partition values ("" for an unpartitioned table)."""
    return "/".join(
        f"{escape_path_name(c)}={NULL_PARTITION if v is None else escape_path_name(v)}"
        for c, v in zip(columns, values)
    )


# -- statistics ----------------------------------------------------------------------------------

def _millis_floor(t: dt.datetime) -> dt.datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _millis_ceil(t: dt.datetime) -> dt.datetime:
    floor = _millis_floor(t)
    return floor if floor == t else floor + dt.timedelta(milliseconds=1)


def _timestamp_text(t: dt.datetime) -> str:
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return t.isoformat(timespec="milliseconds") + "Z"
    return t.isoformat(timespec="milliseconds")


def _bound(value: Any, is_max: bool) -> Any:
    """A statistics bound in its JSON form, or None when the value gets none."""
    if value is None or isinstance(value, (bool, bytes)):
        return None
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dt.datetime):
        return _timestamp_text(_millis_ceil(value) if is_max else _millis_floor(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        if len(value) <= STRING_PREFIX:
            return value
        return None if is_max else value[:STRING_PREFIX]
    if isinstance(value, (int, Decimal)):
        return value
    return None


def merge_column_stats(row_groups: Iterable[dict[str, tuple[Any, Any, int | None]]]) -> dict[str, tuple]:
    """Per column (min, max, nulls) over a file's row groups; a bound unknown in any row group
    is unknown for the file."""
    out: dict[str, list] = {}
    for rg in row_groups:
        for col, (lo, hi, nulls) in rg.items():
            if col not in out:
                out[col] = [lo, hi, nulls]
                continue
            cur = out[col]
            cur[0] = None if lo is None or cur[0] is None else min(cur[0], lo)
            cur[1] = None if hi is None or cur[1] is None else max(cur[1], hi)
            cur[2] = None if nulls is None or cur[2] is None else cur[2] + nulls
    return {k: tuple(v) for k, v in out.items()}


def stats_json(num_records: int, columns: dict[str, tuple[Any, Any, int | None]]) -> str:
    """The ``stats`` string of an add action. Decimals are written as exact JSON numbers."""
    mins, maxs, nulls = {}, {}, {}
    for col, (lo, hi, n) in columns.items():
        if n is not None:
            nulls[col] = n
        lo_b, hi_b = _bound(lo, False), _bound(hi, True)
        if lo_b is not None:
            mins[col] = lo_b
        if hi_b is not None:
            maxs[col] = hi_b
    parts = [f'"numRecords":{int(num_records)}']
    for name, values in (("minValues", mins), ("maxValues", maxs), ("nullCount", nulls)):
        body = ",".join(f"{json.dumps(k)}:{_json_value(v)}" for k, v in values.items())
        parts.append(f'"{name}":{{{body}}}')
    return "{" + ",".join(parts) + "}"


def _json_value(v: Any) -> str:
    if isinstance(v, Decimal):
        return format(v, "f")
    return json.dumps(v, ensure_ascii=False)
