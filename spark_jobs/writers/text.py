"""csv and json writers: a folder of part files, or with asSingleFile one file joined from them.

csv is RFC 4180: fields are quoted with ``"`` when they hold the delimiter, a quote or a line
break (every field with ``hasQuotes``), and a quote inside a field is doubled. Spark's default
escape is a backslash, which Python's csv module, pandas and Excel read wrongly, hence
``escape='"'``. Spark also trims leading and trailing blanks on write by default; values are
written as they are instead. Timestamps keep their microseconds.

json is JSON Lines, one object per row with every column (nulls written as null, not left out).
"""

from __future__ import annotations

import csv
import io

from pyspark.sql import DataFrame

from spark_jobs.spec import Output
from spark_jobs.writers.base import register
from spark_jobs.writers.commit import FileWriter

TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"
TIMESTAMP_NTZ_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"


def csv_options(output: Output, header: bool) -> dict[str, str]:
    """The options of Spark's csv source for one write setting (``header`` for each part)."""
    return {
        "sep": output.delim,
        "quote": '"',
        "escape": '"',
        "quoteAll": str(output.hasQuotes).lower(),
        "header": str(header).lower(),
        "ignoreLeadingWhiteSpace": "false",
        "ignoreTrailingWhiteSpace": "false",
        "compression": output.compression,
        "encoding": "UTF-8",
        "lineSep": "\n",
        "timestampFormat": TIMESTAMP_FORMAT,
        "timestampNTZFormat": TIMESTAMP_NTZ_FORMAT,
    }


def json_options(output: Output) -> dict[str, str]:
    return {
        "compression": output.compression,
        "ignoreNullFields": "false",
        "encoding": "UTF-8",
        "lineSep": "\n",
        "timestampFormat": TIMESTAMP_FORMAT,
        "timestampNTZFormat": TIMESTAMP_NTZ_FORMAT,
    }


def csv_header_line(columns: list[str], delim: str, quote_all: bool) -> bytes:
    """The header row as Spark would write it, quoted by the same RFC 4180 rules."""
    buf = io.StringIO()
    csv.writer(
        buf,
        delimiter=delim,
        quotechar='"',
        doublequote=True,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\n",
    ).writerow(columns)
    return buf.getvalue().encode("utf-8")


class CsvWriter(FileWriter):
    single_file = True

    def write_parts(self, df: DataFrame, output: Output, parts_dir: str) -> None:
        # A single file gets its header once, as its first member, not one per part.
        header = output.header and not output.asSingleFile
        df.write.format("csv").options(**csv_options(output, header)).save(parts_dir)

    def header(self, df: DataFrame, output: Output) -> bytes:
        if not output.header:
            return b""
        return csv_header_line(df.columns, output.delim, output.hasQuotes)


class JsonWriter(FileWriter):
    single_file = True

    def write_parts(self, df: DataFrame, output: Output, parts_dir: str) -> None:
        df.write.format("json").options(**json_options(output)).save(parts_dir)


@register("csv")
def _csv() -> CsvWriter:
    return CsvWriter()


@register("json")
def _json() -> JsonWriter:
    return JsonWriter()
