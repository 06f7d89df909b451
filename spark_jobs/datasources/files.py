"""File access for Python data sources, where there is no SparkSession and no JVM.

A Python data source's ``write`` runs in an executor's Python worker and its ``commit`` in a
Python worker beside the driver: neither can reach Hadoop's FileSystem through py4j, so they use
``pyarrow.fs``. Local paths and ``file:`` URIs always work; ``hdfs://``, ``s3://``, ``gs://`` and
``abfs://`` work where pyarrow is built and configured for them. Any other scheme is refused with
a message naming it (such runtimes — Databricks among them — have the native sources anyway).
"""

from __future__ import annotations

import glob
import os
from typing import Iterator
from urllib.parse import urlparse

import pyarrow.fs as pafs

HIDDEN_PREFIXES = ("_", ".")


def is_local(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return scheme in ("", "file") or len(scheme) == 1


def resolve(uri: str) -> str:
    """A URI every process can use: a relative local path is made absolute on the driver."""
    parsed = urlparse(uri)
    if is_local(uri):
        path = parsed.path if parsed.scheme == "file" else uri
        return os.path.abspath(path)
    return uri


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    if is_local(uri):
        return pafs.LocalFileSystem(), resolve(uri)
    parsed = urlparse(uri)
    try:
        return pafs.FileSystem.from_uri(uri)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several kinds for an unknown scheme
        raise ValueError(
            f"{uri}: the {parsed.scheme!r} scheme is not reachable from Python workers here "
            "(local paths, file:, hdfs:, s3:, gs:, abfs: are); use a runtime with the native source"
        ) from e


def join(base: str, *names: str) -> str:
    return "/".join([base.rstrip("/"), *names])


def is_hidden(name: str) -> bool:
    return name.startswith(HIDDEN_PREFIXES)


def data_files(uri: str) -> list[str]:
    """The visible files at ``uri`` (itself if a file), recursively, sorted; folders and files
    starting with ``_`` or ``.`` are skipped as Spark skips them. A local glob is expanded."""
    if any(c in uri for c in "*?[") and is_local(uri):
        matches = sorted(glob.glob(resolve(uri)))
        if not matches:
            raise FileNotFoundError(f"no file matches {uri}")
        return [f for m in matches for f in data_files(m)]
    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"no such file or folder: {uri}")
    if info.type == pafs.FileType.File:
        return [uri]
    return sorted(_walk(fs, path, uri))


def _walk(fs: pafs.FileSystem, path: str, uri: str) -> Iterator[str]:
    for entry in fs.get_file_info(pafs.FileSelector(path)):
        if is_hidden(entry.base_name):
            continue
        child = join(uri, entry.base_name)
        if entry.type == pafs.FileType.Directory:
            yield from _walk(fs, entry.path, child)
        elif entry.type == pafs.FileType.File:
            yield child


def open_output(uri: str):
    fs, path = filesystem(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    return fs.open_output_stream(path)


def open_input(uri: str):
    fs, path = filesystem(uri)
    return fs.open_input_file(path)


def move(src: str, dst: str) -> None:
    fs, s = filesystem(src)
    _, d = filesystem(dst)
    if fs.get_file_info(d).type != pafs.FileType.NotFound:
        raise FileExistsError(f"cannot move onto an existing path: {dst}")
    fs.move(s, d)


def delete(uri: str) -> None:
    """Delete a file or a folder with everything in it; nothing there is fine."""
    fs, path = filesystem(uri)
    kind = fs.get_file_info(path).type
    if kind == pafs.FileType.Directory:
        fs.delete_dir(path)
    elif kind == pafs.FileType.File:
        fs.delete_file(path)


def delete_if_empty(uri: str) -> None:
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type == pafs.FileType.Directory and not fs.get_file_info(
        pafs.FileSelector(path)
    ):
        fs.delete_dir(path)


def visible_entries(uri: str) -> list[str]:
    """Top-level entries of a folder that readers see (for overwrite), [] when it is absent."""
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return []
    return [join(uri, e.base_name) for e in fs.get_file_info(pafs.FileSelector(path))
            if not is_hidden(e.base_name)]


def size(uri: str) -> int:
    fs, path = filesystem(uri)
    return int(fs.get_file_info(path).size or 0)
