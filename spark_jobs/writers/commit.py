"""Staging and committing file outputs: the part every file writer (csv, json, parquet, avro) shares.

While a job runs, an output bound for ``<parent>/<name>`` lives in a hidden sibling:

    <parent>/.<name>.staging-<jobGroupId>-<random>/
        parts/     Spark writes the part files here (its own _temporary, .crc and _SUCCESS
                   files are removed before the commit: a folder of results holds part files)
        <name>     asSingleFile: the parts joined into the one file, on the driver

Same parent, same file system, so the commit is renames only:

- ``create``    rename to the path, which must not exist (the launcher already made it unique);
- ``overwrite`` replace what is at the path (file or folder) in one rename, the old moved aside
                first when it is a folder, and removed only once the new one is in place;
- ``append``    folder: move the new part files in beside the old ones (their names are unique);
                single file: the staged file already holds the old bytes then the new ones (a
                new gzip member / bzip2 stream, the header not repeated), and replaces the old.

``abort`` deletes the staging folder, waits for any task of the job group still running (a
failed job's other tasks are killed asynchronously and could otherwise recreate files), deletes
again, and removes the parent folders the stage itself created. Old results are never touched
before the commit, so they stay byte-for-byte as they were.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import os
import time
import uuid
from typing import Callable

from pyspark.sql import DataFrame, SparkSession

from spark_jobs import fs
from spark_jobs.result import FileInfo
from spark_jobs.spec import Output
from spark_jobs.writers.base import Committed, WriteContext

log = logging.getLogger("spark_jobs.writers")

EXTENSIONS = {"none": "", "gzip": ".gz", "bzip2": ".bz2"}


class OutputError(ValueError):
    """A write setting that cannot be carried out at its path; the message names the path."""


# -- pure helpers -----------------------------------------------------------------------------

def final_path(output: Output) -> str:
    """The concrete path written: a single compressed file gets ``.gz`` / ``.bz2`` unless it
    already ends so (a folder's part files get theirs from Spark)."""
    path = fs.absolute(output.path).rstrip("/") or "/"
    ext = EXTENSIONS[output.compression] if output.asSingleFile else ""
    if ext and not path.endswith(ext):
        path += ext
    return path


def staging_name(final: str, job_group_id: int, token: str) -> str:
    return fs.join(fs.parent(final), f".{fs.basename(final)}.staging-{job_group_id}-{token}")


def compress(data: bytes, compression: str) -> bytes:
    """One complete gzip member / bzip2 stream: concatenated with others it stays valid."""
    if not data or compression == "none":
        return data
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "bzip2":
        return bz2.compress(data)
    raise ValueError(f"compression {compression!r}: accepted none, gzip, bzip2")


def is_debris(name: str) -> bool:
    """Files a Hadoop write leaves beside the parts: .crc checksums, _SUCCESS, _temporary."""
    return name.startswith((".", "_"))


# -- checks before any data is written --------------------------------------------------------

def check_target(output: Output, final: str, fsys: fs.FS) -> None:
    """Refuse what the action cannot do at this path, before any Spark work is spent."""
    where = f"output of job {output.jobId} ({output.action} {output.format})"
    exists = fsys.exists(final)
    if output.action == "create" and exists:
        raise OutputError(f"{where}: {final} already exists; create never touches an existing path")
    if output.action == "append" and exists:
        is_dir = fsys.is_dir(final)
        if output.asSingleFile and is_dir:
            raise OutputError(f"{where}: {final} is a folder; asSingleFile append needs a file there")
        if not output.asSingleFile and not is_dir:
            raise OutputError(f"{where}: {final} is a file; appending part files needs a folder there")
    _check_writable(where, fs.parent(final), fsys)


def _check_writable(where: str, folder: str, fsys: fs.FS) -> None:
    if not isinstance(fsys, fs.LocalFS):
        return  # remote stores answer only by trying; the stage's mkdirs names the path then
    probe = fs.local_path(folder)
    while not os.path.lexists(probe):
        up = os.path.dirname(probe)
        if up == probe:
            break
        probe = up
    if not os.path.isdir(probe):
        raise OutputError(f"{where}: cannot write under {folder}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{where}: cannot write under {folder}: {probe} is not writable")


# -- waiting out straggling tasks -------------------------------------------------------------

def wait_for_tasks(
    spark: SparkSession,
    timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Wait until no task of this thread's job group (recent jobs) is running; False on timeout."""
    try:
        sc = spark.sparkContext
        group = sc.getLocalProperty("spark.jobGroup.id")
        tracker = sc.statusTracker()
    except Exception:  # noqa: BLE001 - no SparkContext (Spark Connect): nothing to wait for here
        return True
    deadline = clock() + timeout
    while True:
        active = 0
        for job_id in sorted(tracker.getJobIdsForGroup(group))[-20:]:
            job = tracker.getJobInfo(job_id)
            for stage_id in job.stageIds if job else ():
                stage = tracker.getStageInfo(stage_id)
                active += stage.numActiveTasks if stage else 0
        if active == 0:
            return True
        if clock() >= deadline:
            log.warning("%d task(s) still running after %.0f s", active, timeout)
            return False
        sleep(0.1)


# -- the staged output ------------------------------------------------------------------------

class FileStage:
    """One output staged in its hidden sibling folder; ``commit`` or ``abort`` it exactly once."""

    def __init__(self, ctx: WriteContext, output: Output, final: str, fsys: fs.FS):
        self.ctx = ctx
        self.output = output
        self.final = final
        self.fsys = fsys
        self.staging = staging_name(final, ctx.job_group_id, uuid.uuid4().hex[:12])
        self.parts_dir = fs.join(self.staging, "parts")
        self.single_path = fs.join(self.staging, fs.basename(final))
        self._created: list[str] = []  # parent folders this stage made (removed on abort)
        self._done = False

    @classmethod
    def create(cls, ctx: WriteContext, output: Output, final: str, fsys: fs.FS) -> "FileStage":
        stage = cls(ctx, output, final, fsys)
        stage._make_parents()
        try:
            fsys.mkdirs(stage.staging)
        except OSError as e:
            stage.abort()
            raise OutputError(
                f"output of job {output.jobId}: cannot write under {fs.parent(final)}: {e}"
            ) from e
        return stage

    def _make_parents(self) -> None:
        missing, folder = [], fs.parent(self.final)
        while not self.fsys.exists(folder):
            missing.append(folder)
            up = fs.parent(folder)
            if up == folder:
                break
            folder = up
        for folder in reversed(missing):
            try:
                self.fsys.mkdirs(folder)
            except OSError as e:
                self.abort()
                raise OutputError(
                    f"output of job {self.output.jobId}: cannot create folder {folder}: {e}"
                ) from e
            self._created.append(folder)

    # -- after Spark has written the parts --------------------------------------------------
    def tidy_parts(self) -> list[fs.Entry]:
        """Remove what Hadoop leaves beside the parts; the part files, in name (partition) order."""
        parts = []
        for entry in self.fsys.list(self.parts_dir):
            if is_debris(entry.name):
                self.fsys.delete(entry.path)
            else:
                parts.append(entry)
        return parts

    def join_parts(self, parts: list[fs.Entry], header: bytes = b"") -> None:
        """asSingleFile: the parts (and for append the old file first) into one staged file.

        ``header`` is the already compressed header member, written only when the file starts
        here (no old file, or an empty one).
        """
        sources: list[fs.Piece] = []
        old = self.output.action == "append" and self.fsys.exists(self.final)
        if old and self.fsys.size(self.final) > 0:
            sources.append(self.final)
            if self.output.compression == "none" and self.fsys.tail(self.final, 1) != b"\n":
                sources.append(b"\n")  # a file written elsewhere may lack its last newline
            header = b""
        sources.extend(p.path for p in parts)
        if not header and len(sources) == 1 and sources[0] != self.final:
            self.fsys.rename(sources[0], self.single_path)  # one part: nothing to copy
        else:
            self.fsys.concat(sources, self.single_path, prefix=header)
        self.fsys.delete(self.parts_dir)

    # -- the end ----------------------------------------------------------------------------
    def commit(self) -> Committed:
        if self._done:
            raise RuntimeError(f"{self.final}: staged output already committed or aborted")
        try:
            if self.output.asSingleFile:
                self._put(self.single_path)
            elif self.output.action == "append" and self.fsys.exists(self.final):
                self._move_parts_in()
            else:
                self._put(self.parts_dir)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self.fsys.delete(self.staging)
        return Committed(path=self.final, files=self.files())

    def _put(self, src: str) -> None:
        if self.output.action == "create":
            self.fsys.rename(src, self.final)  # refuses an existing path
        else:
            self.fsys.replace(src, self.final)

    def _move_parts_in(self) -> None:
        moved: list[tuple[str, str]] = []
        try:
            for part in self.fsys.list(self.parts_dir):
                dst = fs.join(self.final, part.name)
                self.fsys.rename(part.path, dst)
                moved.append((part.path, dst))
        except BaseException:
            for src, dst in reversed(moved):  # a failed append adds nothing
                self.fsys.rename(dst, src)
            raise

    def files(self) -> list[FileInfo]:
        if not self.fsys.is_dir(self.final):
            return [FileInfo(path=self.final, size=self.fsys.size(self.final))]
        return [
            FileInfo(path=e.path, size=e.size)
            for e in self.fsys.list(self.final)
            if not e.is_dir and not is_debris(e.name)
        ]

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self.fsys.delete(self.staging)
            wait_for_tasks(self.ctx.spark)
            self.fsys.delete(self.staging)  # files a straggling task made meanwhile
        finally:
            for folder in reversed(self._created):
                try:
                    if not self.fsys.list(folder):
                        self.fsys.delete(folder)
                except OSError:
                    pass


# -- the writer base --------------------------------------------------------------------------

class FileWriter:
    """A writer whose Spark source writes a folder of part files; subclasses say how.

    ``write_parts`` writes ``df`` into a folder that does not exist yet; ``header`` gives the
    bytes a single file starts with. Everything else (checks, staging, joining, commit,
    cleanup) is here, so another file format needs only those two.
    """

    single_file = False  # whether asSingleFile is allowed for the format

    def write_parts(self, df: DataFrame, output: Output, parts_dir: str) -> None:
        raise NotImplementedError

    def header(self, df: DataFrame, output: Output) -> bytes:
        return b""

    def preflight(self, output: Output, ctx: WriteContext) -> None:
        fsys = fs.for_path(output.path, ctx.spark)
        check_target(output, final_path(output), fsys)

    def stage(self, df: DataFrame, output: Output, ctx: WriteContext) -> FileStage:
        if output.asSingleFile and not self.single_file:
            raise OutputError(f"output of job {output.jobId}: asSingleFile is not available for {output.format}")
        fsys = fs.for_path(output.path, ctx.spark)
        final = final_path(output)
        check_target(output, final, fsys)
        stage = FileStage.create(ctx, output, final, fsys)
        try:
            self.write_parts(df, output, stage.parts_dir)
            parts = stage.tidy_parts()
            if output.asSingleFile:
                stage.join_parts(parts, compress(self.header(df, output), output.compression))
        except BaseException:
            stage.abort()
            raise
        return stage


def sweep_staging(spec, spark: SparkSession | None = None) -> list[str]:
    """Remove the staging folders a run of ``spec`` left behind when it was killed outright
    (SIGKILL, a lost driver), where its own abort could not run. Only this job group's."""
    removed = []
    for output in spec.outputs:
        if output.format == "delta":
            continue
        fsys = fs.for_path(output.path, spark)
        final = final_path(output)
        folder = fs.parent(final)
        if not fsys.is_dir(folder):
            continue
        prefix = f".{fs.basename(final)}.staging-{spec.jobGroupId}-"
        for entry in fsys.list(folder):
            if entry.name.startswith(prefix):
                fsys.delete(entry.path)
                removed.append(entry.path)
    return removed
