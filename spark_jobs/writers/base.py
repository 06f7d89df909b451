"""The writer interface: stage every output, then commit them all.

The runner stages each output (the Spark write happens here, into a location no reader looks
at), and only when every output of the job group has staged does it commit them, one after the
other. A commit is renames or one table transaction: cheap, and nothing that can fail on the
data. A failure or a cancel before that point aborts every staged output, so old results stay
byte-for-byte as they were and no staging debris is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from pyspark.sql import DataFrame, SparkSession

from spark_jobs.result import FileInfo
from spark_jobs.spec import Output


@dataclass
class WriteContext:
    spark: SparkSession
    job_group_id: int
    # Unique per run: names staging folders and appended part files so runs never collide.
    run_tag: str


@dataclass
class Committed:
    path: str
    files: list[FileInfo] = field(default_factory=list)
    delta_version: int | None = None


class Staged(Protocol):
    def commit(self) -> Committed: ...
    def abort(self) -> None: ...


class Writer(Protocol):
    def stage(self, df: DataFrame, output: Output, ctx: WriteContext) -> Staged: ...


WRITERS: dict[str, Callable[[], Writer]] = {}


def register(fmt: str):
    def deco(factory):
        WRITERS[fmt] = factory
        return factory

    return deco


def writer_for(fmt: str) -> Writer:
    try:
        return WRITERS[fmt]()
    except KeyError:
        raise ValueError(f"format {fmt!r} has no writer; known: {sorted(WRITERS)}") from None
