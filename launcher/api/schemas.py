"""Wire models: the request bodies the API takes, with the contract's camelCase names.

Strict: unknown fields are refused (400 naming the field and what is accepted), and values keep
their JSON types (``"profiler": "yes"`` or ``"id": "7"`` is an error, not a guess). Answers are
plain dicts built in the routes (see ``present_*`` below) so the hot paths skip a second
validation pass.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from spark_jobs.spec import ACTIONS, COMPRESSIONS, FORMATS, SOURCE_FORMATS  # noqa: F401 (re-exported)

EXECUTIONS = ("photon", "spark", "databricksSpark")
RANFROM = ("cli", "ui", "api")
ROLES = ("viewer", "editor")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _parquet_is_pqt(v: Any) -> Any:
    return "pqt" if v == "parquet" else v


class IdRef(_In):
    id: int = Field(ge=1)


class WriteSettingIn(_In):
    """One output of a job group (``overrides.writesettings[]``)."""

    path: str = Field(min_length=1, description="where the results go: a path or a Hadoop file system URI")
    action: Literal["create", "append", "overwrite"]
    format: Literal["csv", "json", "avro", "pqt", "delta"] = Field(
        description="`parquet` is accepted for `pqt`")
    compression: Literal["none", "gzip", "bzip2"] = "none"
    header: bool = False
    asSingleFile: bool = False
    delim: str = Field(",", min_length=1, max_length=1)
    hasQuotes: bool = False
    partitionBy: list[str] = Field(default_factory=list)
    mergeSchema: bool = False

    _format_alias = field_validator("format", mode="before")(lambda cls, v: _parquet_is_pqt(v))

    @field_validator("path")
    @classmethod
    def _no_control_characters(cls, v: str) -> str:
        if any(ord(c) < 32 for c in v):
            raise ValueError("must not contain control characters")
        return v


class OverridesIn(_In):
    execution: Literal["photon", "spark", "databricksSpark"] | None = None
    profiler: bool | None = None
    writesettings: list[WriteSettingIn] | None = Field(
        None, validation_alias=AliasChoices("writesettings", "writeSettings"),
        description="also spelled writeSettings")

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict) and "writesettings" in data and "writeSettings" in data:
            raise ValueError("give writesettings or writeSettings, not both")
        return data


class JobGroupCreate(_In):
    """The body of ``POST /v3/jobGroups`` and ``POST /v4/jobGroups``."""

    wrangledDataset: IdRef
    overrides: OverridesIn | None = None
    # Absent means the job came through the API ("api"); an explicit null hides it from the
    # Job Results page, as on the reference page.
    ranfrom: Literal["cli", "ui", "api"] | None = "api"


class ReadOptionsIn(_In):
    header: bool = True
    delimiter: str = Field(",", min_length=1, max_length=1)
    quote: str = Field('"', max_length=1)
    escape: str = Field('"', max_length=1)
    encoding: str = "UTF-8"
    inferSchema: bool = False
    multiLine: bool = False


class ImportedDatasetCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    uri: str = Field(min_length=1)
    format: Literal["csv", "json", "pqt", "avro", "delta", "text"] | None = Field(
        None, description="from the extension (or a _delta_log folder) when not given")
    options: ReadOptionsIn | None = None

    _format_alias = field_validator("format", mode="before")(lambda cls, v: _parquet_is_pqt(v))


Step = Union[dict[str, Any], str]


class WrangledDatasetCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    importedDataset: IdRef | None = None
    wrangledDataset: IdRef | None = None
    recipe: list[Step] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_input(self) -> "WrangledDatasetCreate":
        if (self.importedDataset is None) == (self.wrangledDataset is None):
            raise ValueError("give exactly one of importedDataset or wrangledDataset as the input")
        return self


class RecipeUpdate(_In):
    steps: list[Step]


class PermissionCreate(_In):
    user: str = Field(min_length=1)
    role: Literal["viewer", "editor"]


class TokenCreate(_In):
    lifetimeSeconds: int | None = Field(None, ge=1, description="none: the token does not expire")
    description: str | None = Field(None, max_length=500)


BODY_MODELS: tuple[type[BaseModel], ...] = (
    JobGroupCreate, ImportedDatasetCreate, WrangledDatasetCreate, RecipeUpdate, PermissionCreate,
    TokenCreate,
)


def accepted_fields(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """The field names an object at ``loc`` inside ``model`` accepts (for 'unknown field' 400s)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = _field_named(current, part)
        if field is None:
            return None
        current = _model_in(field.annotation)
    if current is None:
        return None
    names = []
    for name, f in current.model_fields.items():
        alias = f.validation_alias
        if isinstance(alias, AliasChoices):
            names.extend(str(c) for c in alias.choices)
        else:
            names.append(name)
    return names


def _field_named(model: type[BaseModel], name: str):
    for fname, f in model.model_fields.items():
        alias = f.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [fname]
        if name in choices or name == fname:
            return f
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside Optional[...] / list[...] annotations, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None
