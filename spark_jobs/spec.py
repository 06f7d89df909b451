"""The job spec: the one seam between the launcher and the job engine.

A spec is self-contained JSON: everything a run needs, nothing it has to look up. The launcher
builds it (``launcher.translate``); ``spark_jobs.run_job`` runs it. Field names are camelCase on
the wire, as in the rest of the API. Unknown fields are refused so that a typo in a hand-written
spec is an error naming the field, not a silently ignored setting.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SPEC_VERSION = 1

FORMATS = ("csv", "json", "avro", "pqt", "delta")
ACTIONS = ("create", "append", "overwrite")
COMPRESSIONS = ("none", "gzip", "bzip2")
SOURCE_FORMATS = ("csv", "json", "pqt", "avro", "delta", "text")
# Options that only make sense for some formats; any other format refuses them.
CSV_ONLY_OPTIONS = ("header", "delim", "hasQuotes")
TEXT_FORMAT_OPTIONS = ("compression", "asSingleFile")  # csv and json
DELTA_ONLY_OPTIONS = ("partitionBy", "mergeSchema")


class SpecError(ValueError):
    """A spec that cannot be run; the message names the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetRef(_Model):
    """Names a dataset of the spec: imported and wrangled datasets have separate id spaces."""

    kind: Literal["imported", "wrangled"]
    id: int

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


class ReadOptions(_Model):
    """How a source is read. Defaults follow what a Trifacta import does with a csv file."""

    header: bool = True
    delimiter: str = ","
    quote: str = '"'
    # RFC 4180: a quote inside a quoted field is written twice.
    escape: str = '"'
    encoding: str = "UTF-8"
    # False reads every column as a string (what a recipe's settype then types).
    inferSchema: bool = False
    # json: one document spread over lines instead of JSON lines; csv: values with newlines.
    multiLine: bool = False


class ImportedDataset(_Model):
    kind: Literal["imported"] = "imported"
    id: int
    name: str = ""
    uri: str
    format: Literal["csv", "json", "pqt", "avro", "delta", "text"]
    options: ReadOptions = ReadOptions()

    @field_validator("format", mode="before")
    @classmethod
    def _parquet_alias(cls, v: Any) -> Any:
        return "pqt" if v == "parquet" else v

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(kind="imported", id=self.id)


# A recipe step as stored: a JSON object with an ``op`` or one line of Wrangle text.
Step = Union[dict[str, Any], str]


class WrangledDataset(_Model):
    kind: Literal["wrangled"] = "wrangled"
    id: int
    name: str = ""
    input: DatasetRef
    recipe: list[Step] = []

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(kind="wrangled", id=self.id)


Dataset = Annotated[Union[ImportedDataset, WrangledDataset], Field(discriminator="kind")]


class Output(_Model):
    """One write setting with its concrete path (``create`` naming already applied)."""

    jobId: int
    path: str
    action: Literal["create", "append", "overwrite"]
    format: Literal["csv", "json", "avro", "pqt", "delta"]
    compression: Literal["none", "gzip", "bzip2"] = "none"
    header: bool = False
    asSingleFile: bool = False
    delim: str = ","
    hasQuotes: bool = False
    partitionBy: list[str] = []
    mergeSchema: bool = False

    @field_validator("format", mode="before")
    @classmethod
    def _parquet_alias(cls, v: Any) -> Any:
        return "pqt" if v == "parquet" else v

    @model_validator(mode="after")
    def _options_fit_format(self) -> "Output":
        # Only options set to something other than their default count: JobSpec.to_json writes
        # every field, and its output must parse again whatever the format.
        fields = type(self).model_fields
        changed = {n for n in self.model_fields_set if getattr(self, n) != fields[n].get_default(call_default_factory=True)}
        problems = option_problems(self.format, changed)
        if problems:
            raise ValueError("; ".join(problems))
        if len(self.delim) != 1:
            raise ValueError(f"delim must be one character, got {self.delim!r}")
        return self


def option_problems(fmt: str, given: set[str]) -> list[str]:
    """Options given for a format that does not use them (shared with the launcher's 400s)."""
    problems = []
    for name in sorted(given):
        if name in CSV_ONLY_OPTIONS and fmt != "csv":
            problems.append(f"{name} applies to csv only, not {fmt}")
        elif name in TEXT_FORMAT_OPTIONS and fmt not in ("csv", "json"):
            problems.append(f"{name} applies to csv and json only, not {fmt}")
        elif name in DELTA_ONLY_OPTIONS and fmt != "delta":
            problems.append(f"{name} applies to delta only, not {fmt}")
    return problems


class JobIds(_Model):
    wrangle: int
    profile: int | None = None


class JobSpec(_Model):
    specVersion: Literal[1] = SPEC_VERSION
    jobGroupId: int
    jobs: JobIds
    # Every dataset the target needs, dependencies before the datasets that use them.
    datasets: list[Dataset]
    target: int  # id of the wrangled dataset whose results are produced
    outputs: list[Output]
    profiler: bool = False
    # Where the run writes its result document (a path or any Hadoop file system URI).
    resultUri: str
    # Who the launcher ran this for; informational (shows in logs).
    runAs: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "JobSpec":
        seen: set[str] = set()
        for i, ds in enumerate(self.datasets):
            if ds.kind == "wrangled" and ds.input.key not in seen:
                raise ValueError(
                    f"datasets[{i}] (wrangled {ds.id}) reads {ds.input.key}, "
                    "which must come earlier in datasets"
                )
            seen.add(ds.ref.key)
        if f"wrangled:{self.target}" not in seen:
            raise ValueError(f"target: wrangled dataset {self.target} is not in datasets")
        if self.profiler and self.jobs.profile is None:
            raise ValueError("jobs.profile: required when profiler is true")
        job_ids = [o.jobId for o in self.outputs]
        if len(set(job_ids)) != len(job_ids):
            raise ValueError("outputs: each output needs its own jobId")
        return self

    def dataset(self, ref: DatasetRef) -> ImportedDataset | WrangledDataset:
        for ds in self.datasets:
            if ds.kind == ref.kind and ds.id == ref.id:
                return ds
        raise SpecError(f"{ref.kind} dataset {ref.id} is not in the spec's datasets")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def parse_spec(data: str | bytes | dict) -> JobSpec:
    """Parse and validate a spec; a malformed one raises SpecError naming the fields."""
    try:
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
        return JobSpec.model_validate(data)
    except json.JSONDecodeError as e:
        raise SpecError(f"the spec is not JSON: {e}") from None
    except ValidationError as e:
        raise SpecError("invalid job spec: " + describe_validation_error(e)) from None


def describe_validation_error(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(spec)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
