"""The typed syntax tree of a Wrangle expression.

Nodes are immutable and carry their position in the source text (for error messages) and their
depth (so a tree too deep to compile safely is refused while parsing, never by a RecursionError).
Literal nodes carry their Wrangle type; the type of every other node is worked out by
``spark_jobs.recipes.types.infer`` from the function signatures and the input schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass(frozen=True)
class Node:
    pos: int = field(default=0, kw_only=True, compare=False)
    depth: int = field(default=1, kw_only=True, compare=False)

    def children(self) -> tuple["Node", ...]:
        return ()


@dataclass(frozen=True)
class Literal(Node):
    value: Any
    type: str  # String, Integer, Decimal, Boolean, Null


@dataclass(frozen=True)
class ColumnRef(Node):
    name: str


@dataclass(frozen=True)
class Special(Node):
    """``$col`` (the column being set) or ``$sourcerownumber``."""

    name: str  # "col" | "sourcerownumber"


@dataclass(frozen=True)
class ArrayLit(Node):
    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" | "!"
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Call(Node):
    name: str  # upper case
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


def walk(node: Node) -> Iterator[Node]:
    """Every node, parents first; iterative so that no tree can exhaust the Python stack."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children()))


def to_text(node: Node) -> str:
    """Canonical Wrangle text of a tree (used in messages and default column names)."""
    if isinstance(node, Literal):
        if node.type == "String":
            return "'" + str(node.value).replace("\\", "\\\\").replace("'", "\\'") + "'"
        if node.type == "Null":
            return "null"
        if node.type == "Boolean":
            return "true" if node.value else "false"
        return repr(node.value)
    if isinstance(node, ColumnRef):
        n = node.name
        return n if n.isidentifier() else "`" + n + "`"
    if isinstance(node, Special):
        return "$" + node.name
    if isinstance(node, ArrayLit):
        return "[" + ", ".join(to_text(i) for i in node.items) + "]"
    if isinstance(node, Unary):
        return node.op + to_text(node.operand)
    if isinstance(node, Binary):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, Call):
        return node.name + "(" + ", ".join(to_text(a) for a in node.args) + ")"
    raise TypeError(type(node))
