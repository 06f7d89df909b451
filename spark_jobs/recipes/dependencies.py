"""Which datasets a target needs, in the order a job must build them; cycles are errors.

A wrangled dataset depends on its input and on every dataset its recipe names (join, union,
lookup). The launcher's translator calls ``order_datasets`` to lay out a spec's ``datasets``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from spark_jobs.recipes.context import RecipeError
from spark_jobs.recipes.engine import recipe_dependencies
from spark_jobs.spec import DatasetRef

# ref -> (input ref, recipe steps) for a wrangled dataset. Not called for imported datasets.
Lookup = Callable[[DatasetRef], tuple[DatasetRef, Sequence[Any]]]


class DependencyCycleError(RecipeError):
    """Datasets that need each other; ``cycle`` lists them, the first one repeated at the end."""

    def __init__(self, cycle: list[DatasetRef]):
        self.cycle = cycle
        path = " -> ".join(f"{r.kind} dataset {r.id}" for r in cycle)
        super().__init__(f"datasets depend on each other in a cycle: {path}")


def dataset_dependencies(ref: DatasetRef, lookup: Lookup) -> list[DatasetRef]:
    """The datasets ``ref`` reads directly: its input first, then those its recipe names."""
    if ref.kind == "imported":
        return []
    input_ref, steps = lookup(ref)
    out = [input_ref]
    for dep in recipe_dependencies(list(steps or [])):
        if dep not in out:
            out.append(dep)
    return out


def order_datasets(target: DatasetRef, lookup: Lookup) -> list[DatasetRef]:
    """Every dataset ``target`` needs, each after all it depends on; ``target`` comes last.

    Raises DependencyCycleError naming the datasets of a cycle. Iterative, so a long chain of
    datasets cannot exhaust the Python stack.
    """
    order: list[DatasetRef] = []
    state: dict[DatasetRef, str] = {}  # "open" while on the path, "done" once ordered
    path: list[DatasetRef] = []
    stack: list[tuple[DatasetRef, list[DatasetRef] | None]] = [(target, None)]
    while stack:
        ref, pending = stack[-1]
        if pending is None:
            if state.get(ref) == "done":
                stack.pop()
                continue
            state[ref] = "open"
            path.append(ref)
            pending = list(reversed(dataset_dependencies(ref, lookup)))
            stack[-1] = (ref, pending)
        if pending:
            dep = pending.pop()
            if state.get(dep) == "open":
                raise DependencyCycleError(path[path.index(dep):] + [dep])
            if state.get(dep) != "done":
                stack.append((dep, None))
            continue
        stack.pop()
        path.pop()
        state[ref] = "done"
        order.append(ref)
    return order
