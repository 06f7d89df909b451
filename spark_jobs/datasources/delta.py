"""Parquet files for a Delta table, written by the executors (``pydelta`` Python Data Source).

For runtimes without delta-spark. Each task receives its partition as Arrow record batches and
writes snappy parquet files straight into the table folder (one per partition-value combination
it sees, under ``col=value/`` folders), as Delta writers do: a file the log does not name is
invisible to every Delta reader. The task's commit message describes each file as an ``add``
action (relative path, size, partition values, statistics from the parquet footer).

The driver-side ``commit`` only writes those descriptions to the ``manifest`` file: the Delta
transaction itself is made later by the output's commit (``spark_jobs.writers.delta``), after
every output of the job has staged, in the driver's own process (where ``deltalake`` runs).
``abort`` deletes the files the tasks wrote.

Options: ``path`` (table root), ``writeId`` (in every file name), ``partitionBy`` (JSON list),
``manifest`` (where commit writes the add actions as JSON).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Iterator

from pyspark.sql.datasource import DataSource, DataSourceArrowWriter, WriterCommitMessage
from pyspark.sql.types import StructType

from spark_jobs.datasources import files

NAME = "pydelta"
# Rows buffered per row group: Spark hands over 10k-row batches, far too small for parquet.
ROW_GROUP_BYTES = 64 << 20


def part_name(partition: int, write_id: str, attempt: int, seq: int) -> str:
    return f"part-{partition:05d}-{write_id}-{attempt}-{seq:03d}.c000.snappy.parquet"


@dataclass
class DeltaParts(WriterCommitMessage):
    files: list[dict] = field(default_factory=list)


class DeltaDataSource(DataSource):
    @classmethod
    def name(cls) -> str:
        return NAME

    def writer(self, schema: StructType, overwrite: bool) -> "DeltaParquetWriter":
        o = self.options
        missing = [k for k in ("path", "writeId", "manifest") if not o.get(k)]
        if missing:
            raise ValueError(f"{NAME}: options {missing} are required (set by spark_jobs.writers.delta)")
        return DeltaParquetWriter(
            table=files.resolve(o["path"]),
            schema=schema,
            write_id=o["writeId"],
            partition_by=json.loads(o.get("partitionBy") or "[]"),
            manifest=o["manifest"],
        )


class _OpenFile:
    """One parquet file being written: batches buffered into row groups of ~ROW_GROUP_BYTES."""

    def __init__(self, uri: str, relative: str, partition_values: dict):
        self.uri = uri
        self.relative = relative
        self.partition_values = partition_values
        self.pending: list = []
        self.pending_bytes = 0
        self.rows = 0
        self.stream = None
        self.writer = None

    def add(self, batch) -> None:
        self.pending.append(batch)
        self.pending_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self.pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.pending:
            return
        table = pa.Table.from_batches(self.pending)
        if self.writer is None:
            self.stream = files.open_output(self.uri)
            self.writer = pq.ParquetWriter(self.stream, table.schema, compression="snappy")
        self.writer.write_table(table, row_group_size=table.num_rows)
        self.pending, self.pending_bytes = [], 0

    def close(self) -> dict:
        from spark_jobs.datasources.delta_files import merge_column_stats, stats_json

        self._flush()
        self.writer.close()
        self.stream.close()
        metadata = self.writer.writer.metadata
        return {
            # Decoded: delta-rs percent-encodes it into the log as the protocol wants.
            "path": self.relative,
            "size": files.size(self.uri),
            "partitionValues": self.partition_values,
            "modificationTime": int(time.time() * 1000),
            "stats": stats_json(metadata.num_rows, merge_column_stats(_row_group_stats(metadata))),
            "rows": self.rows,
        }

    def discard(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
            if self.stream is not None:
                self.stream.close()
        finally:
            files.delete(self.uri)


def _row_group_stats(metadata) -> Iterator[dict]:
    for i in range(metadata.num_row_groups):
        rg = metadata.row_group(i)
        out = {}
        for j in range(rg.num_columns):
            col = rg.column(j)
            if "." in col.path_in_schema:
                continue  # nested fields: no statistics
            st = col.statistics
            if st is None:
                out[col.path_in_schema] = (None, None, None)
                continue
            lo, hi = (st.min, st.max) if st.has_min_max else (None, None)
            out[col.path_in_schema] = (lo, hi, st.null_count if st.has_null_count else None)
        yield out


def split_by_partition(batch, columns: list[str]):
    """(values per partition column, rows of ``batch`` with those values, partition columns
    dropped) for each combination present; nulls are a value of their own."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    data_names = [n for n in batch.schema.names if n not in columns]
    codes = np.zeros(batch.num_rows, np.int64)
    dictionaries = []
    for name in columns:
        encoded = pc.dictionary_encode(batch.column(name), null_encoding="encode")
        size = len(encoded.dictionary)
        codes = codes * size + encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        dictionaries.append(encoded)
    order = np.argsort(codes, kind="stable")
    _, starts = np.unique(codes[order], return_index=True)
    bounds = list(starts) + [len(order)]
    for g in range(len(starts)):
        rows = order[bounds[g]: bounds[g + 1]]
        first = int(rows[0])
        values = [batch.column(name)[first].as_py() for name in columns]
        piece = batch.select(data_names).take(pa.array(rows))
        yield values, piece


class DeltaParquetWriter(DataSourceArrowWriter):
    def __init__(self, table: str, schema: StructType, write_id: str, partition_by: list[str], manifest: str):
        unknown = [c for c in partition_by if c not in schema.names]
        if unknown:
            raise ValueError(f"partitionBy names columns that are not in the data: {unknown}")
        if partition_by and len(partition_by) == len(schema.names):
            raise ValueError("partitionBy cannot name every column: the data files would hold none")
        self.table = table
        self.write_id = write_id
        self.partition_by = partition_by
        self.manifest = manifest

    # -- executors ---------------------------------------------------------------------------
    def write(self, iterator: Iterator) -> DeltaParts:
        from pyspark import TaskContext

        from spark_jobs.datasources.delta_files import partition_dir, partition_value

        ctx = TaskContext.get()
        partition = ctx.partitionId() if ctx else 0
        attempt = ctx.attemptNumber() if ctx else 0
        open_files: dict[tuple, _OpenFile] = {}

        def target(values: list) -> _OpenFile:
            key = tuple(partition_value(v) for v in values)
            if key not in open_files:
                folder = partition_dir(self.partition_by, key)
                name = part_name(partition, self.write_id, attempt, len(open_files))
                relative = f"{folder}/{name}" if folder else name
                open_files[key] = _OpenFile(files.join(self.table, relative), relative,
                                            dict(zip(self.partition_by, key)))
            return open_files[key]

        try:
            for batch in iterator:
                if batch.num_rows == 0:
                    continue
                if not self.partition_by:
                    target([]).add(batch)
                    continue
                for values, piece in split_by_partition(batch, self.partition_by):
                    target(values).add(piece)
            return DeltaParts([f.close() for f in open_files.values()])
        except BaseException:
            for f in open_files.values():
                try:
                    f.discard()
                except Exception:  # noqa: BLE001 - the original error is the one to report
                    pass
            raise

    # -- driver ------------------------------------------------------------------------------
    def commit(self, messages: list) -> None:
        added = [f for m in messages if isinstance(m, DeltaParts) for f in m.files]
        with files.open_output(self.manifest) as out:
            out.write(json.dumps(added).encode())

    def abort(self, messages: list) -> None:
        for m in messages:
            if isinstance(m, DeltaParts):
                for f in m.files:
                    files.delete(files.join(self.table, f["path"]))


def register(spark) -> None:
    """Make ``format(NAME)`` known to this session and usable from this thread."""
    from spark_jobs.datasources import ensure_registered

    ensure_registered(spark, DeltaDataSource)
