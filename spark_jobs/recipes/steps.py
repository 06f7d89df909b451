"""Step models and the two ways to write a step (a JSON object, a line of Wrangle text).

Each op is a dataclass registered with ``@step``; its fields, declared with ``param(kind, ...)``,
are the op's parameters. ``parse_step`` turns either form into an instance, collecting every
problem (unknown op or parameter, missing or ill-typed value) with the parameter's name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from pyspark.sql import DataFrame

from spark_jobs.recipes.context import RecipeContext
from spark_jobs.recipes.expr_check import (
    ROW,
    check_expression,
    find_column,
    suggestion,
)
from spark_jobs.recipes.params import CONVERTERS, Expr, ParamError
from spark_jobs.spec import DatasetRef

STEPS: dict[str, type["Step"]] = {}


def param(kind: str, *, required: bool = False, default: Any = None, choices: Sequence = (),
          context: str = ROW, wire: str | None = None, ignored: bool = False,
          must_exist: bool = True):
    """A step parameter. ``wire`` is its name in recipes when that is a Python keyword."""
    meta = {"kind": kind, "required": required, "choices": tuple(choices), "context": context,
            "wire": wire, "ignored": ignored, "must_exist": must_exist}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


def step(op: str, *aliases: str):
    def deco(cls):
        cls.op = op
        STEPS[op] = cls
        for a in aliases:
            STEPS[a] = cls
        return cls
    return deco


@dataclass
class Step:
    op: ClassVar[str] = ""
    index: int = field(default=0, kw_only=True)

    # -- the parameters --------------------------------------------------------------------
    @classmethod
    def params(cls) -> dict[str, dataclasses.Field]:
        return {(f.metadata.get("wire") or f.name): f for f in dataclasses.fields(cls)
                if "kind" in f.metadata}

    # -- what an op overrides --------------------------------------------------------------
    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        raise NotImplementedError

    def output_columns(self, columns: list[str]) -> list[str] | None:
        """The columns after this step (None: not known without running, e.g. a join)."""
        return columns

    def check(self, columns: list[str] | None) -> list[tuple[str, str]]:
        """(parameter, message) problems; ``columns`` is None when they are not known."""
        problems = []
        for wire, f in self.params().items():
            value = getattr(self, f.name)
            kind, ctx = f.metadata["kind"], f.metadata["context"]
            if value is None:
                continue
            if kind in ("expr", "exprs"):
                for e in (value if isinstance(value, list) else [value]):
                    for msg in check_expression(e.node, context=ctx, columns=columns,
                                                allow_current=self.op == "set"):
                        problems.append((wire, msg))
            elif kind in ("col", "cols") and columns is not None and f.metadata["must_exist"]:
                for name in (value if isinstance(value, list) else [value]):
                    if find_column(name, columns) is None:
                        problems.append((wire, f"unknown column {name!r}"
                                               f"{suggestion(name, columns)}"))
            elif kind == "order" and columns is not None:
                for key in value:
                    if key.name != "$sourcerownumber" and find_column(key.name, columns) is None:
                        problems.append((wire, f"unknown column {key.name!r}"
                                               f"{suggestion(key.name, columns)}"))
        return problems

    def dependencies(self) -> list[DatasetRef]:
        return []


# -- parsing ------------------------------------------------------------------------------------
@dataclass
class Parsed:
    step: Step | None
    problems: list[tuple[str | None, str]]


def parse_step(raw: Any, index: int) -> Parsed:
    if isinstance(raw, str):
        try:
            op, values = split_wrangle_line(raw)
        except ParamError as e:
            return Parsed(None, [(None, str(e))])
        return _build(op, values, index, text=True)
    if isinstance(raw, dict):
        if "op" not in raw:
            return Parsed(None, [("op", "missing; expected one of " + ", ".join(sorted(STEPS)))])
        op = raw["op"]
        if not isinstance(op, str):
            return Parsed(None, [("op", "expected the op's name as text")])
        return _build(op, {k: v for k, v in raw.items() if k != "op"}, index, text=False)
    return Parsed(None, [(None, "a step is a JSON object with an op, or a line of Wrangle text; "
                                f"got {type(raw).__name__}")])


def _build(op: str, values: dict[str, Any], index: int, text: bool) -> Parsed:
    cls = STEPS.get(op.lower()) if isinstance(op, str) else None
    if cls is None:
        return Parsed(None, [("op", f"unknown op {op!r}{suggestion(op, sorted(STEPS))}")])
    params = cls.params()
    by_lower = {k.lower(): k for k in params}
    problems: list[tuple[str | None, str]] = []
    kwargs: dict[str, Any] = {}
    for key, raw in values.items():
        wire = by_lower.get(key.lower())
        if wire is None:
            problems.append((key, f"unknown parameter of {cls.op}; expected one of "
                                  f"{', '.join(sorted(params))}{suggestion(key, list(params))}"))
            continue
        f = params[wire]
        meta = f.metadata
        try:
            value = CONVERTERS[meta["kind"]](raw, text)
            if meta["choices"]:
                value = _choice(value, meta["choices"])
        except ParamError as e:
            problems.append((wire, f"expected {e}"))
            continue
        if meta["ignored"]:
            continue
        kwargs[f.name] = value
    for wire, f in params.items():
        if f.metadata["required"] and f.name not in kwargs and not any(
                p == wire for p, _ in problems):
            problems.append((wire, f"required by {cls.op}"))
    if problems:
        return Parsed(None, problems)
    try:
        s = cls(index=index, **kwargs)
    except ParamError as e:
        return Parsed(None, [(None, str(e))])
    extra = getattr(s, "problems_after_init", lambda: [])()
    if op.lower() != cls.op:
        s = _alias_fixups(s, op.lower())
    return Parsed(s if not extra else None, extra)


def _alias_fixups(s: Step, alias: str) -> Step:
    fix = getattr(s, "from_alias", None)
    return fix(alias) if fix else s


def _choice(value: Any, choices: tuple) -> Any:
    for c in choices:
        if isinstance(value, str) and value.lower() == str(c).lower():
            return c
    raise ParamError("one of " + ", ".join(str(c) for c in choices))


def split_wrangle_line(line: str) -> tuple[str, dict[str, str]]:
    """``derive type: single value: UPPER(a) as: 'b'`` -> ("derive", {type, value, as}).

    A key is a name followed by ':' at the top level: not inside quotes, backticks, brackets,
    parentheses or a /regex/ that opens a value.
    """
    text = line.strip()
    if not text:
        raise ParamError("empty step text")
    n = len(text)
    i = 0
    while i < n and not text[i].isspace():
        i += 1
    op = text[:i]
    if not op.isidentifier():
        raise ParamError(f"a step line starts with its op, found {op!r}")
    values: dict[str, str] = {}
    key: str | None = None
    start = i
    depth = 0
    value_start = True
    while i < n:
        c = text[i]
        if c in "'\"`":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" and c != "`" else 1
            if j >= n:
                raise ParamError(f"unterminated {c} in step text")
            i = j + 1
            value_start = False
            continue
        if c == "/" and value_start:
            j = i + 1
            while j < n and text[j] != "/":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ParamError("unterminated /regex/ in step text")
            i = j + 1
            value_start = False
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c.isspace():
            i += 1
            continue
        if depth == 0 and (c.isalpha() or c == "_") and (i == 0 or text[i - 1].isspace()):
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            k = j
            while k < n and text[k] == " ":
                k += 1
            if k < n and text[k] == ":":
                if key is not None:
                    _put(values, key, text[start:i])
                elif text[start:i].strip():
                    raise ParamError(f"unexpected {text[start:i].strip()!r} before the first "
                                     "parameter")
                key = text[i:j]
                i = k + 1
                start = i
                value_start = True
                continue
            i = j
            value_start = False
            continue
        value_start = False
        i += 1
    if depth != 0:
        raise ParamError("unbalanced brackets in step text")
    if key is not None:
        _put(values, key, text[start:])
    elif text[start:].strip():
        raise ParamError(f"unexpected {text[start:].strip()!r}: parameters are written key: value")
    return op, values


def _put(values: dict[str, str], key: str, raw: str) -> None:
    raw = raw.strip()
    if key in values:
        raise ParamError(f"parameter {key} given twice")
    if not raw:
        raise ParamError(f"parameter {key} has no value")
    values[key] = raw


def expr_list(value: Expr | list[Expr] | None) -> list[Expr]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
