"""The upload directory in the workspace: a Unity Catalog volume (files API) or workspace files.

Both offer the same three calls; which one is used follows from ``upload_dir`` (``/Volumes/...``
or ``/Workspace/...``). A missing file reads as ``None``; every other failure raises the SDK's
error for ``failures.describe`` to explain.
"""

from __future__ import annotations

import io

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound


class VolumeFiles:
    def __init__(self, w: WorkspaceClient):
        self._w = w

    def exists(self, path: str) -> bool:
        try:
            self._w.files.get_metadata(path)
            return True
        except NotFound:
            return False

    def upload(self, path: str, data: bytes) -> None:
        # Parent folders of a volume path are created by the files API itself.
        self._w.files.upload(path, io.BytesIO(data), overwrite=True)

    def download(self, path: str) -> bytes | None:
        try:
            return self._w.files.download(path).contents.read()
        except NotFound:
            return None


class WorkspaceFiles:
    def __init__(self, w: WorkspaceClient):
        self._w = w

    def exists(self, path: str) -> bool:
        try:
            self._w.workspace.get_status(path)
            return True
        except NotFound:
            return False

    def upload(self, path: str, data: bytes) -> None:
        from databricks.sdk.service.workspace import ImportFormat

        self._w.workspace.mkdirs(path.rsplit("/", 1)[0])
        self._w.workspace.upload(path, io.BytesIO(data), format=ImportFormat.AUTO, overwrite=True)

    def download(self, path: str) -> bytes | None:
        from databricks.sdk.service.workspace import ExportFormat

        try:
            with self._w.workspace.download(path, format=ExportFormat.AUTO) as f:
                return f.read()
        except NotFound:
            return None


def remote_files(w: WorkspaceClient, upload_dir: str) -> VolumeFiles | WorkspaceFiles:
    return WorkspaceFiles(w) if upload_dir.startswith("/Workspace/") else VolumeFiles(w)
