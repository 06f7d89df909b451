"""Static checks of an expression tree: no Spark needed (the launcher validates recipes on save).

Known functions with the right number of arguments, literal arguments where a function needs
them, aggregates and window functions only where a step allows them, and, when the columns are
known, columns that exist. Unknown names come with the closest known ones.
"""

from __future__ import annotations

import difflib
from typing import Any, Sequence

from spark_jobs.recipes.expr_ast import ArrayLit, Call, ColumnRef, Literal, Node, Special
from spark_jobs.recipes.functions import AGGREGATE, FORBIDDEN_HINT, FUNCTIONS, WINDOW, Lit

# Where an expression sits decides which functions it may call.
ROW = "row"              # derive, set, filter: one value per row
AGGREGATE_CTX = "aggregate"  # aggregate / pivot values: one value per group
WINDOW_CTX = "window"    # derive with group/order, window: aggregates and window functions


def closest(name: str, known: Sequence[str], n: int = 3) -> list[str]:
    by_lower = {k.lower(): k for k in known}
    hits = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.5)
    return [by_lower[h] for h in hits]


def suggestion(name: str, known: Sequence[str]) -> str:
    hits = closest(name, known)
    return f"; closest: {', '.join(hits)}" if hits else ""


def find_column(name: str, columns: Sequence[str]) -> str | None:
    """The schema's own spelling of ``name`` (Spark resolves names case-insensitively)."""
    if name in columns:
        return name
    matches = [c for c in columns if c.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def literal_value(node: Node, spec: Lit) -> tuple[Any, str | None]:
    """(value, None) or (None, what was expected)."""
    k = spec.kind
    if k == "int":
        if isinstance(node, Literal) and node.type == "Integer":
            return node.value, None
        return None, "a whole number written as a literal"
    if k == "bool":
        if isinstance(node, Literal) and node.type == "Boolean":
            return node.value, None
        return None, "true or false"
    if k == "str":
        if isinstance(node, Literal) and node.type == "String":
            return node.value, None
        return None, "a quoted text literal"
    if k == "unit":
        word = None
        if isinstance(node, Literal) and node.type == "String":
            word = node.value
        elif isinstance(node, ColumnRef):
            word = node.name
        if word is not None and word.lower() in spec.choices:
            return word.lower(), None
        return None, "one of " + ", ".join(spec.choices)
    if k == "strs":
        if isinstance(node, Literal) and node.type == "String":
            return [node.value], None
        if isinstance(node, ArrayLit) and node.items and all(
                isinstance(i, Literal) and i.type == "String" for i in node.items):
            return [i.value for i in node.items], None
        return None, "a quoted text or a [list] of quoted texts"
    if k == "values":
        if isinstance(node, ArrayLit) and node.items and all(
                isinstance(i, Literal) for i in node.items):
            return [i.value for i in node.items], None
        return None, "a [list] of literal values"
    if k == "array":
        if isinstance(node, ArrayLit) and node.items:
            return None, None
        return None, "a [list] of values"
    raise ValueError(k)


def check_expression(node: Node, *, context: str = ROW, columns: Sequence[str] | None = None,
                     allow_current: bool = False) -> list[str]:
    """Every problem of one expression, as messages (the caller adds step and parameter)."""
    problems: list[str] = []
    # (node, inside an aggregate) pairs; iterative, the parser already bounds the depth.
    stack: list[tuple[Node, str | None]] = [(node, None)]
    while stack:
        n, in_agg = stack.pop()
        if isinstance(n, Call):
            problems.extend(_check_call(n, context, in_agg))
            f = FUNCTIONS.get(n.name)
            if f is None:
                stack.extend((a, in_agg) for a in reversed(n.args))
                continue
            inner = n.name if f.kind in (AGGREGATE, WINDOW) else in_agg
            pending = []
            for i, arg in enumerate(n.args):
                spec = f.literals.get(i)
                if spec is not None and spec.kind != "array":
                    continue  # literal arguments were checked in _check_call
                if spec is not None and isinstance(arg, ArrayLit):
                    pending.extend((item, inner) for item in arg.items)
                else:
                    pending.append((arg, inner))
            stack.extend(reversed(pending))  # popped in the order written
            continue
        if isinstance(n, ArrayLit):
            problems.append(f"a [list] at position {n.pos} is allowed only as an argument of "
                            "IN, MERGE or PARSEDATE")
            continue
        if isinstance(n, ColumnRef) and columns is not None:
            if find_column(n.name, columns) is None:
                problems.append(f"unknown column {n.name!r}{suggestion(n.name, columns)}")
        if isinstance(n, Special) and n.name == "col" and not allow_current:
            problems.append("$col is allowed only in the value of a set step")
        stack.extend((c, in_agg) for c in reversed(n.children()))
    if context == AGGREGATE_CTX and not _has_aggregate(node):
        problems.append("each value here must use an aggregate function "
                        "(SUM, AVERAGE, MIN, MAX, COUNT, ...)")
    return problems


def _has_aggregate(node: Node) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Call) and n.name in FUNCTIONS and FUNCTIONS[n.name].kind == AGGREGATE:
            return True
        stack.extend(n.children())
    return False


def _check_call(n: Call, context: str, in_agg: str | None) -> list[str]:
    f = FUNCTIONS.get(n.name)
    if f is None:
        hint = ""
        if n.name in FORBIDDEN_HINT:
            hint = " (recipes call only the functions of the Wrangle language)"
        return [f"unknown function {n.name}{hint}{suggestion(n.name, list(FUNCTIONS))}"]
    problems = []
    count = len(n.args)
    if count < f.min_args or (f.max_args is not None and count > f.max_args):
        problems.append(f"{n.name} takes {f.arity_text()}, got {count}")
    if f.kind == AGGREGATE and context == ROW:
        problems.append(f"{n.name} is an aggregate function: use it in aggregate, pivot or "
                        "window, or in derive with group")
    if f.kind == WINDOW and context != WINDOW_CTX:
        problems.append(f"{n.name} is a window function: use it in a window step or in derive "
                        "with group/order")
    if f.kind in (AGGREGATE, WINDOW) and in_agg is not None:
        problems.append(f"{n.name} cannot be used inside {in_agg}")
    for i, spec in f.literals.items():
        if i < count:
            _, expected = literal_value(n.args[i], spec)
            if expected is not None:
                problems.append(f"argument {i + 1} of {n.name} must be {expected}")
    return problems


def references(node: Node) -> tuple[set[str], set[str]]:
    """(column names, special names) the expression reads."""
    cols, specials = set(), set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ColumnRef):
            cols.add(n.name)
        elif isinstance(n, Special):
            specials.add(n.name)
        elif isinstance(n, Call) and n.name in FUNCTIONS:
            f = FUNCTIONS[n.name]
            for i, a in enumerate(n.args):
                spec = f.literals.get(i)
                if spec is not None and spec.kind == "unit":
                    continue  # DATEDIF(a, b, month): `month` is a unit, not a column
                stack.append(a)
            continue
        stack.extend(n.children())
    return cols, specials


def uses_kind(node: Node, kind: str) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Call) and n.name in FUNCTIONS and FUNCTIONS[n.name].kind == kind:
            return True
        stack.extend(n.children())
    return False


__all__ = ["check_expression", "closest", "find_column", "literal_value", "references",
           "uses_kind", "ROW", "AGGREGATE_CTX", "WINDOW_CTX"]
