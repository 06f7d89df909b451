"""The request translator: a job group request + the dataset catalog -> a ``JobSpec``.

Pure: no store, no clock, no files written. It reads the catalog (datasets by id) and the
settings of the dataset's last run, and either raises an API error naming the field or returns a
plan; the API saves the job group and its jobs, then ``build_spec`` fills in their ids.

Two steps because the ids only exist once the job group is saved, while every check has to
happen before anything is saved:

    plan = plan_run(request, catalog, last_run=..., roots=..., base_dir=..., environment_problem=...)
    ... save the job group and one job per plan.job_types() ...
    spec = build_spec(plan, job_group_id, job_ids, result_uri=..., run_as=...)
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol
from urllib.parse import urlsplit

from launcher.api.errors import BadRequest, PathNotAllowed
from launcher.api.schemas import JobGroupCreate, WriteSettingIn
from spark_jobs.recipes import DependencyCycleError, RecipeError, order_datasets, recipe_dependencies
from spark_jobs.spec import (
    DatasetRef,
    ImportedDataset,
    JobIds,
    JobSpec,
    Output,
    WrangledDataset,
    option_problems,
)

Dataset = ImportedDataset | WrangledDataset

# The options each output format keeps in its normalised write setting (and in last_run).
FORMAT_OPTIONS: dict[str, tuple[str, ...]] = {
    "csv": ("compression", "header", "asSingleFile", "delim", "hasQuotes"),
    "json": ("compression", "asSingleFile"),
    "avro": (),
    "pqt": (),
    "delta": ("partitionBy", "mergeSchema"),
}
# Endings that belong after the format's extension: orders.csv.gz -> orders_12.csv.gz.
COMPRESSION_ENDINGS = (".gz", ".bz2", ".bz", ".snappy", ".zst", ".lz4")


class Catalog(Protocol):
    """Datasets by id, as the spec needs them (None: no such dataset)."""

    def imported(self, dataset_id: int) -> ImportedDataset | None: ...
    def wrangled(self, dataset_id: int) -> WrangledDataset | None: ...


@dataclass
class DictCatalog:
    imported_by_id: dict[int, ImportedDataset] = field(default_factory=dict)
    wrangled_by_id: dict[int, WrangledDataset] = field(default_factory=dict)

    def imported(self, dataset_id: int) -> ImportedDataset | None:
        return self.imported_by_id.get(dataset_id)

    def wrangled(self, dataset_id: int) -> WrangledDataset | None:
        return self.wrangled_by_id.get(dataset_id)


@dataclass(frozen=True)
class RunPlan:
    """A checked request: everything the spec needs except the ids the store hands out."""

    target: int
    execution: str
    profiler: bool
    writesettings: tuple[dict, ...]  # normalised (see normalize_write_setting), paths absolute
    datasets: tuple[Dataset, ...]  # dependencies first, the target last
    ranfrom: str | None = None

    def job_types(self) -> list[str]:
        """The jobs of the group, in id order: wrangle, a filewriter per output, profile."""
        return ["wrangle"] + ["filewriter"] * len(self.writesettings) + (["profile"] if self.profiler else [])

    def last_run(self) -> dict:
        """What ``wrangled_datasets.last_run`` keeps so the bare re-run body repeats this run."""
        return {
            "execution": self.execution,
            "profiler": self.profiler,
            "writesettings": [dict(ws) for ws in self.writesettings],
        }


# -- the request --------------------------------------------------------------------------------

def plan_run(
    request: JobGroupCreate,
    catalog: Catalog,
    *,
    last_run: dict | None,
    roots: Iterable[str],
    base_dir: str,
    environment_problem: Callable[[str], str | None] = lambda name: None,
) -> RunPlan:
    """Check a job group request; raise BadRequest (400) / PathNotAllowed (403) naming the field."""
    target = request.wrangledDataset.id
    ov = request.overrides
    execution = ov.execution if ov and ov.execution is not None else (last_run or {}).get("execution")
    profiler = ov.profiler if ov and ov.profiler is not None else (last_run or {}).get("profiler", False)
    given_ws = ov.writesettings if ov else None

    if last_run is None:
        missing = [name for name, v in (("overrides.execution", execution),
                                         ("overrides.writesettings", given_ws)) if v is None]
        if missing:
            raise BadRequest(
                f"{' and '.join(missing)}: required for the first run of wrangled dataset {target} "
                "(there is no earlier run whose settings could be repeated)",
                [{"field": f, "message": "required for a first run"} for f in missing])

    problem = environment_problem(execution)
    if problem:
        raise BadRequest(f"overrides.execution: {problem}",
                         [{"field": "overrides.execution", "message": problem}])

    if given_ws is not None:
        if not given_ws:
            raise BadRequest("overrides.writesettings: at least one write setting is needed",
                             [{"field": "overrides.writesettings", "message": "empty"}])
        writesettings, errors = [], []
        for i, ws in enumerate(given_ws):  # every output's problems in one answer
            try:
                writesettings.append(normalize_write_setting(ws, i, base_dir))
            except BadRequest as e:
                errors.append(e)
        if errors:
            raise BadRequest("; ".join(e.message for e in errors),
                             [d for e in errors for d in (e.details or [])])
    else:
        writesettings = [dict(ws) for ws in last_run["writesettings"]]  # type: ignore[index]

    root_list = [r for r in roots]
    for i, ws in enumerate(writesettings):
        confine(ws["path"], root_list, f"overrides.writesettings[{i}].path")

    datasets = resolve_datasets(target, catalog)
    for ds in datasets:
        if isinstance(ds, ImportedDataset):
            confine(ds.uri, root_list, "wrangledDataset.id",
                    what=f"imported dataset {ds.id} ({ds.name or ds.uri}) reads {ds.uri}, which")

    return RunPlan(target=target, execution=execution, profiler=bool(profiler),
                   writesettings=tuple(writesettings), datasets=tuple(datasets),
                   ranfrom=request.ranfrom)


def normalize_write_setting(ws: WriteSettingIn, index: int, base_dir: str) -> dict:
    """A write setting with an absolute path and exactly the options its format uses.

    An option another format uses is refused only when set to something other than its
    default: the reference page's way to add a json output is to copy the csv one and change
    its format, which leaves ``"header": false`` behind.
    """
    where = f"overrides.writesettings[{index}]"
    defaults = WriteSettingIn.model_fields
    changed = {name for name in ws.model_fields_set
               if getattr(ws, name) != defaults[name].get_default(call_default_factory=True)}
    problems = option_problems(ws.format, changed)
    if problems:
        takes = FORMAT_OPTIONS[ws.format]
        accepted = (f"{ws.format} takes " + (", ".join(takes) if takes else "no options")
                    + " besides path, action and format")
        details = []
        for p in problems:
            name, _, rest = p.partition(" ")
            details.append({"field": f"{where}.{name}", "message": f"{rest}; {accepted}",
                            "accepted": list(takes)})
        raise BadRequest("; ".join(f"{d['field']}: {d['message']}" for d in details), details)
    out: dict[str, Any] = {
        "path": normalize_path(ws.path, base_dir, f"{where}.path"),
        "action": ws.action,
        "format": ws.format,
    }
    for name in FORMAT_OPTIONS[ws.format]:
        value = getattr(ws, name)
        out[name] = list(value) if isinstance(value, list) else value
    return out


# -- paths --------------------------------------------------------------------------------------

def _scheme(path: str) -> str:
    scheme = urlsplit(path).scheme if ":" in path else ""
    return "" if len(scheme) <= 1 else scheme.lower()  # one letter: a Windows drive


def normalize_path(path: str, base_dir: str, field_name: str = "path") -> str:
    """Absolute, with ``..`` and (for local paths) symlinks resolved.

    Local paths are resolved against ``base_dir`` (where the launcher runs) when relative; a
    ``file:`` URI stays a ``file:`` URI so a cluster does not read it from its default file
    system. Other URIs keep their scheme and authority; their path is normalised.
    """
    try:
        return _normalize_path(path, base_dir, field_name)
    except ValueError as e:  # a NUL byte, a broken IPv6 host...: the client's text, so a 400
        raise BadRequest(f"{field_name}: not a usable path or URI ({e}), got {path!r}",
                         [{"field": field_name, "message": str(e)}]) from None


def _normalize_path(path: str, base_dir: str, field_name: str) -> str:
    scheme = _scheme(path)
    if scheme == "":
        return os.path.realpath(os.path.join(base_dir, path))
    parts = urlsplit(path)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise BadRequest(f"{field_name}: a file: URI names no host, got {path!r}",
                             [{"field": field_name, "message": "file: URI with a host"}])
        return "file://" + os.path.realpath(parts.path or "/")
    if not parts.path.startswith("/") and parts.path:
        raise BadRequest(f"{field_name}: the URI's path must be absolute, got {path!r}",
                         [{"field": field_name, "message": "relative URI path"}])
    norm = posixpath.normpath(parts.path) if parts.path else "/"
    norm = "/" if norm == "//" else norm
    return f"{scheme}://{parts.netloc}{norm}" if parts.netloc or path.startswith(f"{parts.scheme}://") \
        else f"{scheme}:{norm}"


def local_path(path: str) -> str | None:
    """The local file system path of a plain path or ``file:`` URI; None for other schemes."""
    scheme = _scheme(path)
    if scheme == "":
        return path
    return urlsplit(path).path if scheme == "file" else None


def _split(path: str) -> tuple[str, str, str]:
    """(scheme, authority, absolute path) of a normalised path or URI."""
    scheme = _scheme(path)
    if scheme == "":
        return "file", "", path
    parts = urlsplit(path)
    if scheme == "file":
        return "file", "", parts.path
    return scheme, parts.netloc.lower(), parts.path or "/"


def is_within(path: str, root: str) -> bool:
    """True when the normalised ``path`` is ``root`` or under it (whole segments only)."""
    ps, pa, pp = _split(path)
    rs, ra, rp = _split(root)
    if (ps, pa) != (rs, ra):
        return False
    rp = rp.rstrip("/") or "/"
    return rp == "/" or pp == rp or pp.startswith(rp + "/")


def confine(path: str, roots: list[str], field_name: str, what: str | None = None) -> None:
    """403 unless ``path`` lies under one of ``roots`` (``..`` and symlinks already resolved)."""
    resolved = normalize_path(path, "/", field_name)
    norm_roots = [normalize_path(r, "/", "storage root") for r in roots]
    if any(is_within(resolved, r) for r in norm_roots):
        return
    subject = what or f"{path}"
    shown = ", ".join(roots) if roots else "none"
    raise PathNotAllowed(
        f"{field_name}: {subject} is outside the storage roots granted to you ({shown})",
        [{"field": field_name, "path": path, "resolved": resolved, "roots": list(roots)}])


def create_path(path: str, job_group_id: int) -> str:
    """``create``: a new location beside the old one, ``_<jobGroupId>`` before the extension.

    /out/orders.csv -> /out/orders_12.csv; /out/orders.csv.gz -> /out/orders_12.csv.gz;
    /out/folder -> /out/folder_12.
    """
    trimmed = path.rstrip("/") or path
    head, sep, name = trimmed.rpartition("/")
    stem, ext = split_extension(name)
    return f"{head}{sep}{stem}_{job_group_id}{ext}"


def split_extension(name: str) -> tuple[str, str]:
    rest, ending = name, ""
    for comp in COMPRESSION_ENDINGS:
        if rest.lower().endswith(comp) and len(rest) > len(comp):
            rest, ending = rest[: -len(comp)], rest[-len(comp):]
            break
    dot = rest.rfind(".")
    if dot <= 0:  # no extension, or a dot file
        return rest, ending
    return rest[:dot], rest[dot:] + ending


def concrete_path(write_setting: dict, job_group_id: int) -> str:
    if write_setting["action"] == "create":
        return create_path(write_setting["path"], job_group_id)
    return write_setting["path"]


# -- the dataset graph --------------------------------------------------------------------------

def resolve_datasets(target: int, catalog: Catalog) -> list[Dataset]:
    """Every dataset the target needs, each after the datasets it reads; the target last.

    The order is ``spark_jobs.recipes.order_datasets`` (depth first, input before the datasets
    a recipe names). A cycle or a dataset that does not exist is a 400 naming the chain.
    """
    found: dict[DatasetRef, Dataset] = {}
    named_by: dict[DatasetRef, DatasetRef] = {}

    def fetch(ref: DatasetRef) -> Dataset:
        if ref not in found:
            ds = catalog.imported(ref.id) if ref.kind == "imported" else catalog.wrangled(ref.id)
            if ds is None:
                parent = named_by.get(ref)
                where = f" (read by {parent.kind} dataset {parent.id})" if parent else ""
                raise BadRequest(f"wrangledDataset.id: {ref.kind} dataset {ref.id}{where} does not exist",
                                 [{"field": "wrangledDataset.id", "missing": ref.key}])
            found[ref] = ds
        return found[ref]

    def lookup(ref: DatasetRef) -> tuple[DatasetRef, list]:
        ds = fetch(ref)
        assert isinstance(ds, WrangledDataset)
        steps = list(ds.recipe)
        for dep in [ds.input, *recipe_dependencies(steps)]:
            named_by.setdefault(dep, ref)
        return ds.input, steps

    try:
        refs = order_datasets(DatasetRef(kind="wrangled", id=target), lookup)
    except DependencyCycleError as e:
        raise BadRequest(f"wrangledDataset.id: the {e}",
                         [{"field": "wrangledDataset.id", "cycle": [r.key for r in e.cycle]}]) from None
    except RecipeError as e:  # a stored recipe the current validator no longer reads
        raise BadRequest(f"wrangledDataset.id: a recipe cannot be read: {e}",
                         [{"field": "wrangledDataset.id"}]) from None
    return [fetch(ref) for ref in refs]


# -- the spec -----------------------------------------------------------------------------------

def build_spec(plan: RunPlan, job_group_id: int, job_ids: list[int], *, result_uri: str,
               run_as: str | None = None) -> JobSpec:
    """The job spec of a saved job group; ``job_ids`` in ``plan.job_types()`` order."""
    types = plan.job_types()
    if len(job_ids) != len(types):
        raise ValueError(f"{len(types)} job ids needed ({types}), got {len(job_ids)}")
    writer_ids = job_ids[1:1 + len(plan.writesettings)]
    outputs = [
        Output(jobId=jid, **{**ws, "path": concrete_path(ws, job_group_id)})
        for jid, ws in zip(writer_ids, plan.writesettings)
    ]
    return JobSpec(
        jobGroupId=job_group_id,
        jobs=JobIds(wrangle=job_ids[0], profile=job_ids[-1] if plan.profiler else None),
        datasets=list(plan.datasets),
        target=plan.target,
        outputs=outputs,
        profiler=plan.profiler,
        resultUri=result_uri,
        runAs=run_as,
    )


def job_graph(job_ids: list[int]) -> dict:
    """v4's jobGraph: the wrangle job feeds every other job of the group."""
    first, rest = job_ids[0], job_ids[1:]
    return {"vertices": list(job_ids), "edges": [{"source": first, "target": j} for j in rest]}
