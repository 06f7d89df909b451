"""The Wrangle function library: signatures (checked without Spark) and their Spark builders.

Each function is listed once with its arity, its kind (scalar, aggregate, window), the arguments
that must be literals, its result type and how it compiles to built-in Spark functions. Nothing
else can be called: an unknown name is an error naming the closest known ones.

Null handling (Wrangle's rule): a missing input gives a missing result, except for the functions
about missing values (ISNULL, ISMISSING, COALESCE), IF (a missing condition takes the false
branch) and IN (a missing value is in no list). Values that do not fit the type a function needs
(text where a number is expected) count as missing instead of failing the job; a division or MOD
by zero and the SQRT of a negative number are missing as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pyspark.sql import Column, Window
from pyspark.sql import functions as F

from spark_jobs.recipes import types as W

SCALAR, AGGREGATE, WINDOW = "scalar", "aggregate", "window"

DATE_UNITS = ("year", "quarter", "month", "week", "day", "dayofyear", "hour", "minute", "second",
              "millisecond")
_SPARK_UNITS = {"dayofyear": "DAY"}


@dataclass(frozen=True)
class Lit:
    """An argument that must be written as a literal (a number of rows, a unit, a format)."""

    kind: str  # int, str, bool, unit, strs (a string or an array of strings), values
    choices: tuple = ()


@dataclass(frozen=True)
class Fn:
    name: str
    min_args: int
    max_args: int | None
    build: Callable[["Args"], Column]
    returns: Callable[[list[str]], str] | str
    kind: str = SCALAR
    literals: dict[int, Lit] = field(default_factory=dict)
    summary: str = ""

    def result_type(self, arg_types: list[str]) -> str:
        return self.returns(arg_types) if callable(self.returns) else self.returns

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args} argument{'s' if self.min_args != 1 else ''}"
        if self.min_args == self.max_args:
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        return f"{self.min_args} to {self.max_args} arguments"


class Args:
    """What a builder sees: its compiled arguments, literal values and the window, if any."""

    def __init__(self, compiler, call, compiled: list[tuple[Column, str]], literals: list[Any]):
        self.compiler = compiler
        self.call = call
        self._compiled = compiled
        self._literals = literals
        self.n = len(call.args)

    def col(self, i: int, want: str = W.ANY) -> Column:
        c, t = self._compiled[i]
        if want == "number":
            return W.as_number(c, t)
        return W.convert(c, t, want)

    def type(self, i: int) -> str:
        return self._compiled[i][1]

    def lit(self, i: int, default: Any = None) -> Any:
        return self._literals[i] if i < self.n else default

    def window(self, frame: tuple | None = None):
        return self.compiler.env.window_spec(frame)

    def agg(self, c: Column) -> Column:
        """An aggregate: plain in aggregate/pivot, over the group's rows in derive/window."""
        w = self.compiler.env.aggregate_window()
        return c.over(w) if w is not None else c


FUNCTIONS: dict[str, Fn] = {}


def fn(name: str, min_args: int, max_args: int | None, returns, kind: str = SCALAR,
       literals: dict[int, Lit] | None = None, summary: str = ""):
    def deco(build: Callable[[Args], Column]) -> Callable[[Args], Column]:
        FUNCTIONS[name] = Fn(name, min_args, max_args, build, returns, kind, literals or {},
                             summary)
        return build
    return deco


def _same(i: int = 0):
    return lambda ts: ts[i] if len(ts) > i else W.NULL


def _numeric_same(ts: list[str]) -> str:
    return W.INTEGER if ts and ts[0] == W.INTEGER else W.DECIMAL


# -- logic -----------------------------------------------------------------------------------
@fn("IF", 2, 3, lambda ts: W.common_type(ts[1:]), summary="IF(test, then, else)")
def _if(a: Args) -> Column:
    t = W.common_type([a.type(i) for i in range(1, a.n)])
    then = a.col(1, t)
    other = a.col(2, t) if a.n > 2 else F.lit(None)
    # A missing condition is not true: the else value (Spark's CASE WHEN does the same).
    return F.when(a.col(0, W.BOOLEAN), then).otherwise(other)


@fn("ISNULL", 1, 1, W.BOOLEAN)
def _isnull(a: Args) -> Column:
    return a.col(0).isNull()


@fn("ISMISSING", 1, 1, W.BOOLEAN, summary="null, or an empty string")
def _ismissing(a: Args) -> Column:
    if a.type(0) == W.STRING:
        return a.col(0).isNull() | (a.col(0) == F.lit(""))
    return a.col(0).isNull()


@fn("COALESCE", 1, None, lambda ts: W.common_type(ts))
def _coalesce(a: Args) -> Column:
    t = W.common_type([a.type(i) for i in range(a.n)])
    return F.coalesce(*[a.col(i, t) for i in range(a.n)])


@fn("IN", 2, 2, W.BOOLEAN, literals={1: Lit("values")},
    summary="IN(value, [v1, v2, ...]); a missing value is in no list")
def _in(a: Args) -> Column:
    values = a.lit(1)
    types = {_literal_type(v) for v in values if v is not None}
    want = W.common_type(list(types)) if types else W.ANY
    if want == W.INTEGER and a.type(0) == W.DECIMAL:
        want = W.DECIMAL
    if want in (W.INTEGER, W.DECIMAL):
        target = a.col(0, "number")
    else:
        target = a.col(0, want)
    return F.coalesce(target.isin([v for v in values if v is not None]), F.lit(False))


def _literal_type(v: Any) -> str:
    if isinstance(v, bool):
        return W.BOOLEAN
    if isinstance(v, int):
        return W.INTEGER
    if isinstance(v, float):
        return W.DECIMAL
    return W.STRING


# -- math ------------------------------------------------------------------------------------
@fn("ABS", 1, 1, _numeric_same)
def _abs(a: Args) -> Column:
    return F.abs(a.col(0, "number"))


@fn("ROUND", 1, 2, lambda ts: W.INTEGER if ts[0] == W.INTEGER else W.DECIMAL,
    literals={1: Lit("int")}, summary="ROUND(x, digits=0); halves round away from zero")
def _round(a: Args) -> Column:
    digits = a.lit(1, 0)
    return F.round(a.col(0, "number"), digits)


@fn("FLOOR", 1, 1, W.INTEGER)
def _floor(a: Args) -> Column:
    return F.floor(a.col(0, "number"))


@fn("CEILING", 1, 1, W.INTEGER)
def _ceiling(a: Args) -> Column:
    return F.ceil(a.col(0, "number"))


@fn("POWER", 2, 2, W.DECIMAL)
def _power(a: Args) -> Column:
    return F.pow(a.col(0, "number"), a.col(1, "number"))


@fn("SQRT", 1, 1, W.DECIMAL, summary="missing for a negative number")
def _sqrt(a: Args) -> Column:
    x = a.col(0, "number")
    return F.when(x >= 0, F.sqrt(x))


@fn("LN", 1, 1, W.DECIMAL, summary="missing for zero or a negative number")
def _ln(a: Args) -> Column:
    return F.ln(a.col(0, "number"))


@fn("LOG", 1, 1, W.DECIMAL, summary="base 10; missing for zero or a negative number")
def _log(a: Args) -> Column:
    return F.log10(a.col(0, "number"))


@fn("EXP", 1, 1, W.DECIMAL)
def _exp(a: Args) -> Column:
    return F.exp(a.col(0, "number"))


@fn("MOD", 2, 2, lambda ts: W.INTEGER if ts[:2] == [W.INTEGER, W.INTEGER] else W.DECIMAL,
    summary="the remainder, with the sign of the dividend; missing for MOD(x, 0)")
def _mod(a: Args) -> Column:
    return F.try_mod(a.col(0, "number"), a.col(1, "number"))


# -- text ------------------------------------------------------------------------------------
@fn("UPPER", 1, 1, W.STRING)
def _upper(a: Args) -> Column:
    return F.upper(a.col(0, W.STRING))


@fn("LOWER", 1, 1, W.STRING)
def _lower(a: Args) -> Column:
    return F.lower(a.col(0, W.STRING))


@fn("PROPER", 1, 1, W.STRING, summary="first letter of each word upper case, the rest lower")
def _proper(a: Args) -> Column:
    return F.initcap(a.col(0, W.STRING))


# Whitespace of any kind (tabs, newlines, non-breaking spaces), not only ' ' as Spark's trim.
WHITESPACE_EDGES = r"^[\s\p{Z}]+|[\s\p{Z}]+$"


@fn("TRIM", 1, 1, W.STRING, summary="removes leading and trailing whitespace")
def _trim(a: Args) -> Column:
    return F.regexp_replace(a.col(0, W.STRING), WHITESPACE_EDGES, "")


@fn("LEN", 1, 1, W.INTEGER, summary="number of characters")
def _len(a: Args) -> Column:
    return F.char_length(a.col(0, W.STRING))


@fn("LEFT", 2, 2, W.STRING)
def _left(a: Args) -> Column:
    return F.left(a.col(0, W.STRING), a.col(1, W.INTEGER))


@fn("RIGHT", 2, 2, W.STRING)
def _right(a: Args) -> Column:
    return F.right(a.col(0, W.STRING), a.col(1, W.INTEGER))


@fn("SUBSTRING", 2, 3, W.STRING,
    summary="SUBSTRING(text, start, end): 0-based start, end not included")
def _substring(a: Args) -> Column:
    s = a.col(0, W.STRING)
    start = a.col(1, W.INTEGER)
    if a.n > 2:
        end = a.col(2, W.INTEGER)
        return F.when(end > start, s.substr(start + 1, end - start)).when(
            s.isNotNull() & end.isNotNull() & start.isNotNull(), F.lit(""))
    return s.substr(start + 1, F.lit(2147483647))


@fn("FIND", 2, 4, W.INTEGER, literals={1: Lit("str"), 2: Lit("bool"), 3: Lit("int")},
    summary="FIND(text, 'what', ignoreCase=false, start=0): 0-based position or -1")
def _find(a: Args) -> Column:
    s = a.col(0, W.STRING)
    what = a.lit(1)
    if a.lit(2, False):
        s, what = F.lower(s), what.lower()
    start = a.lit(3, 0)
    return F.locate(what, s, start + 1) - 1


@fn("MERGE", 1, 2, W.STRING, literals={0: Lit("array"), 1: Lit("str")},
    summary="MERGE([a, b, ...], separator=''): missing values count as empty text")
def _merge(a: Args) -> Column:
    sep = a.lit(1, "")
    items = a.compiler.array_items(a.call.args[0])
    return F.concat_ws(sep, *[F.coalesce(W.as_string(c, t), F.lit("")) for c, t in items])


def _with_case(a: Args, op: Callable[[Column, Column], Column]) -> Column:
    s, p = a.col(0, W.STRING), a.col(1, W.STRING)
    if a.lit(2, False):
        s, p = F.lower(s), F.lower(p)
    return op(s, p)


@fn("STARTSWITH", 2, 3, W.BOOLEAN, literals={2: Lit("bool")})
def _startswith(a: Args) -> Column:
    return _with_case(a, F.startswith)


@fn("ENDSWITH", 2, 3, W.BOOLEAN, literals={2: Lit("bool")})
def _endswith(a: Args) -> Column:
    return _with_case(a, F.endswith)


@fn("CONTAINS", 2, 3, W.BOOLEAN, literals={2: Lit("bool")})
def _contains(a: Args) -> Column:
    return _with_case(a, F.contains)


@fn("PAD", 2, 4, W.STRING,
    literals={1: Lit("int"), 2: Lit("str"), 3: Lit("unit", ("left", "right"))},
    summary="PAD(text, length, char=' ', side='left'); longer text is kept whole")
def _pad(a: Args) -> Column:
    s = a.col(0, W.STRING)
    n, ch, side = a.lit(1), a.lit(2, " ") or " ", a.lit(3, "left")
    padded = F.lpad(s, n, ch) if side == "left" else F.rpad(s, n, ch)
    return F.when(F.char_length(s) >= n, s).otherwise(padded)


# -- dates -----------------------------------------------------------------------------------
@fn("NOW", 0, 0, W.DATETIME)
def _now(a: Args) -> Column:
    return F.current_timestamp()


@fn("TODAY", 0, 0, W.DATE)
def _today(a: Args) -> Column:
    return F.current_date()


def _part(name: str, f: Callable[[Column], Column]):
    @fn(name, 1, 1, W.INTEGER)
    def _b(a: Args) -> Column:
        return f(a.col(0, W.DATETIME))


for _name, _f in (("YEAR", F.year), ("MONTH", F.month), ("DAY", F.dayofmonth), ("HOUR", F.hour),
                  ("MINUTE", F.minute), ("SECOND", F.second)):
    _part(_name, _f)


@fn("WEEKDAY", 1, 1, W.INTEGER, summary="1 = Sunday .. 7 = Saturday")
def _weekday(a: Args) -> Column:
    return F.dayofweek(a.col(0, W.DATETIME))


@fn("DATEDIF", 3, 3, W.INTEGER, literals={2: Lit("unit", DATE_UNITS)},
    summary="DATEDIF(start, end, unit): whole units from start to end")
def _datedif(a: Args) -> Column:
    unit = a.lit(2)
    return F.timestamp_diff(_SPARK_UNITS.get(unit, unit.upper()), a.col(0, W.DATETIME),
                            a.col(1, W.DATETIME))


@fn("DATEADD", 3, 3, W.DATETIME, literals={2: Lit("unit", DATE_UNITS)},
    summary="DATEADD(date, amount, unit)")
def _dateadd(a: Args) -> Column:
    unit = a.lit(2)
    return F.timestamp_add(_SPARK_UNITS.get(unit, unit.upper()), a.col(1, W.INTEGER),
                           a.col(0, W.DATETIME))


@fn("DATEFORMAT", 2, 2, W.STRING, literals={1: Lit("str")},
    summary="DATEFORMAT(date, 'yyyy-MM-dd')")
def _dateformat(a: Args) -> Column:
    return F.date_format(a.col(0, W.DATETIME), a.lit(1))


@fn("PARSEDATE", 2, 2, W.DATETIME, literals={1: Lit("strs")},
    summary="PARSEDATE(text, ['MM/dd/yyyy', ...]): the first format that fits")
def _parsedate(a: Args) -> Column:
    s = a.col(0, W.STRING)
    return F.coalesce(*[F.try_to_timestamp(s, F.lit(f)) for f in a.lit(1)])


# -- aggregates ------------------------------------------------------------------------------
def _agg(name: str, min_args: int, max_args: int, returns, build, summary: str = ""):
    @fn(name, min_args, max_args, returns, AGGREGATE, summary=summary)
    def _b(a: Args) -> Column:
        return a.agg(build(a))


_agg("SUM", 1, 1, _numeric_same, lambda a: F.sum(a.col(0, "number")))
_agg("AVERAGE", 1, 1, W.DECIMAL, lambda a: F.avg(a.col(0, "number")))
_agg("MIN", 1, 1, _same(), lambda a: F.min(a.col(0)))
_agg("MAX", 1, 1, _same(), lambda a: F.max(a.col(0)))
_agg("COUNT", 0, 1, W.INTEGER,
     lambda a: F.count(F.lit(1)) if a.n == 0 else F.count(a.col(0)),
     "COUNT() rows; COUNT(x) values that are not missing")
_agg("COUNTDISTINCT", 1, 1, W.INTEGER, lambda a: F.count_distinct(a.col(0)))
_agg("MEDIAN", 1, 1, W.DECIMAL, lambda a: F.median(a.col(0, "number")))
_agg("STDEV", 1, 1, W.DECIMAL, lambda a: F.stddev_pop(a.col(0, "number")),
     "population standard deviation")
_agg("VAR", 1, 1, W.DECIMAL, lambda a: F.var_pop(a.col(0, "number")), "population variance")
_agg("FIRST", 1, 1, _same(), lambda a: F.first(a.col(0), ignorenulls=True),
     "first value that is not missing")
_agg("LAST", 1, 1, _same(), lambda a: F.last(a.col(0), ignorenulls=True),
     "last value that is not missing")


# -- window functions ------------------------------------------------------------------------
@fn("ROWNUMBER", 0, 0, W.INTEGER, WINDOW)
def _rownumber(a: Args) -> Column:
    return F.row_number().over(a.window())


@fn("RANK", 0, 0, W.INTEGER, WINDOW)
def _rank(a: Args) -> Column:
    return F.rank().over(a.window())


@fn("DENSERANK", 0, 0, W.INTEGER, WINDOW)
def _denserank(a: Args) -> Column:
    return F.dense_rank().over(a.window())


@fn("PREV", 1, 2, _same(), WINDOW, literals={1: Lit("int")}, summary="PREV(col, rows=1)")
def _prev(a: Args) -> Column:
    return F.lag(a.col(0), a.lit(1, 1)).over(a.window())


@fn("NEXT", 1, 2, _same(), WINDOW, literals={1: Lit("int")}, summary="NEXT(col, rows=1)")
def _next(a: Args) -> Column:
    return F.lead(a.col(0), a.lit(1, 1)).over(a.window())


def _frame(before: int, after: int) -> tuple[int, int]:
    # -1 means every row on that side (Wrangle's default for rows before).
    start = Window.unboundedPreceding if before < 0 else -before
    end = Window.unboundedFollowing if after < 0 else after
    return start, end


def _rolling(name: str, agg: Callable[[Column], Column], returns):
    @fn(name, 1, 3, returns, WINDOW, literals={1: Lit("int"), 2: Lit("int")},
        summary=f"{name}(col, rowsBefore=-1, rowsAfter=0); -1 means all rows on that side")
    def _b(a: Args) -> Column:
        return agg(a.col(0, "number")).over(a.window(_frame(a.lit(1, -1), a.lit(2, 0))))


_rolling("ROLLINGSUM", F.sum, _numeric_same)
_rolling("ROLLINGAVERAGE", F.avg, W.DECIMAL)
_rolling("ROLLINGMIN", F.min, _numeric_same)
_rolling("ROLLINGMAX", F.max, _numeric_same)


@fn("RUNNINGTOTAL", 1, 1, _numeric_same, WINDOW)
def _runningtotal(a: Args) -> Column:
    return F.sum(a.col(0, "number")).over(a.window((Window.unboundedPreceding, 0)))


# Spark's own SQL functions, named here so that a recipe calling one gets a pointed message.
FORBIDDEN_HINT = {"REFLECT", "JAVA_METHOD", "TRY_REFLECT", "EXPR", "SELECTEXPR", "SQL",
                  "READ_FILE", "INPUT_FILE_NAME", "UDF", "CREATE_FUNCTION"}
