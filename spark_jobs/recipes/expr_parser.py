"""Wrangle expression text -> syntax tree: a tokenizer and a precedence (Pratt) parser.

Hand-written so that the accepted language is exactly RECIPES.md and nothing else: there is no
path from recipe text to Spark SQL. Nesting is bounded (MAX_DEPTH) and checked while parsing,
so a 10,000-deep expression is a clear ExprError, not a RecursionError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spark_jobs.recipes.expr_ast import (
    ArrayLit,
    Binary,
    Call,
    ColumnRef,
    Literal,
    Node,
    Special,
    Unary,
)

# Deeper trees are refused: real expressions nest a handful of levels; every later pass
# (type inference, compilation, Spark's analyzer) then stays far from any recursion limit.
MAX_DEPTH = 100
MAX_LENGTH = 100_000


class ExprError(ValueError):
    """An expression that does not parse; ``pos`` is the 0-based offset in the text."""

    def __init__(self, message: str, pos: int | None = None, text: str | None = None):
        self.reason = message
        self.pos = pos
        self.text = text
        if pos is not None and text is not None:
            message = f"{message} at position {pos}: {_excerpt(text, pos)}"
        super().__init__(message)


def _excerpt(text: str, pos: int) -> str:
    start = max(0, pos - 15)
    return repr(text[start:pos + 15])


@dataclass(frozen=True)
class Token:
    kind: str  # NUM, STR, IDENT, QIDENT, SPECIAL, OP, EOF
    value: str
    pos: int


_NUM = re.compile(r"(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_IDENT = re.compile(r"[^\W\d]\w*")
_OPS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "(", ")",
        ",", "[", "]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}
_SPECIALS = {"col", "sourcerownumber"}


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "'\"":
            value, i2 = _string(text, i)
            tokens.append(Token("STR", value, i))
            i = i2
            continue
        if c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ExprError("unterminated `column name`", i, text)
            name = text[i + 1:end]
            if not name:
                raise ExprError("empty `column name`", i, text)
            if any(ch in name for ch in "\n\r\0"):
                raise ExprError("a `column name` cannot hold a line break or NUL", i, text)
            tokens.append(Token("QIDENT", name, i))
            i = end + 1
            continue
        if c == "$":
            m = _IDENT.match(text, i + 1)
            if not m or m.group(0).lower() not in _SPECIALS:
                raise ExprError("expected $col or $sourcerownumber", i, text)
            tokens.append(Token("SPECIAL", m.group(0).lower(), i))
            i = m.end()
            continue
        m = _NUM.match(text, i)
        if m:
            tokens.append(Token("NUM", m.group(0), i))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m:
            tokens.append(Token("IDENT", m.group(0), i))
            i = m.end()
            continue
        for op in _OPS:
            if text.startswith(op, i):
                tokens.append(Token("OP", op, i))
                i += len(op)
                break
        else:
            hint = ""
            if c == "=":
                hint = " (compare with ==)"
            elif c == "&" or c == "|":
                hint = " (use && or ||)"
            elif c == ";":
                hint = " (an expression is one value; ';' has no meaning)"
            raise ExprError(f"unexpected character {c!r}{hint}", i, text)
    tokens.append(Token("EOF", "", n))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if c == quote:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise ExprError(f"unterminated string (opened with {quote})", start, text)


# Binding powers: || < && < equality < comparison < additive < multiplicative < unary.
_INFIX = {
    "||": 10, "&&": 20,
    "==": 30, "!=": 30,
    "<": 40, "<=": 40, ">": 40, ">=": 40,
    "+": 50, "-": 50,
    "*": 60, "/": 60, "%": 60,
}
_NONASSOC = {"==", "!=", "<", "<=", ">", ">="}
_PREFIX_BP = 70


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def error(self, msg: str, tok: Token | None = None) -> ExprError:
        tok = tok or self.peek()
        return ExprError(msg, tok.pos, self.text)

    def expect(self, value: str) -> Token:
        t = self.peek()
        if t.kind != "OP" or t.value != value:
            raise self.error(f"expected {value!r}, found {_describe(t)}")
        return self.next()

    def _enter(self, tok: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExprError(f"expression is nested more than {MAX_DEPTH} levels deep", tok.pos)

    def _node(self, node: Node) -> Node:
        if node.depth > MAX_DEPTH:
            raise ExprError(
                f"expression is nested more than {MAX_DEPTH} levels deep", node.pos)
        return node

    def parse(self, min_bp: int = 0) -> Node:
        tok = self.peek()
        self._enter(tok)
        left = self.prefix()
        while True:
            t = self.peek()
            if t.kind != "OP" or t.value not in _INFIX:
                break
            bp = _INFIX[t.value]
            if bp <= min_bp:
                break
            self.next()
            right = self.parse(bp)
            if t.value in _NONASSOC and isinstance(right, Binary) and right.op in _NONASSOC \
                    and _INFIX[right.op] == bp:
                raise self.error("comparisons cannot be chained; use && between them", t)
            left = self._node(Binary(t.value, left, right, pos=t.pos,
                                     depth=1 + max(left.depth, right.depth)))
            if t.value in _NONASSOC:
                nt = self.peek()
                if nt.kind == "OP" and nt.value in _INFIX and _INFIX[nt.value] == bp:
                    raise self.error("comparisons cannot be chained; use && between them", nt)
        self.nesting -= 1
        return left

    def prefix(self) -> Node:
        t = self.next()
        if t.kind == "NUM":
            v = t.value
            if re.fullmatch(r"\d+", v):
                return Literal(int(v), "Integer", pos=t.pos)
            return Literal(float(v), "Decimal", pos=t.pos)
        if t.kind == "STR":
            return Literal(t.value, "String", pos=t.pos)
        if t.kind == "QIDENT":
            return ColumnRef(t.value, pos=t.pos)
        if t.kind == "SPECIAL":
            return Special(t.value, pos=t.pos)
        if t.kind == "IDENT":
            low = t.value.lower()
            nt = self.peek()
            if nt.kind == "OP" and nt.value == "(":
                self.next()
                args = self.args(")")
                return self._node(Call(t.value.upper(), args, pos=t.pos,
                                       depth=1 + max((a.depth for a in args), default=0)))
            if low == "true":
                return Literal(True, "Boolean", pos=t.pos)
            if low == "false":
                return Literal(False, "Boolean", pos=t.pos)
            if low == "null":
                return Literal(None, "Null", pos=t.pos)
            return ColumnRef(t.value, pos=t.pos)
        if t.kind == "OP":
            if t.value == "(":
                inner = self.parse(0)
                self.expect(")")
                return inner
            if t.value == "[":
                items = self.args("]")
                return self._node(ArrayLit(items, pos=t.pos,
                                           depth=1 + max((a.depth for a in items), default=0)))
            if t.value in ("-", "!"):
                operand = self.parse(_PREFIX_BP)
                if t.value == "-" and isinstance(operand, Literal) and operand.type in (
                        "Integer", "Decimal") and not isinstance(operand.value, bool):
                    return Literal(-operand.value, operand.type, pos=t.pos)
                return self._node(Unary(t.value, operand, pos=t.pos, depth=1 + operand.depth))
        raise self.error(f"expected a value, found {_describe(t)}", t)

    def args(self, close: str) -> tuple[Node, ...]:
        items: list[Node] = []
        t = self.peek()
        if t.kind == "OP" and t.value == close:
            self.next()
            return ()
        while True:
            items.append(self.parse(0))
            t = self.next()
            if t.kind == "OP" and t.value == close:
                return tuple(items)
            if not (t.kind == "OP" and t.value == ","):
                raise self.error(f"expected ',' or {close!r}, found {_describe(t)}", t)


def _describe(t: Token) -> str:
    if t.kind == "EOF":
        return "the end of the expression"
    if t.kind == "STR":
        return "a string"
    if t.kind in ("IDENT", "QIDENT"):
        return f"name {t.value!r}"
    return repr(t.value)


def parse_expression(text: str) -> Node:
    """One expression; anything after it is an error."""
    if not isinstance(text, str):
        raise ExprError(f"expected expression text, got {type(text).__name__}")
    if not text.strip():
        raise ExprError("empty expression")
    p = _Parser(text)
    try:
        node = p.parse(0)
    except ExprError as e:
        if e.text is None and e.pos is not None:
            raise ExprError(e.reason, e.pos, text) from None
        raise
    t = p.peek()
    if t.kind != "EOF":
        raise p.error(f"unexpected {_describe(t)} after a complete expression", t)
    return node


def parse_expression_list(text: str) -> list[Node]:
    """Comma-separated expressions (``value: SUM(a), COUNT()``)."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression list")
    p = _Parser(text)
    items = []
    try:
        while True:
            items.append(p.parse(0))
            t = p.next()
            if t.kind == "EOF":
                return items
            if not (t.kind == "OP" and t.value == ","):
                raise p.error(f"expected ',' or the end, found {_describe(t)}", t)
    except ExprError as e:
        if e.text is None and e.pos is not None:
            raise ExprError(e.reason, e.pos, text) from None
        raise
