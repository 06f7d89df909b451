"""File operations the driver needs (stage, commit by rename, concatenate, result document).

Two implementations behind one small interface, chosen by the path's scheme:
``LocalFS`` (plain paths and ``file:`` URIs, and the FUSE-mounted ``/Volumes`` and ``/dbfs`` of
Databricks) uses the os module: no JVM round trips, no ``.crc`` side files. ``HadoopFS`` (every
other scheme: ``hdfs:``, ``s3a:``, ``abfss:``, ``dbfs:``...) goes through the driver JVM's Hadoop
FileSystem, so it reaches whatever the cluster is configured to reach. Byte copying stays inside
the JVM (``IOUtils.copyBytes``) rather than crossing py4j.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Iterable, Protocol
from urllib.parse import urlparse


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
    def size(self, path: str) -> int: ...
    def write_bytes(self, path: str, data: bytes) -> None: ...
    def read_bytes(self, path: str) -> bytes: ...
    def concat(self, sources: Iterable[str], dst: str, prefix: bytes = b"") -> None: ...


def is_local(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    # A one-letter scheme is a Windows drive, not a URI scheme.
    return scheme in ("", "file") or len(scheme) == 1


def local_path(uri: str) -> str:
    return urlparse(uri).path if uri.startswith("file:") else uri


def join(base: str, *names: str) -> str:
    return "/".join([base.rstrip("/"), *names])


def parent(path: str) -> str:
    stripped = path.rstrip("/")
    head, _, _ = stripped.rpartition("/")
    return head or "/"


def basename(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


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
        elif os.path.lexists(p):
            os.remove(p)

    def rename(self, src: str, dst: str) -> None:
        d = local_path(dst)
        if os.path.lexists(d):
            raise FileExistsError(f"cannot rename onto an existing path: {dst}")
        os.rename(local_path(src), d)

    def size(self, path: str) -> int:
        return os.path.getsize(local_path(path))

    def write_bytes(self, path: str, data: bytes) -> None:
        p = local_path(path)
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        tmp = p + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, p)

    def read_bytes(self, path: str) -> bytes:
        with open(local_path(path), "rb") as f:
            return f.read()

    def concat(self, sources: Iterable[str], dst: str, prefix: bytes = b"") -> None:
        with open(local_path(dst), "wb") as out:
            out.write(prefix)
            for src in sources:
                with open(local_path(src), "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)


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
        fs.mkdirs(p)

    def delete(self, path: str) -> None:
        fs, p = self._fs(path)
        if fs.exists(p):
            fs.delete(p, True)

    def rename(self, src: str, dst: str) -> None:
        fs, s = self._fs(src)
        _, d = self._fs(dst)
        if fs.exists(d):
            raise FileExistsError(f"cannot rename onto an existing path: {dst}")
        if not fs.rename(s, d):
            raise OSError(f"rename failed: {src} -> {dst}")

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
        fs, p = self._fs(path)
        size = int(fs.getFileStatus(p).getLen())
        stream = fs.open(p)
        try:
            buf = self._jvm.java.nio.ByteBuffer.allocate(size).array()
            stream.readFully(0, buf)
            return bytes(buf)
        finally:
            stream.close()

    def concat(self, sources: Iterable[str], dst: str, prefix: bytes = b"") -> None:
        fs, d = self._fs(dst)
        out = fs.create(d, True)
        try:
            if prefix:
                out.write(bytearray(prefix))
            io_utils = self._jvm.org.apache.hadoop.io.IOUtils
            for src in sources:
                sfs, s = self._fs(src)
                stream = sfs.open(s)
                try:
                    io_utils.copyBytes(stream, out, 1 << 20, False)
                finally:
                    stream.close()
        finally:
            out.close()


_LOCAL = LocalFS()


def for_path(path: str, spark=None) -> FS:
    """The file system that holds ``path``; ``spark`` is needed for non-local schemes."""
    if is_local(path):
        return _LOCAL
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            raise RuntimeError(f"no Spark session to reach {path}")
    return HadoopFS(spark)
