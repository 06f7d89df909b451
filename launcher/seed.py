"""Demo data for `make run`: on the first start, the examples/ data is registered for `admin`.

"First start" means the store holds no dataset at all. Then: the user ``admin`` (created if
missing), the files of ``examples/data`` as imported datasets, and one wrangled dataset, "orders
(clean)", with a small recipe. ``examples/requests/specify-job.json`` runs it; its output lands
under ``var/data`` (a storage root by default).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from launcher.store import repo_datasets, repo_users
from launcher.store.models import ImportedDataset, WrangledDataset

log = logging.getLogger("launcher.seed")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ADMIN = "admin"

# (file under examples/data, dataset name, format)
SOURCES = (
    ("orders.csv", "orders", "csv"),
    ("customers.csv", "customers", "csv"),
    ("customers.json", "customers (json)", "json"),
)

# The seed's wrangled dataset: typed quantity, a derived amount, returned orders left out.
RECIPE: list[Any] = [
    {"op": "settype", "col": ["quantity"], "type": "Integer"},
    {"op": "derive", "value": "quantity * unit_price", "as": "amount"},
    "filter type: custom rowType: single row: status != 'returned' action: Keep",
]


@dataclass
class Seeded:
    user_id: int
    imported: dict[str, int] = field(default_factory=dict)
    wrangled_id: int | None = None


def is_first_start(s: Session) -> bool:
    count = s.scalar(select(func.count()).select_from(ImportedDataset)) or 0
    count += s.scalar(select(func.count()).select_from(WrangledDataset)) or 0
    return count == 0


def seed(s: Session, examples: Path = EXAMPLES) -> Seeded:
    """Register the demo data (the caller commits)."""
    user = repo_users.get_user_by_name(s, ADMIN) or repo_users.create_user(s, ADMIN, is_admin=True)
    out = Seeded(user_id=user.id)
    data = examples / "data"
    for filename, name, fmt in SOURCES:
        path = data / filename
        if path.is_file():
            out.imported[filename] = repo_datasets.create_imported(s, user.id, name, str(path.resolve()), fmt).id
    if "orders.csv" in out.imported:
        out.wrangled_id = repo_datasets.create_wrangled(
            s, user.id, "orders (clean)", "imported", out.imported["orders.csv"], RECIPE).id
    return out


def seed_if_first_start(settings: Any, sessions: sessionmaker, examples: Path = EXAMPLES) -> Seeded | None:
    if not (examples / "data").is_dir():
        return None
    with sessions() as s:
        if not is_first_start(s):
            return None
        seeded = seed(s, examples)
        s.commit()
    log.info("registered the demo data in %s for user %s: imported datasets %s, wrangled dataset %s",
             examples, ADMIN, seeded.imported, seeded.wrangled_id)
    return seeded
