"""parquet (``pqt``) writer: always a folder of part files (snappy-compressed by Spark)."""

from __future__ import annotations

from pyspark.sql import DataFrame

from spark_jobs.spec import Output
from spark_jobs.writers.base import register
from spark_jobs.writers.commit import FileWriter


class ParquetWriter(FileWriter):
    single_file = False

    def write_parts(self, df: DataFrame, output: Output, parts_dir: str) -> None:
        df.write.format("parquet").save(parts_dir)


@register("pqt")
def _parquet() -> ParquetWriter:
    return ParquetWriter()
