"""Ops on the text of columns: replace, fill missing values, format, split, extract, merge."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.recipes import types as W
from spark_jobs.recipes.compiler import col
from spark_jobs.recipes.context import RecipeContext
from spark_jobs.recipes.expr_check import find_column
from spark_jobs.recipes.functions import WHITESPACE_EDGES
from spark_jobs.recipes.ops.common import fail, resolve, resolve_all
from spark_jobs.recipes.params import Pattern
from spark_jobs.recipes.steps import Step, param, step


def _types(df: DataFrame) -> dict[str, str]:
    return {f.name: W.wrangle_type(f.dataType) for f in df.schema.fields}


def _text(df: DataFrame, name: str) -> Column:
    return W.as_string(col(name), _types(df)[name])


def _insert_after(columns: list[str], anchor: str, new: list[str]) -> list[str]:
    at = columns.index(anchor) + 1
    return columns[:at] + new + columns[at:]


def _literal_replacement(s: str) -> str:
    # Java's replacement syntax gives '\' and '$' a meaning; literal text escapes both.
    return s.replace("\\", "\\\\").replace("$", "\\$")


@step("replace")
@dataclass
class Replace(Step):
    col: list[str] = param("cols", required=True)
    on: Pattern = param("pattern", required=True)
    with_: str = param("text", default="", wire="with")
    global_: bool = param("bool", default=True, wire="global")

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = resolve_all(df, self.col, self.index, "col")
        # With a /regex/, $1.. in `with` are its groups; with literal text `with` is literal.
        repl = self.with_ if self.on.regex else _literal_replacement(self.with_)
        pattern = self.on.java_regex()
        new = {}
        for name in names:
            s = _text(df, name)
            if self.global_:
                new[name] = F.regexp_replace(s, pattern, repl)
            else:
                # Only the first match: keep what precedes it as group 1.
                new[name] = F.regexp_replace(s, F.lit("(?s)^(.*?)(?:" + pattern + ")"),
                                             F.lit("$1" + repl))
        return df.withColumns(new)


_MISSING_KEYWORDS = ("custom", "empty", "null", "average", "median", "mode")


@step("replacemissing")
@dataclass
class ReplaceMissing(Step):
    col: list[str] = param("cols", required=True)
    with_: object = param("scalar", wire="with")
    text: object = param("scalar")

    def problems_after_init(self):
        kw = self.with_.lower() if isinstance(self.with_, str) else None
        if self.text is not None and kw not in (None, "custom"):
            return [("with", "custom when text is given")]
        if self.text is None and kw == "custom":
            return [("text", "required with `with: custom`")]
        if self.text is None and self.with_ is None:
            return [("with", "required: a value, or custom with text, or one of "
                             + ", ".join(_MISSING_KEYWORDS))]
        return []

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = resolve_all(df, self.col, self.index, "col")
        types = _types(df)
        kw = self.with_.lower() if isinstance(self.with_, str) and self.text is None else None
        stats = None
        if kw in ("average", "median", "mode"):
            agg = {"average": F.avg, "median": F.median,
                   "mode": lambda c: F.mode(c, deterministic=True)}[kw]
            parts = [agg(W.as_number(col(n), types[n]) if kw != "mode" else col(n))
                     .alias(f"__fill_{i}") for i, n in enumerate(names)]
            # One row of statistics joined to every row (broadcast): no single-partition window.
            stats = df.agg(*parts)
            df = df.crossJoin(F.broadcast(stats))
        new = {}
        for i, n in enumerate(names):
            c, t = col(n), types[n]
            missing = c.isNull() | (c == F.lit("")) if t == W.STRING else c.isNull()
            if stats is not None:
                fill = F.col(f"__fill_{i}")
                fill = fill.cast(df.schema[n].dataType) if t != W.DECIMAL else fill
            else:
                value = self.text if self.text is not None else (
                    "" if kw == "empty" else None if kw == "null" else self.with_)
                fill = F.lit(value)
                if value is not None and t != W.STRING:
                    fill = fill.try_cast(df.schema[n].dataType)
                elif value is not None:
                    fill = fill.cast("string")
            new[n] = F.when(missing, fill).otherwise(c)
        df = df.withColumns(new)
        if stats is not None:
            df = df.drop(*[f"__fill_{i}" for i in range(len(names))])
        return df


_FORMATS = ("uppercase", "lowercase", "propercase", "trimwhitespace", "trimquotes",
            "removewhitespace")


@step("textformat")
@dataclass
class TextFormat(Step):
    col: list[str] = param("cols", required=True)
    type: str = param("word", required=True, choices=_FORMATS)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = resolve_all(df, self.col, self.index, "col")
        f = {
            "uppercase": F.upper,
            "lowercase": F.lower,
            "propercase": F.initcap,
            "trimwhitespace": lambda s: F.regexp_replace(s, WHITESPACE_EDGES, ""),
            "trimquotes": lambda s: F.regexp_replace(s, r"^[\"']+|[\"']+$", ""),
            "removewhitespace": lambda s: F.regexp_replace(s, r"[\s\p{Z}]+", ""),
        }[self.type]
        return df.withColumns({n: f(_text(df, n)) for n in names})


@step("split")
@dataclass
class Split(Step):
    col: str = param("col", required=True)
    on: Pattern = param("pattern", required=True)
    limit: int = param("int", default=1)

    def problems_after_init(self):
        if not 1 <= self.limit <= 1000:
            return [("limit", "expected a number of splits from 1 to 1000")]
        return []

    def new_names(self, source: str) -> list[str]:
        return [f"{source}{i}" for i in range(1, self.limit + 2)]

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        name = resolve(df, self.col, self.index, "col")
        new = self.new_names(name)
        for n in new:
            if find_column(n, df.columns) is not None:
                raise fail(self.index, "col", f"split would create {n!r}, which exists")
        parts = F.split(_text(df, name), F.lit(self.on.java_regex()), self.limit + 1)
        cols = []
        for c in df.columns:
            if c == name:
                # get(): a missing piece is null (getItem would fail under ANSI mode).
                cols.extend(F.get(parts, i).alias(n) for i, n in enumerate(new))
            else:
                cols.append(col(c))
        return df.select(cols)

    def output_columns(self, columns):
        name = find_column(self.col, columns)
        out = []
        for c in columns:
            out.extend(self.new_names(c) if c == name else [c])
        return out


@step("extract")
@dataclass
class Extract(Step):
    col: str = param("col", required=True)
    on: Pattern = param("pattern", required=True)
    as_: str | None = param("name", wire="as")

    def target(self, source: str) -> str:
        return self.as_ or f"{source}1"

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        name = resolve(df, self.col, self.index, "col")
        # regexp_substr: the first match, or missing when nothing matches.
        c = F.regexp_substr(_text(df, name), F.lit(self.on.java_regex()))
        return _add_after(df, name, self.target(name), c, self.index)

    def output_columns(self, columns):
        name = find_column(self.col, columns) or self.col
        return _names_after(columns, name, self.target(name))


@step("countpattern")
@dataclass
class CountPattern(Step):
    col: str = param("col", required=True)
    on: Pattern = param("pattern", required=True)
    as_: str | None = param("name", wire="as")

    def target(self, source: str) -> str:
        return self.as_ or f"countpattern_{source}"

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        name = resolve(df, self.col, self.index, "col")
        c = F.regexp_count(_text(df, name), F.lit(self.on.java_regex()))
        return _add_after(df, name, self.target(name), c, self.index)

    def output_columns(self, columns):
        name = find_column(self.col, columns) or self.col
        return _names_after(columns, name, self.target(name))


@step("merge")
@dataclass
class Merge(Step):
    col: list[str] = param("cols", required=True)
    with_: str = param("text", default="", wire="with")
    as_: str = param("name", default="merged", wire="as")

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        names = resolve_all(df, self.col, self.index, "col")
        # Missing values count as empty text, as in the MERGE function.
        c = F.concat_ws(self.with_, *[F.coalesce(_text(df, n), F.lit("")) for n in names])
        existing = find_column(self.as_, df.columns)
        return df.withColumn(existing or self.as_, c)

    def output_columns(self, columns):
        return columns if find_column(self.as_, columns) else columns + [self.as_]


@step("unnest")
@dataclass
class Unnest(Step):
    col: str = param("col", required=True)
    keys: list[str] = param("names", required=True)

    def apply(self, df: DataFrame, ctx: RecipeContext) -> DataFrame:
        name = resolve(df, self.col, self.index, "col")
        dt = df.schema[name].dataType
        src = col(name)
        if isinstance(dt, T.StringType):
            # JSON object text: nested values keep their JSON text.
            src = F.from_json(src, T.MapType(T.StringType(), T.StringType()))
        elif not isinstance(dt, (T.MapType, T.StructType)):
            raise fail(self.index, "col", f"column {name!r} is not an object or a map "
                                          f"(it is {dt.simpleString()})")
        for k in self.keys:
            if find_column(k, df.columns) is not None:
                raise fail(self.index, "keys", f"column {k!r} exists already")
        if isinstance(dt, T.StructType):
            fields = {f.name for f in dt.fields}
            news = [(src.getField(k) if k in fields else F.lit(None)).alias(k)
                    for k in self.keys]
        else:
            news = [src.getItem(k).alias(k) for k in self.keys]
        return df.select(*[col(c) for c in df.columns], *news)

    def output_columns(self, columns):
        return columns + [k for k in self.keys if find_column(k, columns) is None]


def _add_after(df: DataFrame, anchor: str, new: str, c: Column, index: int) -> DataFrame:
    existing = find_column(new, df.columns)
    if existing is not None:
        return df.withColumn(existing, c)
    cols = []
    for name in df.columns:
        cols.append(col(name))
        if name == anchor:
            cols.append(c.alias(new))
    return df.select(cols)


def _names_after(columns: list[str], anchor: str, new: str) -> list[str]:
    if find_column(new, columns) is not None or anchor not in columns:
        return columns if anchor in columns else columns + [new]
    return _insert_after(columns, anchor, [new])
