"""Imported datasets: sources registered by uri, with their format and read options."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from launcher import auth, translate
from launcher.api import present
from launcher.api.context import AppContext, ctx, current_user, db
from launcher.api.errors import BadRequest
from launcher.api.schemas import SOURCE_FORMATS, ImportedDatasetCreate
from launcher.store import repo_datasets
from launcher.store.models import User

router = APIRouter(tags=["importedDatasets"])

EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "text", ".log": "text",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".parquet": "pqt", ".pqt": "pqt", ".avro": "avro",
}
# Read options only text sources use.
TEXT_SOURCES = ("csv", "json", "text")


def format_from_name(name: str) -> str | None:
    _, ext = translate.split_extension(name)
    for comp in translate.COMPRESSION_ENDINGS:
        if ext.lower().endswith(comp):
            ext = ext[: -len(comp)]
    return EXTENSIONS.get(ext.lower())


def infer_format(uri: str) -> str | None:
    """From a Delta log, the extension, or (a local folder) the extension of the files in it."""
    local = translate.local_path(uri)
    if local and os.path.isdir(os.path.join(local, "_delta_log")):
        return "delta"
    fmt = format_from_name(uri.rstrip("/").rsplit("/", 1)[-1])
    if fmt or not (local and os.path.isdir(local)):
        return fmt
    found = {format_from_name(n) for n in os.listdir(local) if not n.startswith(("_", "."))}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def create(body: ImportedDatasetCreate, c: AppContext = Depends(ctx), s: Session = Depends(db),
           user: User = Depends(current_user)):
    uri = translate.normalize_path(body.uri, c.base_dir, "uri")
    translate.confine(uri, c.settings.roots_for(user.name), "uri")
    local = translate.local_path(uri)
    if local is not None and not os.path.exists(local):
        raise BadRequest(f"uri: nothing at {uri}", [{"field": "uri", "message": "no such file or folder"}])
    fmt = body.format or infer_format(uri)
    if fmt is None:
        raise BadRequest(f"format: cannot tell the format of {uri} from its name; give format, one of "
                         f"{', '.join(SOURCE_FORMATS)}",
                         [{"field": "format", "accepted": list(SOURCE_FORMATS)}])
    options = body.options.model_dump(exclude_unset=True) if body.options else {}
    if options and fmt not in TEXT_SOURCES:
        raise BadRequest(f"options: read options apply to {', '.join(TEXT_SOURCES)} sources only, not {fmt}",
                         [{"field": "options", "message": f"not for {fmt}"}])
    if fmt == "csv" and uri.lower().endswith(".tsv") and "delimiter" not in options:
        options["delimiter"] = "\t"
    ds = repo_datasets.create_imported(s, user.id, body.name, uri, fmt, options)
    s.commit()
    return JSONResponse(present.imported_dataset(ds), status_code=201)


def list_all(s: Session = Depends(db), user: User = Depends(current_user),
             limit: int = Query(25, ge=0, le=1000), offset: int = Query(0, ge=0)):
    rows, count = repo_datasets.list_imported(s, None if user.is_admin else user.id, limit=limit, offset=offset)
    return {"data": [present.imported_dataset(d) for d in rows], "count": count}


def get_one(dataset_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    return present.imported_dataset(auth.require_imported(s, user, dataset_id))


for version in ("v3", "v4"):
    router.add_api_route(f"/{version}/importedDatasets", create, methods=["POST"], status_code=201,
                         summary="Register a source (format from the extension when not given)")
    router.add_api_route(f"/{version}/importedDatasets", list_all, methods=["GET"],
                         summary="Imported datasets, newest first")
    router.add_api_route(f"/{version}/importedDatasets/{{dataset_id}}", get_one, methods=["GET"],
                         summary="An imported dataset")
