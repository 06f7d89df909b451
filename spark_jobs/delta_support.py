"""Delta Lake on any runtime: delta-spark where the JVM has it, else ``deltalake`` (delta-rs).

- ``delta_session_conf``: the SQL extension and catalog a session needs for delta-spark, when
  the jars it will start with include delta-spark (``configure_delta`` applies it to a builder).
- ``use_delta_spark``: the writer's and reader's choice, from the running JVM's classpath, asked
  once per application (``spark_jobs.classpath``).
- the ``delta`` reader: ``format("delta")`` with delta-spark; otherwise the table's current files
  as ``deltalake`` lists them, read by Spark's parquet source with the table's schema.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
from typing import Iterable, Mapping
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import classpath
from spark_jobs.readers import register
from spark_jobs.spec import ImportedDataset

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
# A jar file name or a Maven coordinate of delta-spark (delta-core before Delta 3).
_DELTA_JAR = re.compile(r"(^|[/\\:])delta-(spark|core)_2\.1[23]([-:][^/\\]*)?(\.jar)?$")
# Reader features this file-listing reader cannot honour: it would return wrong rows.
UNSUPPORTED_READER_FEATURES = ("deletionVectors", "columnMapping")


class DeltaTableError(ValueError):
    """A Delta table that cannot be read or written as asked; the message names the path."""


# -- session configuration ------------------------------------------------------------------------

def has_delta_jars(entries: Iterable[str]) -> bool:
    return any(_DELTA_JAR.search(e.strip()) for e in entries if e.strip())


def delta_session_conf(entries: Iterable[str], conf: Mapping[str, str] | None = None) -> dict[str, str]:
    """Settings to add so delta-spark works, given the jars/packages the session starts with
    (``entries``) and the settings it already has (``conf``); {} when there is no Delta jar."""
    conf = conf or {}
    if not has_delta_jars(entries):
        return {}
    out = {}
    extensions = [e.strip() for e in conf.get("spark.sql.extensions", "").split(",") if e.strip()]
    if DELTA_EXTENSION not in extensions:
        out["spark.sql.extensions"] = ",".join([*extensions, DELTA_EXTENSION])
    if not conf.get("spark.sql.catalog.spark_catalog"):
        out["spark.sql.catalog.spark_catalog"] = DELTA_CATALOG
    return out


def classpath_entries(conf: Mapping[str, str], spark_home: str | None = None) -> list[str]:
    """Jars and packages a session starting with ``conf`` will have: spark.jars,
    spark.jars.packages, the driver's extra class path and the distribution's own jars/."""
    entries: list[str] = []
    for key in ("spark.jars", "spark.jars.packages", "spark.driver.extraClassPath"):
        entries += re.split(r"[,:;]" if key == "spark.driver.extraClassPath" else ",", conf.get(key, ""))
    if spark_home:
        entries += glob.glob(os.path.join(spark_home, "jars", "*.jar"))
    return [e for e in entries if e.strip()]


def read_conf_file(path: str) -> dict[str, str]:
    """A spark-defaults.conf: ``key value`` lines, # comments."""
    out = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    key, _, value = line.partition(" ") if " " in line else line.partition("\t")
                    out[key.strip()] = value.strip()
    except OSError:
        pass
    return out


def _starting_conf(builder) -> dict[str, str]:
    """What the session about to start will be configured with, as far as Python can see."""
    conf: dict[str, str] = {}
    spark_home = os.environ.get("SPARK_HOME") or _pyspark_home()
    conf_dir = os.environ.get("SPARK_CONF_DIR") or os.path.join(spark_home, "conf")
    conf.update(read_conf_file(os.path.join(conf_dir, "spark-defaults.conf")))
    if "PYSPARK_GATEWAY_PORT" in os.environ:  # under spark-submit: the JVM holds the real conf
        try:
            from pyspark import SparkConf, SparkContext

            SparkContext._ensure_initialized()
            conf.update(dict(SparkConf().getAll()))
        except Exception:  # noqa: BLE001 - no gateway after all: the files are what we know
            pass
    args = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    for flag, key in (("--jars", "spark.jars"), ("--packages", "spark.jars.packages")):
        if flag in args and args.index(flag) + 1 < len(args):
            conf[key] = ",".join(filter(None, [conf.get(key, ""), args[args.index(flag) + 1]]))
    conf.update({k: str(v) for k, v in getattr(builder, "_options", {}).items()})
    return conf


def _pyspark_home() -> str:
    import pyspark

    return os.path.dirname(pyspark.__file__)


def configure_delta(builder):
    """``builder`` with Delta's SQL extension and catalog when the session will have the jars."""
    conf = _starting_conf(builder)
    spark_home = os.environ.get("SPARK_HOME") or _pyspark_home()
    for key, value in delta_session_conf(classpath_entries(conf, spark_home), conf).items():
        builder = builder.config(key, value)
    return builder


# -- the path taken ---------------------------------------------------------------------------

def use_delta_spark(spark: SparkSession) -> bool:
    return classpath.has_delta(spark)


# -- reading ----------------------------------------------------------------------------------

def delta_uri(spark: SparkSession, path: str) -> str:
    """A table location ``deltalake`` understands (local paths absolute, others qualified)."""
    from spark_jobs import fs

    q = classpath.qualified(spark, path)
    return fs.local_path(fs.absolute(q)) if fs.is_local(q) else q


def spark_schema(table) -> T.StructType:
    # Delta's schema JSON is Spark's StructType JSON.
    return T.StructType.fromJson(json.loads(table.schema().to_json()))


@register("delta")
def read_delta(spark: SparkSession, ds: ImportedDataset) -> DataFrame:
    if use_delta_spark(spark):
        return spark.read.format("delta").load(ds.uri)
    return read_with_deltalake(spark, delta_uri(spark, ds.uri))


def read_with_deltalake(spark: SparkSession, uri: str, version: int | None = None) -> DataFrame:
    """The table's files at ``version`` (default: the latest), listed by delta-rs, read by Spark."""
    from deltalake import DeltaTable

    try:
        table = DeltaTable(uri, version=version)
    except Exception as e:  # noqa: BLE001 - delta-rs's TableNotFoundError and friends
        raise DeltaTableError(f"{uri} is not a Delta table: {e}") from None
    features = set(table.protocol().reader_features or [])
    blocked = sorted(features & set(UNSUPPORTED_READER_FEATURES))
    if blocked:
        raise DeltaTableError(
            f"{uri}: the table uses {', '.join(blocked)}, which only delta-spark reads correctly; "
            "read it on a runtime with delta-spark"
        )
    schema = spark_schema(table)
    partition_cols = list(table.metadata().partition_columns)
    data_schema = T.StructType([f for f in schema.fields if f.name not in partition_cols])
    actions = _add_actions(table, partition_cols)
    if not actions:
        return spark.createDataFrame([], schema)
    root = uri.rstrip("/")
    groups: dict[tuple, list[str]] = {}
    for path, values in actions:
        groups.setdefault(values, []).append(f"{root}/{path}")
    frames = []
    for values, paths in groups.items():
        df = spark.read.schema(data_schema).parquet(*paths)
        for col, value in zip(partition_cols, values):
            df = df.withColumn(col, F.lit(value).cast(schema[col].dataType))
        frames.append(df.select(*schema.names))
    out = frames[0]
    for df in frames[1:]:
        out = out.unionByName(df)
    return out


def _add_actions(table, partition_cols: list[str]) -> list[tuple[str, tuple]]:
    """(path relative to the root, partition values as strings) of every live file."""
    import pyarrow as pa

    if not table.file_uris():
        return []
    actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    # The log's paths are URIs: "a%252Fb" names the folder "a%2Fb".
    return [(unquote(a["path"]), tuple(_as_text(a.get(f"partition.{c}")) for c in partition_cols))
            for a in actions]


def _as_text(value) -> str | None:
    from spark_jobs.datasources.delta_files import partition_value

    return value if value is None or isinstance(value, str) else partition_value(value)
