"""File operations the driver needs (stage, commit by rename, concatenate, result document).

Two implementations behind one small interface, chosen by the path's scheme:
``LocalFS`` (plain paths and ``file:`` URIs, and the FUSE-mounted ``/Volumes`` and ``/dbfs`` of
Databricks) uses the os module: no JVM round trips, no ``.crc`` side files. ``HadoopFS`` (every
other scheme: ``hdfs:``, ``s3a:``, ``abfss:``, ``dbfs:``...) goes through the driver JVM's Hadoop
FileSystem, so it reaches whatever the cluster is configured to reach. Byte copying stays inside
the JVM (``IOUtils.copyBytes``) rather than crossing py4j.

A plain path (no scheme) means what Spark makes of it: a local file when the cluster's default
file system is ``file:`` (local masters, most standalone set-ups), else a path on that default
file system (``hdfs:`` on YARN), so it is handed to ``HadoopFS``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Iterable, Protocol, Union
from urllib.parse import urlparse

# concat() takes file paths and literal byte strings (a header member, a separating newline).
Piece = Union[str, bytes]


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    is_dir: bool

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


class FS(Protocol):
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def list(self, path: str) -> list[Entry]: ...
    def mkdirs(self, path: str) -> None: ...
    def delete(self, path: str) -> None: ...
    def rename(self, src: str, dst: str) -> None: ...
    def replace(self, src: str, dst: str) -> None: ...
    def size(self, path: str) -> int: ...
    def write_bytes(self, path: str, data: bytes) -> None: ...
    def read_bytes(self, path: str) -> bytes: ...
    def tail(self, path: str, n: int) -> bytes: ...
    def concat(self, sources: Iterable[Piece], dst: str, prefix: bytes = b"") -> None: ...


def scheme(uri: str) -> str:
    s = urlparse(uri).scheme
    # A one-letter scheme is a Windows drive, not a URI scheme.
    return "" if len(s) == 1 else s


def is_local(uri: str) -> bool:
    return scheme(uri) in ("", "file")


def local_path(uri: str) -> str:
    return urlparse(uri).path if uri.startswith("file:") else uri


def absolute(path: str) -> str:
    """A relative local path made absolute (its parent must be a real folder for staging)."""
    if scheme(path) == "" and not path.startswith("/"):
        return os.path.abspath(path)
    return path


def join(base: str, *names: str) -> str:
    return "/".join([base.rstrip("/"), *names])


def parent(path: str) -> str:
    stripped = path.rstrip("/")
    head, sep, _ = stripped.rpartition("/")
    if not sep:
        return "."
    if head.endswith(":"):  # "file:/x" -> "file:/"
        return head + "/"
    return head or "/"


def basename(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def hidden_sibling(path: str, label: str) -> str:
    """``<parent>/.<name>.<label>-<random>``: beside the path (same file system, so a rename
    is cheap and atomic) and hidden (Spark, Hive and Hadoop skip names starting with a dot)."""
    return join(parent(path), f".{basename(path)}.{label}-{uuid.uuid4().hex[:12]}")


def _piece_bytes(piece: Piece) -> bytes | None:
    return bytes(piece) if isinstance(piece, (bytes, bytearray, memoryview)) else None


class LocalFS:
    def exists(self, path: str) -> bool:
        return os.path.lexists(local_path(path))

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(local_path(path))

    def list(self, path: str) -> list[Entry]:
        base = local_path(path)
        out = []
        for name in sorted(os.listdir(base)):
            full = os.path.join(base, name)
            isdir = os.path.isdir(full)
            out.append(Entry(join(path, name), 0 if isdir else os.path.getsize(full), isdir))
        return out

    def mkdirs(self, path: str) -> None:
        os.makedirs(local_path(path), exist_ok=True)

    def delete(self, path: str) -> None:
        p = local_path(path)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
            if os.path.lexists(p):  # a file appeared while deleting (a straggling task)
                shutil.rmtree(p)
        elif os.path.lexists(p):
            os.remove(p)

    def rename(self, src: str, dst: str) -> None:
        d = local_path(dst)
        if os.path.lexists(d):
            raise FileExistsError(f"cannot rename onto an existing path: {dst}")
        os.rename(local_path(src), d)

    def replace(self, src: str, dst: str) -> None:
        """Put ``src`` at ``dst``, replacing whatever is there (file or folder)."""
        s, d = local_path(src), local_path(dst)
        if not os.path.lexists(d) or (os.path.isfile(d) and not os.path.isdir(s)):
            os.replace(s, d)  # atomic for a file over a file
            return
        # A folder cannot be renamed over a non-empty folder: move the old one aside first.
        aside = local_path(hidden_sibling(dst, "replaced"))
        os.rename(d, aside)
        try:
            os.rename(s, d)
        except BaseException:
            os.rename(aside, d)
            raise
        self.delete(aside)

    def size(self, path: str) -> int:
        return os.path.getsize(local_path(path))

    def write_bytes(self, path: str, data: bytes) -> None:
        p = local_path(path)
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        tmp = f"{p}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, p)
        except BaseException:
            if os.path.lexists(tmp):
                os.remove(tmp)
            raise

    def read_bytes(self, path: str) -> bytes:
        with open(local_path(path), "rb") as f:
            return f.read()

    def tail(self, path: str, n: int) -> bytes:
        with open(local_path(path), "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - n))
            return f.read()

    def concat(self, sources: Iterable[Piece], dst: str, prefix: bytes = b"") -> None:
        fd = os.open(local_path(dst), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _write_all(fd, prefix)
            for src in sources:
                data = _piece_bytes(src)
                if data is not None:
                    _write_all(fd, data)
                    continue
                with open(local_path(src), "rb") as f:
                    _copy_fd(f.fileno(), fd)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_fd(src: int, dst: int) -> None:
    """Append all of ``src`` to ``dst`` in the kernel where it can (sendfile), else by buffers."""
    size = os.fstat(src).st_size
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(dst, src, offset, min(size - offset, 1 << 30))
            if sent == 0:
                break
            offset += sent
    except OSError:
        pass
    while True:  # whatever sendfile did not move (or all of it where it is unsupported)
        chunk = os.pread(src, 1 << 22, offset)
        if not chunk:
            break
        _write_all(dst, chunk)
        offset += len(chunk)


class HadoopFS:
    """Hadoop FileSystem through the driver's JVM (classic Spark sessions only)."""

    def __init__(self, spark):
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, path: str):
        p = self._jvm.org.apache.hadoop.fs.Path(path)
        return p.getFileSystem(self._conf), p

    def exists(self, path: str) -> bool:
        fs, p = self._fs(path)
        return bool(fs.exists(p))

    def is_dir(self, path: str) -> bool:
        fs, p = self._fs(path)
        return bool(fs.exists(p) and fs.getFileStatus(p).isDirectory())

    def list(self, path: str) -> list[Entry]:
        fs, p = self._fs(path)
        out = [
            Entry(join(path, st.getPath().getName()), int(st.getLen()), bool(st.isDirectory()))
            for st in fs.listStatus(p)
        ]
        return sorted(out, key=lambda e: e.name)

    def mkdirs(self, path: str) -> None:
        fs, p = self._fs(path)
        if not fs.mkdirs(p):
            raise OSError(f"cannot create folder {path}")

    def delete(self, path: str) -> None:
        fs, p = self._fs(path)
        if fs.exists(p):
            fs.delete(p, True)

    def rename(self, src: str, dst: str) -> None:
        fs, s = self._fs(src)
        _, d = self._fs(dst)
        # Hadoop renames a source INTO an existing folder; refuse instead.
        if fs.exists(d):
            raise FileExistsError(f"cannot rename onto an existing path: {dst}")
        if not fs.rename(s, d):
            raise OSError(f"rename failed: {src} -> {dst}")

    def replace(self, src: str, dst: str) -> None:
        if not self.exists(dst):
            self.rename(src, dst)
            return
        aside = hidden_sibling(dst, "replaced")
        self.rename(dst, aside)
        try:
            self.rename(src, dst)
        except BaseException:
            self.rename(aside, dst)
            raise
        self.delete(aside)

    def size(self, path: str) -> int:
        fs, p = self._fs(path)
        return int(fs.getFileStatus(p).getLen())

    def write_bytes(self, path: str, data: bytes) -> None:
        fs, p = self._fs(path)
        out = fs.create(p, True)
        try:
            out.write(bytearray(data))
        finally:
            out.close()

    def read_bytes(self, path: str) -> bytes:
        return self._read(path, 0, None)

    def tail(self, path: str, n: int) -> bytes:
        size = self.size(path)
        return self._read(path, max(0, size - n), None)

    def _read(self, path: str, offset: int, length: int | None) -> bytes:
        fs, p = self._fs(path)
        size = int(fs.getFileStatus(p).getLen())
        length = size - offset if length is None else length
        if length <= 0:
            return b""
        # The bytes are gathered on the JVM side and cross py4j once (a Java byte[] handed to
        # Python is a copy, so a buffer cannot be filled in place from here).
        out = self._jvm.java.io.ByteArrayOutputStream(length)
        stream = fs.open(p)
        try:
            stream.seek(offset)
            self._jvm.org.apache.hadoop.io.IOUtils.copyBytes(stream, out, length, False)
        finally:
            stream.close()
        return bytes(out.toByteArray())

    def concat(self, sources: Iterable[Piece], dst: str, prefix: bytes = b"") -> None:
        fs, d = self._fs(dst)
        out = fs.create(d, True)
        try:
            if prefix:
                out.write(bytearray(prefix))
            io_utils = self._jvm.org.apache.hadoop.io.IOUtils
            for src in sources:
                data = _piece_bytes(src)
                if data is not None:
                    if data:
                        out.write(bytearray(data))
                    continue
                sfs, s = self._fs(src)
                stream = sfs.open(s)
                try:
                    io_utils.copyBytes(stream, out, 1 << 20, False)
                finally:
                    stream.close()
        finally:
            out.close()


_LOCAL = LocalFS()

# Paths Databricks mounts on the driver's local file system (FUSE) as well.
_FUSE_PREFIXES = ("/Volumes/", "/dbfs/", "/Workspace/")


def default_fs_is_local(spark) -> bool:
    try:
        default = spark.sparkContext._jsc.hadoopConfiguration().get("fs.defaultFS") or "file:///"
    except Exception:  # noqa: BLE001 - no JVM (Spark Connect): plain paths are what the OS sees
        return True
    return default.startswith("file:")


def for_path(path: str, spark=None) -> FS:
    """The file system that holds ``path``; ``spark`` is needed for non-local schemes."""
    s = scheme(path)
    if s == "file" or path.startswith(_FUSE_PREFIXES):
        return _LOCAL
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            if s == "":
                return _LOCAL
            raise RuntimeError(f"no Spark session to reach {path}")
    if s == "" and default_fs_is_local(spark):
        return _LOCAL
    return HadoopFS(spark)
