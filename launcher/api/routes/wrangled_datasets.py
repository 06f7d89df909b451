"""Wrangled datasets: an input (imported or wrangled) plus a recipe; sharing by permissions.

Recipes are checked when saved (``spark_jobs.recipes.validate_recipe``): a bad step is a 400
naming its index and parameter, never a failure at run time. Steps that name other datasets
(join, union, lookup) must name datasets the caller can see, and may not close a cycle.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from launcher import auth, translate
from launcher.api import present
from launcher.api.catalog import StoreCatalog
from launcher.api.context import current_user, db
from launcher.api.errors import BadRequest, NotFound
from launcher.api.schemas import PermissionCreate, RecipeUpdate, WrangledDatasetCreate
from launcher.store import repo_datasets, repo_users
from launcher.store.models import User, WrangledDataset
from spark_jobs.recipes import recipe_dependencies, validate_recipe
from spark_jobs.spec import DatasetRef

router = APIRouter(tags=["wrangledDatasets"])


def check_recipe(s: Session, user: User, steps: list[Any], field: str, owner_id: int | None,
                 dataset_id: int | None = None, input_ref: DatasetRef | None = None) -> None:
    """400 naming the step for an invalid step, an unknown dataset it names, or a cycle."""
    try:
        problems = validate_recipe(steps)
    except Exception as e:  # noqa: BLE001 - a validator crash is still the recipe's problem to report
        raise BadRequest(f"{field}: the recipe cannot be checked: {type(e).__name__}: {e}",
                         [{"field": field}]) from None
    if problems:
        details = [{"field": f"{field}[{p.step}]" + (f".{p.param}" if p.param else ""), "message": p.message}
                   for p in problems]
        raise BadRequest("; ".join(f"{d['field']}: {d['message']}" for d in details), details)
    details = []
    for i, step in enumerate(steps):
        for ref in recipe_dependencies([step]):
            if not _may_use(s, user, ref, owner_id):
                details.append({"field": f"{field}[{i}]", "message": f"names {ref.kind} dataset {ref.id}, "
                                "which does not exist or is not shared with you"})
    if details:
        raise BadRequest("; ".join(f"{d['field']}: {d['message']}" for d in details), details)
    if dataset_id is not None:
        # Would the graph from this dataset, with the new recipe, still end?
        catalog = StoreCatalog(s, overrides={dataset_id: steps})
        try:
            translate.resolve_datasets(dataset_id, catalog)
        except BadRequest as e:
            raise BadRequest(e.message.replace("wrangledDataset.id", field, 1),
                             [{**d, "field": field} for d in (e.details or [])]) from None


def _may_use(s: Session, user: User, ref: DatasetRef, owner_id: int | None) -> bool:
    if ref.kind == "imported":
        row = repo_datasets.get_imported(s, ref.id)
        return row is not None and (user.is_admin or row.owner_id in (user.id, owner_id))
    row = repo_datasets.get_wrangled(s, ref.id)
    return row is not None and (row.owner_id == owner_id or auth.wrangled_role(s, user, row) is not None)


def create(body: WrangledDatasetCreate, s: Session = Depends(db), user: User = Depends(current_user)):
    if body.importedDataset is not None:
        src = auth.require_imported(s, user, body.importedDataset.id)
        kind = "imported"
    else:
        src = auth.require_wrangled(s, user, body.wrangledDataset.id, "viewer")
        kind = "wrangled"
    check_recipe(s, user, list(body.recipe), "recipe", owner_id=user.id)
    ds = repo_datasets.create_wrangled(s, user.id, body.name, kind, src.id, list(body.recipe))
    s.commit()
    return JSONResponse(present.wrangled_dataset(ds, "owner"), status_code=201)


def list_all(s: Session = Depends(db), user: User = Depends(current_user),
             limit: int = Query(25, ge=0, le=1000), offset: int = Query(0, ge=0)):
    rows, count = repo_datasets.list_wrangled(s, None if user.is_admin else user.id, limit=limit, offset=offset)
    return {"data": [present.wrangled_dataset(d, auth.wrangled_role(s, user, d)) for d in rows], "count": count}


def get_one(dataset_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    ds = auth.require_wrangled(s, user, dataset_id, "viewer")
    return present.wrangled_dataset(ds, auth.wrangled_role(s, user, ds))


def get_recipe(dataset_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    ds = auth.require_wrangled(s, user, dataset_id, "viewer")
    return {"steps": list(ds.recipe or [])}


def put_recipe(dataset_id: int, body: RecipeUpdate, s: Session = Depends(db), user: User = Depends(current_user)):
    ds: WrangledDataset = auth.require_wrangled(s, user, dataset_id, "editor")
    check_recipe(s, user, list(body.steps), "steps", owner_id=ds.owner_id, dataset_id=ds.id)
    repo_datasets.set_recipe(s, ds, list(body.steps))
    s.commit()
    return present.wrangled_dataset(ds, auth.wrangled_role(s, user, ds))


def share(dataset_id: int, body: PermissionCreate, s: Session = Depends(db), user: User = Depends(current_user)):
    ds = auth.require_wrangled(s, user, dataset_id, "owner")
    other = repo_users.get_user_by_name(s, body.user)
    if other is None:
        raise BadRequest(f"user: no user named {body.user!r}", [{"field": "user"}])
    if other.id == ds.owner_id:
        raise BadRequest(f"user: {body.user!r} owns wrangled dataset {dataset_id} already",
                         [{"field": "user"}])
    perm = repo_datasets.grant(s, ds.id, other.id, body.role)
    s.commit()
    return JSONResponse(present.permission(perm, other.name), status_code=201)


def list_permissions(dataset_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    auth.require_wrangled(s, user, dataset_id, "viewer")
    perms = repo_datasets.permissions_of(s, dataset_id)
    return {"data": [present.permission(p, p.user.name) for p in perms], "count": len(perms)}


def unshare(dataset_id: int, user_name: str, s: Session = Depends(db), user: User = Depends(current_user)):
    ds = auth.require_wrangled(s, user, dataset_id, "owner")
    other = repo_users.get_user_by_name(s, user_name)
    if other is None or not repo_datasets.revoke(s, ds.id, other.id):
        raise NotFound(f"wrangled dataset {dataset_id} is not shared with {user_name!r}")
    s.commit()
    return Response(status_code=204)


for version in ("v3", "v4"):
    base = f"/{version}/wrangledDatasets"
    router.add_api_route(base, create, methods=["POST"], status_code=201,
                         summary="A wrangled dataset: an input and an optional recipe")
    router.add_api_route(base, list_all, methods=["GET"], summary="Wrangled datasets you own or that are shared with you")
    router.add_api_route(f"{base}/{{dataset_id}}", get_one, methods=["GET"], summary="A wrangled dataset")
    router.add_api_route(f"{base}/{{dataset_id}}/recipe", get_recipe, methods=["GET"], summary="Its recipe")
    router.add_api_route(f"{base}/{{dataset_id}}/recipe", put_recipe, methods=["PUT"],
                         summary="Replace the recipe (owners and editors)")
    router.add_api_route(f"{base}/{{dataset_id}}/permissions", share, methods=["POST"], status_code=201,
                         summary="Share with a user as viewer or editor (owners)")
    router.add_api_route(f"{base}/{{dataset_id}}/permissions", list_permissions, methods=["GET"],
                         summary="Who it is shared with")
    router.add_api_route(f"{base}/{{dataset_id}}/permissions/{{user_name}}", unshare, methods=["DELETE"],
                         status_code=204, summary="Stop sharing with a user (owners)")
