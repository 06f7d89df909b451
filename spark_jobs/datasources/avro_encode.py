"""Arrow record batches -> Avro binary, column by column with numpy (no per-row Python).

Avro is row oriented: a record is its fields' encodings one after the other. Each column is
encoded on its own into *segments* (per-row byte lengths plus the bytes of all rows back to
back), and ``interleave`` joins the segments row by row. A per-row writer (fastavro with a
dict per record) spends its time in the interpreter; here the work is a few numpy passes per
column, so the cost tracks the byte count instead.

Encodings follow the Avro 1.11 specification: ``int``/``long`` as zig-zag varints, ``float``
and ``double`` as little-endian IEEE 754, ``boolean`` as one byte, ``bytes``/``string`` as a
long length then the bytes, a ``["T", "null"]`` union as the branch index (a long) then the
value. Types with no vectorised encoder (arrays, maps, structs) are encoded per value with
fastavro's ``schemaless_writer``: correct, just slower.
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAGIC = b"Obj\x01"
CODECS = ("null", "deflate", "snappy")


@dataclass
class Segment:
    """One column's share of every row: ``lengths[i]`` bytes of ``data`` belong to row i.

    ``width`` is set when every row has the same length (fixed-width values, no nulls): the
    offsets are then a multiple of the row number, no cumulative sum needed.
    """

    lengths: np.ndarray
    data: np.ndarray
    width: int | None = None


# -- scalar encodings ---------------------------------------------------------------------------

def zigzag_varints(values: np.ndarray) -> Segment:
    """Avro ``long`` encoding of every value: zig-zag, then 7 bits a byte, low bits first."""
    v = values.astype(np.int64, copy=False)
    z = ((v << 1) ^ (v >> 63)).view(np.uint64)
    n = len(z)
    if n == 0:
        return Segment(np.zeros(0, np.int64), np.zeros(0, np.uint8))
    zmax = int(z.max())
    lengths = np.ones(n, np.int64)
    width = 1
    for k in range(1, 10):
        if zmax < (1 << (7 * k)):
            break
        lengths += z >= np.uint64(1 << (7 * k))
        width = k + 1
    if width == 1:
        return Segment(lengths, z.astype(np.uint8), 1)
    grid = np.empty((n, width), np.uint8)
    rest = z.copy()
    for k in range(width):
        byte = (rest & np.uint64(0x7F)).astype(np.uint8)
        if k < width - 1:
            byte |= (lengths > k + 1).astype(np.uint8) << 7
        grid[:, k] = byte
        rest >>= np.uint64(7)
    if int(lengths.min()) == width:
        return Segment(lengths, grid.reshape(-1), width)
    return Segment(lengths, grid[np.arange(width) < lengths[:, None]])


def varint(n: int) -> bytes:
    """One Avro ``long`` (headers and block counts)."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _fixed(values: np.ndarray, dtype: str) -> Segment:
    raw = np.ascontiguousarray(values.astype(dtype, copy=False)).view(np.uint8)
    width = np.dtype(dtype).itemsize
    return Segment(np.full(len(values), width, np.int64), raw.reshape(-1), width)


def _length_prefixed(lengths: np.ndarray, data: np.ndarray) -> list[Segment]:
    return [zigzag_varints(lengths), Segment(lengths.astype(np.int64, copy=False), data)]


def _binary_parts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per-value byte lengths and the values' bytes back to back, straight from Arrow buffers."""
    if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        off_type = np.int64
    else:
        off_type = np.int32
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, off_type)[arr.offset: arr.offset + len(arr) + 1]
    lengths = np.diff(offsets).astype(np.int64)
    if data_buf is None or len(arr) == 0:
        return lengths, np.zeros(0, np.uint8)
    data = np.frombuffer(data_buf, np.uint8)[offsets[0]: offsets[-1]]
    return lengths, data


def _decimal_parts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Minimal big-endian two's complement of each unscaled value (as Java's BigInteger)."""
    n = len(arr)
    raw = np.frombuffer(arr.buffers()[1], np.uint8).reshape(-1, 16)[arr.offset: arr.offset + n]
    be = raw[:, ::-1]
    negative = be[:, 0] >= 0x80
    fill = np.where(negative, 0xFF, 0x00).astype(np.uint8)
    is_fill = be == fill[:, None]
    all_fill = is_fill.all(axis=1)
    lead = np.where(all_fill, 16, np.argmin(is_fill, axis=1))
    # Keep one sign byte when the first kept byte's top bit would flip the sign (and for 0 / -1).
    first_kept = be[np.arange(n), np.minimum(lead, 15)]
    keep_sign = all_fill | ((first_kept >= 0x80) != negative)
    start = np.where(keep_sign, lead - 1, lead)
    lengths = (16 - start).astype(np.int64)
    return lengths, be[np.arange(16) >= start[:, None]]


# -- columns -------------------------------------------------------------------------------------

def _value_segments(arr: pa.Array, avro_type: Any) -> list[Segment]:
    """Segments for the non-null values of ``arr`` (nulls already dropped)."""
    t = arr.type
    if pa.types.is_boolean(t):
        return [_fixed(arr.to_numpy(zero_copy_only=False), "u1")]
    if pa.types.is_integer(t):
        return [zigzag_varints(arr.to_numpy(zero_copy_only=False))]
    if pa.types.is_float32(t):
        return [_fixed(arr.to_numpy(zero_copy_only=False), "<f4")]
    if pa.types.is_float64(t):
        return [_fixed(arr.to_numpy(zero_copy_only=False), "<f8")]
    if pa.types.is_date32(t):
        return [zigzag_varints(arr.cast(pa.int32()).to_numpy(zero_copy_only=False))]
    if pa.types.is_timestamp(t):
        if t.unit != "us":
            arr = arr.cast(pa.timestamp("us", t.tz))
        return [zigzag_varints(arr.cast(pa.int64()).to_numpy(zero_copy_only=False))]
    if pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        return _length_prefixed(*_binary_parts(arr))
    if pa.types.is_decimal128(t):
        return _length_prefixed(*_decimal_parts(arr))
    if pa.types.is_null(t):
        return []
    return [_fastavro_values(arr, avro_type)]


def _fastavro_values(arr: pa.Array, avro_type: Any) -> Segment:
    """Any other type (arrays, maps, structs): one fastavro call per value."""
    from fastavro import parse_schema, schemaless_writer

    schema = parse_schema(avro_type, named_schemas={})
    lengths = np.empty(len(arr), np.int64)
    buf = io.BytesIO()
    for i, value in enumerate(arr.to_pylist()):
        before = buf.tell()
        schemaless_writer(buf, schema, _maps_as_dicts(value))
        lengths[i] = buf.tell() - before
    return Segment(lengths, np.frombuffer(buf.getvalue(), np.uint8))


def _maps_as_dicts(value: Any) -> Any:
    # Arrow hands a map value over as a list of (key, value) pairs; fastavro wants a dict.
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {k: _maps_as_dicts(v) for k, v in value}
        return [_maps_as_dicts(v) for v in value]
    if isinstance(value, dict):
        return {k: _maps_as_dicts(v) for k, v in value.items()}
    return value


def _spread(seg: Segment, valid: np.ndarray) -> Segment:
    """Give null rows a zero length: the values' bytes stay as they are."""
    lengths = np.zeros(len(valid), np.int64)
    lengths[valid] = seg.lengths
    return Segment(lengths, seg.data)


def column_segments(arr: pa.Array, avro_type: Any) -> list[Segment]:
    """Every segment one column adds to each row, union branch index included."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    nullable = isinstance(avro_type, list)
    if not nullable:
        if arr.null_count:
            raise ValueError("a column declared not nullable holds nulls")
        return _value_segments(arr, avro_type)
    value_type = next(t for t in avro_type if t != "null")
    null_branch = avro_type.index("null")
    value_branch = 1 - null_branch
    if arr.null_count == 0:
        tag = Segment(np.ones(n, np.int64), np.full(n, value_branch * 2, np.uint8), 1)
        return [tag, *_value_segments(arr, value_type)]
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    tags = np.where(valid, value_branch * 2, null_branch * 2).astype(np.uint8)
    tag = Segment(np.ones(n, np.int64), tags, 1)
    values = _value_segments(arr.drop_null(), value_type)
    return [tag, *(_spread(s, valid) for s in values)]


def interleave(segments: list[Segment], n: int) -> pa.Buffer | np.ndarray:
    """Rows of the block: for each row, its bytes from every segment in order.

    Each segment becomes an Arrow binary array (zero-copy: its lengths are the offsets) and
    Arrow's ``binary_join_element_wise`` concatenates them row by row in C++ — about three times
    faster than a numpy scatter with a per-byte index.
    """
    if n == 0 or not segments:
        return np.zeros(0, np.uint8)
    total = sum(len(seg.data) for seg in segments)
    large = total >= 2**31 - 1
    arrays = [_binary_array(seg, n, large) for seg in segments]
    if len(arrays) == 1:
        arrays.append(_binary_array(Segment(np.zeros(n, np.int64), np.zeros(0, np.uint8), 0), n, large))
    joined = pc.binary_join_element_wise(*arrays, b"")
    offsets = np.frombuffer(joined.buffers()[1], np.int64 if large else np.int32)
    start, stop = int(offsets[joined.offset]), int(offsets[joined.offset + n])
    return joined.buffers()[2][start:stop]


def _binary_array(seg: Segment, n: int, large: bool) -> pa.Array:
    offsets = np.zeros(n + 1, np.int64 if large else np.int32)
    if seg.width is not None:
        offsets[1:] = np.arange(1, n + 1, dtype=offsets.dtype) * seg.width
    else:
        np.cumsum(seg.lengths, out=offsets[1:])
    kind = pa.large_binary() if large else pa.binary()
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(seg.data)])


def encode_batch(batch: pa.RecordBatch, field_types: list[Any]) -> bytes | np.ndarray:
    """The Avro binary of every record in ``batch`` (no block framing)."""
    segments: list[Segment] = []
    for i, avro_type in enumerate(field_types):
        try:
            segments.extend(column_segments(batch.column(i), avro_type))
        except ValueError as e:
            raise ValueError(f"avro: column {batch.schema.names[i]!r}: {e}") from None
    return interleave(segments, batch.num_rows)


# -- the object container file -------------------------------------------------------------------

def compress(raw, codec: str) -> bytes:
    if codec == "null":
        return raw
    if codec == "deflate":
        c = zlib.compressobj(6, zlib.DEFLATED, -15)  # raw deflate, no zlib header (Avro spec)
        return c.compress(raw) + c.flush()
    if codec == "snappy":
        # Snappy block, then the CRC-32 of the uncompressed data, big-endian (Avro spec).
        packed = pa.Codec("snappy").compress(raw, asbytes=True)
        return packed + (zlib.crc32(raw) & 0xFFFFFFFF).to_bytes(4, "big")
    raise ValueError(f"avro codec {codec!r} is not supported; known: {', '.join(CODECS)}")


def file_header(schema: dict, codec: str, sync: bytes) -> bytes:
    meta = {"avro.schema": json.dumps(schema, separators=(",", ":")).encode(), "avro.codec": codec.encode()}
    out = bytearray(MAGIC)
    out += varint(len(meta))
    for key, value in meta.items():
        out += varint(len(key)) + key.encode() + varint(len(value)) + value
    out += varint(0)
    out += sync
    return bytes(out)


def block(count: int, raw, codec: str, sync: bytes) -> list:
    """One data block's parts, to be written one after the other (no copy of the payload)."""
    payload = compress(raw, codec)
    return [varint(count) + varint(len(payload)), payload, sync]
