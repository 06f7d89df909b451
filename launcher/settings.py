"""The launcher's configuration: embedded defaults < TOML file < LAUNCHER_* environment variables.

The TOML file is ``$LAUNCHER_CONFIG`` (default ``conf/launcher.toml``, relative to the current
directory; a missing default file just means "embedded defaults", a missing explicit one is an
error). Nested values come from the environment with ``__`` between levels, e.g.
``LAUNCHER_ENVIRONMENTS__PHOTON__CONCURRENCY=4``; list values are JSON, e.g.
``LAUNCHER_STORAGE_ROOTS='["/data", "s3a://bucket/x"]'``.

Each environment's settings model lives beside its adapter (the adapter's owner defines it);
this module composes them and falls back to a permissive placeholder while an adapter's module
does not exist yet.
"""

from __future__ import annotations

import contextvars
import importlib
import os
from pathlib import Path
from typing import Literal, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG = Path("conf") / "launcher.toml"
DEFAULT_HOME = Path("var")

# Which TOML file the Settings() being built right now reads (set by load_settings / __init__).
_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("_config_file", default=None)


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and what to do."""


def _is_uri(path: str) -> bool:
    return "://" in path or (":" in path and not path.startswith("/") and len(path.split(":", 1)[0]) > 1)


def _absolute_root(root: str) -> str:
    # Relative local roots are relative to where the launcher starts; URIs stay as written.
    if _is_uri(root):
        return root
    return str(Path(root).expanduser().resolve())


class UserStorage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roots: list[str] = Field(default_factory=list)

    @field_validator("roots")
    @classmethod
    def _abs(cls, v: list[str]) -> list[str]:
        return [_absolute_root(r) for r in v]


class StorageSettings(BaseModel):
    """Per-user grants: ``[storage.users.alice] roots = ["/data/alice"]``."""

    model_config = ConfigDict(extra="forbid")
    users: dict[str, UserStorage] = Field(default_factory=dict)


class PhotonSettings(BaseModel):
    """The local Spark environment: one warm SparkSession for the life of the server."""

    model_config = ConfigDict(extra="forbid")
    concurrency: int = Field(4, ge=1, description="job groups running at once")
    master: str = Field("local[2]", description="master of the warm SparkSession")
    poll_interval_seconds: float = Field(0.2, gt=0)
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark conf for the session")
    isolation: Literal["process", "inline"] = Field(
        "process", description="process: the session and the runs live in a worker process, so the "
                               "API answers while Spark is busy; inline: in the server's own process")
    nice: int = Field(10, ge=0, le=19, description="CPU niceness of the worker process and its JVM "
                                                   "(isolation = process): the API answers first")


class _Placeholder(BaseModel):
    """Stands in for an environment's settings model until its module exists."""

    model_config = ConfigDict(extra="allow")
    concurrency: int = Field(2, ge=1)


def _environment_model(module: str, cls: str) -> type[BaseModel]:
    try:
        return getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as e:  # only "the adapter is not written yet", never its bugs
        if e.name and module.startswith(e.name):
            return _Placeholder
        raise
    except AttributeError:
        return _Placeholder


SparkSettings = _environment_model("launcher.environments.spark_submit.settings", "SparkSettings")
_DATABRICKS = ("launcher.environments.databricks.settings", "DatabricksSettings")


class EnvironmentsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    photon: PhotonSettings = Field(default_factory=PhotonSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)  # type: ignore[valid-type]
    # Named like the execution value so getattr(settings.environments, execution) works.
    # Its model is imported only when the section exists: the Databricks SDK behind it takes
    # over a second to import, and every `launcher` command loads the settings.
    databricksSpark: Any = None

    @field_validator("databricksSpark", mode="before")
    @classmethod
    def _databricks(cls, v: Any) -> Any:
        if v is None or isinstance(v, BaseModel):
            return v
        model = _environment_model(*_DATABRICKS)
        try:
            return model.model_validate(v)
        except ValidationError as e:
            raise ValueError("; ".join(_error_text(err) for err in e.errors())) from None

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive_names(cls, data: Any) -> Any:
        # Environment variables arrive lower-cased (LAUNCHER_ENVIRONMENTS__DATABRICKSSPARK__HOST).
        if isinstance(data, dict) and "databricksspark" in data:
            data = dict(data)
            data["databricksSpark"] = data.pop("databricksspark")
        return data


def _error_text(err: dict) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    where = ".".join(str(p) for p in err["loc"])
    return msg if not where or msg.startswith(where + ":") else f"{where}: {msg}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAUNCHER_",
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        validate_default=True,
    )

    home: Path = Field(DEFAULT_HOME, description="database, specs, logs, results and staging")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///$home/launcher.db")
    storage_roots: list[str] | None = Field(
        None, description="roots every user may read and write; default: ./examples and $home/data")
    storage: StorageSettings = Field(default_factory=StorageSettings)
    host: str = "127.0.0.1"
    port: int = Field(8700, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024, description="larger request bodies get 413")
    log_level: str = "info"
    environments: EnvironmentsSettings = Field(default_factory=EnvironmentsSettings)

    def __init__(self, _config_file_path: Path | str | None = None, **values: Any) -> None:
        path = _resolve_config_path(_config_file_path)
        token = _config_file.set(path)
        try:
            super().__init__(**values)
        finally:
            _config_file.reset(token)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("home")
    @classmethod
    def _abs_home(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @model_validator(mode="after")
    def _derived(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'launcher.db'}"
        if self.storage_roots is None:
            self.storage_roots = [str(Path("examples").resolve()), str(self.data_dir)]
        else:
            self.storage_roots = [_absolute_root(r) for r in self.storage_roots]
        return self

    def __repr_args__(self):
        # A database URL may carry a password: reprs (and so logs) show it redacted.
        for name, value in super().__repr_args__():
            yield name, (self.database_url_redacted if name == "database_url" and value else value)

    # -- places under home -------------------------------------------------------------------
    @property
    def specs_dir(self) -> Path:
        return self.home / "specs"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def results_dir(self) -> Path:
        return self.home / "results"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def data_dir(self) -> Path:
        """Default output area (a storage root unless storage_roots is set)."""
        return self.home / "data"

    def ensure_dirs(self) -> None:
        for d in (self.home, self.specs_dir, self.logs_dir, self.results_dir, self.staging_dir):
            d.mkdir(parents=True, exist_ok=True)

    # -- helpers ------------------------------------------------------------------------------
    def roots_for(self, user_name: str) -> list[str]:
        """Storage roots granted to one user: the common ones plus their own grants."""
        own = self.storage.users.get(user_name)
        return list(self.storage_roots or []) + (list(own.roots) if own else [])

    def environment(self, name: str) -> BaseModel | None:
        """The settings of one environment by its execution name, None when not configured."""
        return getattr(self.environments, name, None) if name in EnvironmentsSettings.model_fields else None

    @property
    def database_url_redacted(self) -> str:
        """The database URL fit for logs: no password."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)


def _resolve_config_path(explicit: Path | str | None) -> Path | None:
    raw = explicit if explicit is not None else os.environ.get("LAUNCHER_CONFIG")
    if raw:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"configuration file {path} (LAUNCHER_CONFIG) does not exist; "
                f"unset LAUNCHER_CONFIG to use the embedded defaults or point it at a TOML file")
        return path
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Settings from ``config`` (or $LAUNCHER_CONFIG / conf/launcher.toml), env and overrides."""
    return Settings(_config_file_path=config, **overrides)
