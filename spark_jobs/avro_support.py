"""Avro on any runtime: Spark's native ``avro`` source where the JVM has it, else ``pyavro``.

``pyavro`` (``spark_jobs.datasources.avro``) is this project's Python Data Source; the choice is
made from the classpath once per application (``spark_jobs.classpath``).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, DataFrameWriter, SparkSession

from spark_jobs import classpath
from spark_jobs.readers import register
from spark_jobs.spec import ImportedDataset


def avro_format(spark: SparkSession) -> str:
    """The source name to read and write Avro with in this session."""
    if classpath.has_native_avro(spark):
        return "avro"
    from spark_jobs.datasources import avro

    avro.register(spark)
    return avro.NAME


def write_avro(df: DataFrame, path: str) -> None:
    """Write ``df`` as a folder of Avro part files (snappy) at ``path``, which must not exist."""
    spark = df.sparkSession
    fmt = avro_format(spark)
    writer: DataFrameWriter = df.write.format(fmt).option("compression", "snappy")
    if fmt == "avro":
        writer.save(path)
    else:
        # Python data sources take append or overwrite only; the folder is new either way.
        writer.mode("append").save(classpath.qualified(spark, path))


@register("avro")
def read_avro(spark: SparkSession, ds: ImportedDataset) -> DataFrame:
    fmt = avro_format(spark)
    uri = ds.uri if fmt == "avro" else classpath.qualified(spark, ds.uri)
    return spark.read.format(fmt).load(uri)
