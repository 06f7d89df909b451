"""The translator's catalog backed by the store: dataset rows -> the spec's dataset models."""

from __future__ import annotations

from sqlalchemy.orm import Session

from launcher.store import repo_datasets
from spark_jobs.spec import DatasetRef, ImportedDataset, ReadOptions, WrangledDataset


class StoreCatalog:
    """Looks datasets up by id, once each per request (the graph may name one many times)."""

    def __init__(self, s: Session, overrides: dict[int, list] | None = None):
        self.s = s
        # A recipe not saved yet (PUT .../recipe checks the graph it would make).
        self.recipe_overrides = overrides or {}
        self._imported: dict[int, ImportedDataset | None] = {}
        self._wrangled: dict[int, WrangledDataset | None] = {}

    def imported(self, dataset_id: int) -> ImportedDataset | None:
        if dataset_id not in self._imported:
            row = repo_datasets.get_imported(self.s, dataset_id)
            self._imported[dataset_id] = None if row is None else ImportedDataset(
                id=row.id, name=row.name, uri=row.uri, format=row.format,
                options=ReadOptions(**(row.options or {})))
        return self._imported[dataset_id]

    def wrangled(self, dataset_id: int) -> WrangledDataset | None:
        if dataset_id not in self._wrangled:
            row = repo_datasets.get_wrangled(self.s, dataset_id)
            recipe = self.recipe_overrides.get(dataset_id, row.recipe if row else None)
            self._wrangled[dataset_id] = None if row is None else WrangledDataset(
                id=row.id, name=row.name, input=DatasetRef(kind=row.input_kind, id=row.input_id),
                recipe=list(recipe or []))
        return self._wrangled[dataset_id]
