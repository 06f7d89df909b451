"""Imported and wrangled datasets, their recipes, last-run settings and sharing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from launcher.store.models import (
    INPUT_KINDS,
    ROLES,
    ImportedDataset,
    Permission,
    WrangledDataset,
    id_in_range,
    row_bound,
    utcnow,
)


def create_imported(s: Session, owner_id: int, name: str, uri: str, format: str,
                    options: dict[str, Any] | None = None, *, now: datetime | None = None) -> ImportedDataset:
    now = now or utcnow()
    ds = ImportedDataset(owner_id=owner_id, name=name, uri=uri, format=format,
                         options=dict(options or {}), created_at=now, updated_at=now)
    s.add(ds)
    s.flush()
    return ds


def get_imported(s: Session, dataset_id: int) -> ImportedDataset | None:
    return s.get(ImportedDataset, dataset_id) if id_in_range(dataset_id) else None


def list_imported(s: Session, owner_id: int | None = None, *, limit: int | None = None,
                  offset: int = 0) -> tuple[list[ImportedDataset], int]:
    """Newest first; ``owner_id=None`` lists everyone's (admins)."""
    q = select(ImportedDataset)
    if owner_id is not None:
        q = q.where(ImportedDataset.owner_id == owner_id)
    return _page(s, q, ImportedDataset.id, limit, offset)


def create_wrangled(s: Session, owner_id: int, name: str, input_kind: str, input_id: int,
                    recipe: list[Any] | None = None, *, now: datetime | None = None) -> WrangledDataset:
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {', '.join(INPUT_KINDS)}, got {input_kind!r}")
    now = now or utcnow()
    ds = WrangledDataset(owner_id=owner_id, name=name, input_kind=input_kind, input_id=input_id,
                         recipe=list(recipe or []), created_at=now, updated_at=now)
    s.add(ds)
    s.flush()
    return ds


def get_wrangled(s: Session, dataset_id: int) -> WrangledDataset | None:
    return s.get(WrangledDataset, dataset_id) if id_in_range(dataset_id) else None


def get_wrangled_many(s: Session, ids: list[int]) -> dict[int, WrangledDataset]:
    ids = [i for i in ids if id_in_range(i)]
    if not ids:
        return {}
    return {d.id: d for d in s.scalars(select(WrangledDataset).where(WrangledDataset.id.in_(ids)))}


def get_imported_many(s: Session, ids: list[int]) -> dict[int, ImportedDataset]:
    ids = [i for i in ids if id_in_range(i)]
    if not ids:
        return {}
    return {d.id: d for d in s.scalars(select(ImportedDataset).where(ImportedDataset.id.in_(ids)))}


def list_wrangled(s: Session, user_id: int | None = None, *, limit: int | None = None,
                  offset: int = 0) -> tuple[list[WrangledDataset], int]:
    """Datasets a user owns or that are shared with them, newest first; None lists all."""
    q = select(WrangledDataset)
    if user_id is not None:
        shared = exists().where(Permission.wrangled_dataset_id == WrangledDataset.id,
                                Permission.user_id == user_id)
        q = q.where(or_(WrangledDataset.owner_id == user_id, shared))
    return _page(s, q, WrangledDataset.id, limit, offset)


def set_recipe(s: Session, ds: WrangledDataset, steps: list[Any], *, now: datetime | None = None) -> None:
    ds.recipe = list(steps)  # a new list object: SQLAlchemy notices JSON changes by assignment
    ds.updated_at = now or utcnow()
    s.flush()


def set_last_run(s: Session, ds: WrangledDataset, overrides: dict[str, Any], *,
                 now: datetime | None = None) -> None:
    ds.last_run = dict(overrides)
    ds.updated_at = now or utcnow()
    s.flush()


def grant(s: Session, wrangled_dataset_id: int, user_id: int, role: str) -> Permission:
    """Give (or change) a user's role on a wrangled dataset."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    perm = s.scalar(select(Permission).where(Permission.wrangled_dataset_id == wrangled_dataset_id,
                                             Permission.user_id == user_id))
    if perm is None:
        perm = Permission(wrangled_dataset_id=wrangled_dataset_id, user_id=user_id, role=role)
        s.add(perm)
    else:
        perm.role = role
    s.flush()
    return perm


def revoke(s: Session, wrangled_dataset_id: int, user_id: int) -> bool:
    perm = s.scalar(select(Permission).where(Permission.wrangled_dataset_id == wrangled_dataset_id,
                                             Permission.user_id == user_id))
    if perm is None:
        return False
    s.delete(perm)
    s.flush()
    return True


def shared_role(s: Session, wrangled_dataset_id: int, user_id: int) -> str | None:
    """The role granted by a permission row ('viewer' | 'editor'), not counting ownership."""
    return s.scalar(select(Permission.role).where(Permission.wrangled_dataset_id == wrangled_dataset_id,
                                                  Permission.user_id == user_id))


def permissions_of(s: Session, wrangled_dataset_id: int) -> list[Permission]:
    return list(s.scalars(select(Permission).where(Permission.wrangled_dataset_id == wrangled_dataset_id)
                          .order_by(Permission.id)))


def _page(s: Session, q, id_col, limit: int | None, offset: int):
    count = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    q = q.order_by(id_col.desc()).offset(row_bound(offset))
    if limit is not None:
        q = q.limit(row_bound(limit))
    return list(s.scalars(q)), count
