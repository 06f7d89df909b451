"""An Avro source and sink on Spark's Python Data Source API, for runtimes without spark-avro.

A plain pip-installed pyspark has no ``avro`` source (the spark-avro jar is separate and Maven is
not always reachable). This one is registered as ``pyavro``:

- **write**: a ``DataSourceArrowWriter``; each task gets its partition as Arrow record batches,
  encodes them column-wise with numpy (``avro_encode``) and writes one Avro object container file
  per non-empty partition under ``<path>/_temporary/<writeId>/``. The driver's ``commit`` moves
  them into ``<path>`` (``overwrite`` first removes what was there); ``abort`` removes the write's
  temporary folder. Default codec ``snappy``, as Spark's avro and parquet writers default to.
- **read**: one partition per file, decoded with fastavro into Arrow record batches.

Options: ``path``; ``compression`` (``uncompressed``, ``snappy``, ``deflate``) for writes.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Iterator

from pyspark.sql.datasource import (
    DataSource,
    DataSourceArrowWriter,
    DataSourceReader,
    InputPartition,
    WriterCommitMessage,
)
from pyspark.sql.types import StructType

from spark_jobs.datasources import files
from spark_jobs.datasources.avro_schema import avro_to_spark, spark_to_avro

NAME = "pyavro"
DEFAULT_CODEC = "snappy"
READ_BATCH_ROWS = 10_000
_CODEC_ALIASES = {"uncompressed": "null", "none": "null"}


def codec_option(value: str | None) -> str:
    from spark_jobs.datasources.avro_encode import CODECS

    codec = _CODEC_ALIASES.get((value or DEFAULT_CODEC).lower(), (value or DEFAULT_CODEC).lower())
    if codec not in CODECS:
        raise ValueError(f"avro compression {value!r} is not supported; known: uncompressed, {', '.join(CODECS)}")
    return codec


def part_name(partition: int, write_id: str) -> str:
    return f"part-{partition:05d}-{write_id}-c000.avro"


@dataclass
class AvroPart(WriterCommitMessage):
    partition: int
    temp_path: str | None  # None: the partition had no rows, so no file
    rows: int


class AvroDataSource(DataSource):
    @classmethod
    def name(cls) -> str:
        return NAME

    def _path(self) -> str:
        path = self.options.get("path")
        if not path:
            raise ValueError(f"{NAME}: a path is required (save(path) / load(path))")
        return files.resolve(path)

    def schema(self) -> StructType:
        from fastavro import reader

        paths = files.data_files(self._path())
        if not paths:
            raise ValueError(f"{NAME}: no Avro files at {self._path()} to take a schema from")
        with files.open_input(paths[0]) as f:
            return avro_to_spark(reader(f).writer_schema)

    def reader(self, schema: StructType) -> "AvroReader":
        return AvroReader(self._path(), schema)

    def writer(self, schema: StructType, overwrite: bool) -> "AvroArrowWriter":
        return AvroArrowWriter(self._path(), schema, overwrite, codec_option(self.options.get("compression")))


class AvroArrowWriter(DataSourceArrowWriter):
    def __init__(self, path: str, schema: StructType, overwrite: bool, codec: str):
        self.path = path
        self.overwrite = overwrite
        self.codec = codec
        self.avro_schema = spark_to_avro(schema)  # on the driver: a bad type fails before any task
        self.write_id = uuid.uuid4().hex
        self.temp_dir = files.join(path, "_temporary", self.write_id)

    # -- executors ---------------------------------------------------------------------------
    def write(self, iterator: Iterator) -> AvroPart:
        from pyspark import TaskContext

        from spark_jobs.datasources.avro_encode import block, encode_batch, file_header

        ctx = TaskContext.get()
        partition = ctx.partitionId() if ctx else 0
        attempt = ctx.attemptNumber() if ctx else 0
        temp = files.join(self.temp_dir, f"{part_name(partition, self.write_id)}.{attempt}")
        field_types = [f["type"] for f in self.avro_schema["fields"]]
        sync = os.urandom(16)
        rows = 0
        out = None
        try:
            for batch in iterator:
                if batch.num_rows == 0:
                    continue
                if out is None:
                    out = files.open_output(temp)
                    out.write(file_header(self.avro_schema, self.codec, sync))
                for piece in block(batch.num_rows, encode_batch(batch, field_types), self.codec, sync):
                    out.write(piece)
                rows += batch.num_rows
        except BaseException:
            if out is not None:
                out.close()
                files.delete(temp)
            raise
        if out is None:
            return AvroPart(partition, None, 0)
        out.close()
        return AvroPart(partition, temp, rows)

    # -- driver ------------------------------------------------------------------------------
    def commit(self, messages: list) -> None:
        parts = [m for m in messages if isinstance(m, AvroPart) and m.temp_path]
        if self.overwrite:
            for entry in files.visible_entries(self.path):
                files.delete(entry)
        for m in parts:
            files.move(m.temp_path, files.join(self.path, part_name(m.partition, self.write_id)))
        if not parts and not files.visible_entries(self.path):
            # No rows at all: one header-only file keeps the schema readable.
            self._write_empty(files.join(self.path, part_name(0, self.write_id)))
        self._clean()

    def abort(self, messages: list) -> None:
        self._clean()

    def _write_empty(self, uri: str) -> None:
        from spark_jobs.datasources.avro_encode import file_header

        with files.open_output(uri) as out:
            out.write(file_header(self.avro_schema, self.codec, os.urandom(16)))

    def _clean(self) -> None:
        files.delete(self.temp_dir)
        files.delete_if_empty(files.join(self.path, "_temporary"))


class AvroReader(DataSourceReader):
    def __init__(self, path: str, schema: StructType):
        self.path = path
        self.schema = schema

    def partitions(self) -> list[InputPartition]:
        return [InputPartition(p) for p in files.data_files(self.path)]

    def read(self, partition: InputPartition) -> Iterator:
        import pyarrow as pa
        from fastavro import reader
        from pyspark.sql.pandas.types import to_arrow_schema

        arrow_schema = to_arrow_schema(self.schema, timezone="UTC")
        with files.open_input(partition.value) as f:
            rows = []
            for record in reader(f):
                rows.append(record)
                if len(rows) == READ_BATCH_ROWS:
                    yield pa.RecordBatch.from_pylist(rows, schema=arrow_schema)
                    rows = []
            if rows:
                yield pa.RecordBatch.from_pylist(rows, schema=arrow_schema)


def register(spark) -> None:
    """Make ``format(NAME)`` known to this session and usable from this thread."""
    from spark_jobs.datasources import ensure_registered

    ensure_registered(spark, AvroDataSource)
