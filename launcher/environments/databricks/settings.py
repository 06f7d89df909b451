"""``[environments.databricksSpark]``: where the workspace is, how to authenticate, what runs.

The token itself is never part of the configuration: ``token_env`` names an environment variable
and ``token_file`` a secrets file that hold it. ``token()`` reads it as a ``SecretStr`` so it
cannot leak into a log line or an API answer through ``repr`` or ``model_dump``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SECTION = "[environments.databricksSpark]"
DEFAULT_UPLOAD_DIR = "/Volumes/main/default/launcher"
# Where uploads may go: a Unity Catalog volume (files API) or workspace files. The DBFS root is
# deprecated for this use, so ``dbfs:/`` is refused with a message saying so.
UPLOAD_PREFIXES = ("/Volumes/", "/Workspace/")


class DatabricksSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(None, description="workspace URL, e.g. https://adb-123.azuredatabricks.net")
    token_env: str | None = Field(
        "DATABRICKS_TOKEN", description="name of the environment variable holding the access token")
    token_file: Path | None = Field(None, description="file holding the access token (wins over token_env)")

    # Compute: exactly one of these.
    existing_cluster_id: str | None = None
    new_cluster: dict[str, Any] | None = Field(
        None, description="a Jobs API new_cluster object (spark_version, node_type_id, num_workers...)")
    serverless: bool = False
    serverless_environment_version: str = "2"

    upload_dir: str = Field(
        DEFAULT_UPLOAD_DIR, description="Unity Catalog volume path (or /Workspace/... folder) for wheel, specs, results")
    run_as_map: dict[str, str] = Field(
        default_factory=dict,
        description="launcher user -> Databricks principal (an e-mail is a user, anything else a "
                    "service principal application id)")
    service_principal: str | None = Field(
        None, description="application id runs go as when the launcher user is not in run_as_map")
    timeout_seconds: int = Field(3600, ge=0, description="Databricks run timeout; 0 = none")
    poll_interval_seconds: float = Field(5.0, gt=0)
    retry_budget_seconds: float = Field(
        60.0, gt=0, description="how long 429/503 answers are retried in all before the job fails")
    concurrency: int = Field(4, ge=1)
    log_tail_lines: int = Field(40, ge=1, description="lines of the task's output kept in a failure message")

    @model_validator(mode="before")
    @classmethod
    def _no_inline_token(cls, data: Any) -> Any:
        if isinstance(data, dict) and "token" in data:
            raise ValueError(
                "token: the access token is not read from the configuration; put it in an "
                "environment variable named by token_env or in a file named by token_file")
        return data

    @field_validator("host")
    @classmethod
    def _host(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip().rstrip("/")
        return v if "://" in v else "https://" + v

    @field_validator("upload_dir")
    @classmethod
    def _upload_dir(cls, v: str) -> str:
        v = v.rstrip("/")
        if v.startswith("dbfs:") or v.startswith("/dbfs"):
            raise ValueError(
                "upload_dir: the DBFS root is deprecated for job files; use a Unity Catalog volume "
                f"({DEFAULT_UPLOAD_DIR}) or a /Workspace/... folder")
        if not any((v + "/").startswith(p) for p in UPLOAD_PREFIXES) or v.count("/") < 2:
            raise ValueError(
                f"upload_dir: {v!r} is neither a Unity Catalog volume path (/Volumes/<catalog>/<schema>/<volume>/...) "
                "nor a workspace folder (/Workspace/...)")
        if v.startswith("/Volumes/") and v.count("/") < 4:
            raise ValueError(
                f"upload_dir: {v!r} must name a volume: /Volumes/<catalog>/<schema>/<volume>[/folder]")
        return v

    # -- derived ---------------------------------------------------------------------------
    @property
    def uses_volume(self) -> bool:
        return self.upload_dir.startswith("/Volumes/")

    def token(self) -> SecretStr | None:
        """The access token, from token_file or the variable named by token_env; None if absent."""
        if self.token_file is not None:
            try:
                text = Path(self.token_file).expanduser().read_text().strip()
            except OSError:
                return None
            return SecretStr(text) if text else None
        if self.token_env:
            value = os.environ.get(self.token_env, "").strip()
            return SecretStr(value) if value else None
        return None


def configuration_problem(settings: Any) -> str | None:
    """Why databricksSpark cannot run with these settings (a message naming the setting), or None.

    Accepts the launcher's Settings, this section's model, or None (section absent).
    """
    section = settings
    if settings is not None and hasattr(settings, "environments"):
        section = getattr(settings.environments, "databricksSpark", None)
    if section is not None and not isinstance(section, DatabricksSettings):
        try:
            section = DatabricksSettings.model_validate(
                section if isinstance(section, dict) else section.model_dump())
        except ValueError as e:
            return f"databricksSpark: {SECTION} is invalid: {e}"
    if section is None or not section.host:
        return f"databricksSpark needs {SECTION} host (the workspace URL)"
    if section.token() is None:
        if section.token_file is not None:
            return (f"databricksSpark needs an access token: {SECTION} token_file "
                    f"{str(section.token_file)!r} is missing, unreadable or empty")
        if section.token_env:
            return (f"databricksSpark needs an access token: the environment variable "
                    f"{section.token_env} named by {SECTION} token_env is not set")
        return f"databricksSpark needs {SECTION} token_env or token_file"
    computes = [name for name, on in (
        ("existing_cluster_id", bool(section.existing_cluster_id)),
        ("new_cluster", bool(section.new_cluster)),
        ("serverless", section.serverless),
    ) if on]
    if not computes:
        return (f"databricksSpark needs compute: set {SECTION} existing_cluster_id, new_cluster "
                "or serverless = true")
    if len(computes) > 1:
        return f"databricksSpark: set only one of {SECTION} {', '.join(computes)}"
    return None
