"""Step parameters: one converter per kind, used for both JSON objects and Wrangle text.

A JSON step gives values as JSON (strings, lists, objects); a Wrangle text line gives each value
as a piece of text. Both go through the same converter for the parameter's kind, so both forms
end as the same step model. A converter raises ParamError saying what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from spark_jobs.recipes.expr_ast import Node
from spark_jobs.recipes.expr_parser import ExprError, parse_expression, parse_expression_list
from spark_jobs.spec import DatasetRef


class ParamError(ValueError):
    """A parameter value that does not fit; the message says what was expected."""


@dataclass(frozen=True)
class Expr:
    # Equal when the trees are equal: the same expression written in either step form.
    text: str = field(compare=False)
    node: Node = None


_JAVA_REGEX_SPECIALS = set("\\^$.|?*+()[]{}")


@dataclass(frozen=True)
class Pattern:
    """``on``: literal text, or a regular expression written /like this/."""

    text: str
    regex: bool

    def as_regex(self) -> str:
        return self.text if self.regex else re.escape(self.text)

    def java_regex(self) -> str:
        """For Spark's Java regex engine: literal text quoted with \\Q..\\E."""
        if self.regex:
            return self.text
        if not any(c in _JAVA_REGEX_SPECIALS for c in self.text):
            return self.text  # nothing to quote: the plan shows the text as a person writes it
        return "\\Q" + self.text.replace("\\E", "\\E\\\\E\\Q") + "\\E"


@dataclass(frozen=True)
class OrderKey:
    name: str  # a column name, or "$sourcerownumber"
    descending: bool = False


@dataclass(frozen=True)
class JoinKey:
    left: str
    right: str


# -- text pieces --------------------------------------------------------------------------------
_BARE = re.compile(r"[^\s,\[\]'\"`]+")


def _unquote(text: str, i: int) -> tuple[str, int]:
    q = text[i]
    out = []
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\" and j + 1 < len(text):
            out.append(text[j + 1])
            j += 2
            continue
        if c == q:
            return "".join(out), j + 1
        out.append(c)
        j += 1
    raise ParamError(f"unterminated quote {q} in {text!r}")


def _names(text: str, allow_minus: bool = False) -> list[str]:
    """`a, b`, `` `a b`, 'c' `` -> names (with a leading '-' kept when allowed)."""
    out, i, n = [], 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        minus = ""
        if allow_minus and text[i] == "-":
            minus = "-"
            i += 1
        if i < n and text[i] == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ParamError(f"unterminated ` in {text!r}")
            name, i = text[i + 1:end], end + 1
        elif i < n and text[i] in "'\"":
            name, i = _unquote(text, i)
        else:
            m = _BARE.match(text, i)
            if not m:
                raise ParamError(f"expected a column name at {text[i:i + 10]!r}")
            name, i = m.group(0), m.end()
        if not name:
            raise ParamError("empty column name")
        out.append(minus + name)
        while i < n and text[i].isspace():
            i += 1
        if i < n:
            if text[i] != ",":
                raise ParamError(f"expected ',' between names, found {text[i:i + 10]!r}")
            i += 1
    if not out:
        raise ParamError("expected at least one column name")
    return out


def _scalar_text(text: str) -> str:
    """A quoted string unquoted, or bare text as it is."""
    t = text.strip()
    if t and t[0] in "'\"":
        value, end = _unquote(t, 0)
        if t[end:].strip():
            raise ParamError(f"unexpected text after the quoted value: {t[end:].strip()!r}")
        return value
    return t


# -- converters ---------------------------------------------------------------------------------
def to_expr(raw: Any, text: bool) -> Expr:
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    elif isinstance(raw, (int, float)) and not text:
        raw = repr(raw)
    if not isinstance(raw, str):
        raise ParamError("an expression as text")
    try:
        return Expr(raw, parse_expression(raw))
    except ExprError as e:
        raise ParamError(str(e)) from None


def to_exprs(raw: Any, text: bool) -> list[Expr]:
    try:
        if isinstance(raw, str):
            if text:
                nodes = parse_expression_list(raw)
                return [Expr(raw, n) for n in nodes]
            return [Expr(raw, parse_expression(raw))]
        if isinstance(raw, list) and raw and all(isinstance(r, str) for r in raw):
            return [Expr(r, parse_expression(r)) for r in raw]
    except ExprError as e:
        raise ParamError(str(e)) from None
    raise ParamError("an expression or a list of expressions")


def to_col(raw: Any, text: bool) -> str:
    if text:
        names = _names(raw)
        if len(names) != 1:
            raise ParamError("one column name")
        return names[0]
    if isinstance(raw, str) and raw:
        return raw
    raise ParamError("a column name")


def to_cols(raw: Any, text: bool) -> list[str]:
    return _name_list(raw, text, "a column name or a list of column names")


def to_name(raw: Any, text: bool) -> str:
    value = _scalar_text(raw) if text else raw
    if isinstance(value, str) and value.strip():
        return value
    raise ParamError("a new column name")


def to_names(raw: Any, text: bool) -> list[str]:
    return _name_list(raw, text, "a name or a list of names")


def _name_list(raw: Any, text: bool, expected: str) -> list[str]:
    """One name or a non-empty list of names (JSON form); the text form's comma list."""
    if text:
        return _names(raw)
    if isinstance(raw, str) and raw:
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(r, str) and r for r in raw):
        return list(raw)
    raise ParamError(expected)


def to_text(raw: Any, text: bool) -> str:
    if text:
        return _scalar_text(raw)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (str, int, float)):
        return str(raw)
    raise ParamError("text")


def to_int(raw: Any, text: bool) -> int:
    if text:
        t = _scalar_text(raw)
        if re.fullmatch(r"-?\d+", t):
            return int(t)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise ParamError("a whole number")


def to_bool(raw: Any, text: bool) -> bool:
    if text:
        t = _scalar_text(raw).lower()
        if t in ("true", "false"):
            return t == "true"
    elif isinstance(raw, bool):
        return raw
    raise ParamError("true or false")


def to_pattern(raw: Any, text: bool) -> Pattern:
    if isinstance(raw, dict) and set(raw) == {"regex"} and isinstance(raw["regex"], str):
        return _regex(raw["regex"])
    if isinstance(raw, str):
        t = raw.strip() if text else raw
        if len(t) >= 2 and t.startswith("/") and t.endswith("/"):
            return _regex(t[1:-1])
        value = _scalar_text(t) if text else t
        if value == "":
            raise ParamError("text to match, or /regex/ (not empty)")
        return Pattern(value, False)
    raise ParamError("text to match, or /regex/")


def _regex(body: str) -> Pattern:
    if not body:
        raise ParamError("a regular expression that is not empty")
    try:
        re.compile(body)
    except re.error as e:
        # Spark runs Java regexes: Unicode classes (\p{L}) are fine there, not in Python's re.
        if "\\p" not in str(e) and "\\P" not in str(e):
            raise ParamError(f"a valid regular expression ({e})") from None
    return Pattern(body, True)


def to_mapping(raw: Any, text: bool) -> dict[str, str]:
    if text:
        t = raw.strip()
        pairs = re.findall(r"\[([^\]]*)\]", t)
        rest = re.sub(r"\[[^\]]*\]", "", t).replace(",", "").strip()
        if not pairs or rest:
            raise ParamError("[old,'new'] pairs, separated by commas")
        out = {}
        for p in pairs:
            names = _names(p)
            if len(names) != 2:
                raise ParamError("[old,'new'] pairs of two names")
            out[names[0]] = names[1]
        return out
    if isinstance(raw, dict) and raw and all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in raw.items()):
        return dict(raw)
    if isinstance(raw, list) and raw and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) and x for x in p)
            for p in raw):
        return {p[0]: p[1] for p in raw}
    raise ParamError('an object {"old": "new"} (or a list of [old, new] pairs)')


def to_order(raw: Any, text: bool) -> list[OrderKey]:
    items = _names(raw, allow_minus=True) if text else (
        [raw] if isinstance(raw, str) else raw)
    if not isinstance(items, list) or not items or not all(
            isinstance(i, str) and i.lstrip("-") for i in items):
        raise ParamError("a list of column names, each with '-' in front for descending")
    out = []
    for i in items:
        desc = i.startswith("-")
        name = i[1:] if desc else i
        if name.lower() == "$sourcerownumber":
            name = "$sourcerownumber"
        out.append(OrderKey(name, desc))
    return out


_DATASET_TEXT = re.compile(r"(wrangledDataset|importedDataset)\s*\(\s*(\d+)\s*\)", re.I)


def to_dataset(raw: Any, text: bool) -> DatasetRef:
    if text:
        m = _DATASET_TEXT.fullmatch(raw.strip())
        if m:
            kind = "wrangled" if m.group(1).lower().startswith("wrangled") else "imported"
            return DatasetRef(kind=kind, id=int(m.group(2)))
        raise ParamError("wrangledDataset(ID) or importedDataset(ID)")
    if isinstance(raw, dict) and len(raw) == 1:
        (key, value), = raw.items()
        if isinstance(value, dict) and set(value) == {"id"}:
            value = value["id"]
        if key in ("wrangledDataset", "importedDataset") and isinstance(value, int) \
                and not isinstance(value, bool):
            return DatasetRef(kind="wrangled" if key == "wrangledDataset" else "imported",
                              id=value)
    raise ParamError('{"wrangledDataset": ID} or {"importedDataset": ID}')


def to_datasets(raw: Any, text: bool) -> list[DatasetRef]:
    if text:
        parts = [p for p in re.split(r",(?![^()]*\))", raw) if p.strip()]
        if not parts:
            raise ParamError("one or more of wrangledDataset(ID) / importedDataset(ID)")
        return [to_dataset(p, True) for p in parts]
    if isinstance(raw, dict):
        return [to_dataset(raw, False)]
    if isinstance(raw, list) and raw:
        return [to_dataset(r, False) for r in raw]
    raise ParamError('a list of {"wrangledDataset": ID} / {"importedDataset": ID}')


def to_joinkeys(raw: Any, text: bool) -> list[JoinKey]:
    if text:
        out = []
        for part in raw.split(","):
            sides = [s.strip() for s in part.split("==")]
            if len(sides) == 1:
                name = to_col(sides[0], True)
                out.append(JoinKey(name, name))
            elif len(sides) == 2:
                out.append(JoinKey(to_col(sides[0], True), to_col(sides[1], True)))
            else:
                raise ParamError("left == right pairs separated by commas")
        return out
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, str) and item:
            out.append(JoinKey(item, item))
        elif isinstance(item, dict) and set(item) == {"left", "right"} and all(
                isinstance(v, str) and v for v in item.values()):
            out.append(JoinKey(item["left"], item["right"]))
        else:
            raise ParamError('a list of {"left": column, "right": column}')
    if not out:
        raise ParamError('a list of {"left": column, "right": column}')
    return out


def to_scalar(raw: Any, text: bool) -> Any:
    """A literal value (replacemissing ``with``): text, number, boolean or null."""
    if text:
        t = raw.strip()
        if t and t[0] in "'\"":
            return _scalar_text(t)
        if re.fullmatch(r"-?\d+", t):
            return int(t)
        if re.fullmatch(r"-?\d*\.\d+", t):
            return float(t)
        return t
    if raw is None or isinstance(raw, (str, int, float, bool)):
        return raw
    raise ParamError("a literal value (text, number, boolean or null)")


CONVERTERS = {
    "expr": to_expr, "exprs": to_exprs, "col": to_col, "cols": to_cols, "name": to_name,
    "names": to_names, "text": to_text, "int": to_int, "bool": to_bool, "pattern": to_pattern,
    "mapping": to_mapping, "order": to_order, "dataset": to_dataset, "datasets": to_datasets,
    "joinkeys": to_joinkeys, "scalar": to_scalar, "word": to_text,
}
