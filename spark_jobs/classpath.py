"""Which optional Spark sources the running JVM has: asked once per Spark application.

spark-avro and Delta Lake are separate jars. Databricks and clusters configured with them
(``spark.jars`` / ``spark.jars.packages``) have them; a plain pip-installed pyspark has neither.
The writers choose their path from this answer before a job starts, never by catching a failed
write halfway through.
"""

from __future__ import annotations

import threading

from pyspark.sql import SparkSession

# spark-avro's own DataSourceV2: the class that answers format("avro"). Spark 4's spark-sql jar
# carries org.apache.spark.sql.avro.AvroFileFormat too (for to_avro/from_avro), without
# registering the "avro" source, so that class alone says nothing.
AVRO_SOURCE_CLASS = "org.apache.spark.sql.v2.avro.AvroDataSourceV2"
DELTA_SOURCE_CLASS = "org.apache.spark.sql.delta.sources.DeltaDataSource"

_cache: dict[tuple[str, str], bool] = {}
_lock = threading.Lock()


def _app_key(spark: SparkSession) -> str | None:
    try:
        return spark.sparkContext.applicationId
    except Exception:  # noqa: BLE001 - Spark Connect: no SparkContext on the client
        return None


def has_class(spark: SparkSession, class_name: str) -> bool:
    """Whether the driver JVM can load ``class_name`` (jars added by spark.jars included).

    A Spark Connect client cannot look into the server's JVM; the servers it meets in practice
    (Databricks) ship both sources, so the answer there is True.
    """
    app = _app_key(spark)
    if app is None:
        return True
    key = (app, class_name)
    with _lock:
        if key not in _cache:
            _cache[key] = _loadable(spark, class_name)
        return _cache[key]


def _loadable(spark: SparkSession, class_name: str) -> bool:
    jvm = spark.sparkContext._jvm
    # Spark's own loader: the context class loader, which sees jars added at start-up.
    return bool(jvm.org.apache.spark.util.Utils.classIsLoadable(class_name))


def has_native_avro(spark: SparkSession) -> bool:
    return has_class(spark, AVRO_SOURCE_CLASS)


def has_delta(spark: SparkSession) -> bool:
    return has_class(spark, DELTA_SOURCE_CLASS)


def qualified(spark: SparkSession, path: str) -> str:
    """``path`` with its file system's scheme, as Spark resolves it (``/x`` -> ``hdfs://nn/x``
    where HDFS is the default file system), for code outside the JVM that must reach the same
    place. Local paths come back as they are."""
    from spark_jobs import fs

    if fs.scheme(path) or isinstance(fs.for_path(path, spark), fs.LocalFS):
        return path
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return str(p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).makeQualified(p).toString())
