"""Sources: an imported dataset's uri, format and options -> a DataFrame.

One reader per format in a registry, so formats whose Spark source may be missing on a plain
pip pyspark (avro, delta) can register a reader of their own.
"""

from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame, SparkSession

from spark_jobs import fs
from spark_jobs.spec import ImportedDataset

Reader = Callable[[SparkSession, ImportedDataset], DataFrame]
READERS: dict[str, Reader] = {}


class SourceError(ValueError):
    """A source that cannot be read: missing, or not in the format it claims."""


def register(fmt: str):
    def deco(fn: Reader) -> Reader:
        READERS[fmt] = fn
        return fn

    return deco


@register("csv")
def read_csv(spark: SparkSession, ds: ImportedDataset) -> DataFrame:
    o = ds.options
    return (
        spark.read.option("header", o.header)
        .option("sep", o.delimiter)
        .option("quote", o.quote)
        .option("escape", o.escape)
        .option("encoding", o.encoding)
        .option("inferSchema", o.inferSchema)
        .option("multiLine", o.multiLine)
        .csv(ds.uri)
    )


@register("json")
def read_json(spark: SparkSession, ds: ImportedDataset) -> DataFrame:
    return (
        spark.read.option("multiLine", ds.options.multiLine)
        .option("encoding", ds.options.encoding)
        .json(ds.uri)
    )


@register("pqt")
def read_parquet(spark: SparkSession, ds: ImportedDataset) -> DataFrame:
    return spark.read.parquet(ds.uri)


@register("text")
def read_text(spark: SparkSession, ds: ImportedDataset) -> DataFrame:
    # One column, as Trifacta imports an unstructured file.
    return spark.read.option("encoding", ds.options.encoding).text(ds.uri).withColumnRenamed(
        "value", "column1"
    )


def read_dataset(spark: SparkSession, ds: ImportedDataset) -> DataFrame:
    """The dataset's DataFrame, or SourceError naming the dataset, its uri and the cause."""
    what = f"imported dataset {ds.id} ({ds.name or ds.uri})"
    try:
        reader = READERS[ds.format]
    except KeyError:
        raise SourceError(
            f"{what}: format {ds.format!r} cannot be read here; known: {sorted(READERS)}"
        ) from None
    # Checked here so a missing file fails with its path before any Spark job is planned.
    fsys = fs.for_path(ds.uri, spark)
    if not any(c in ds.uri for c in "*?[{") and not fsys.exists(ds.uri):
        raise SourceError(f"{what}: no such file or folder: {ds.uri}")
    try:
        return reader(spark, ds)
    except Exception as e:  # noqa: BLE001 - Spark's analysis errors, said for this dataset
        from spark_jobs.errors import describe_error

        raise SourceError(f"{what}: cannot read {ds.uri} as {ds.format}: {describe_error(e)['message']}") from e


# Formats whose Spark source a runtime may lack register readers of their own.
from spark_jobs import avro_support, delta_support  # noqa: E402,F401
