"""avro writer: a folder of Avro part files (snappy), staged and committed like parquet.

The Spark source is the native ``avro`` where the runtime has spark-avro, else this project's
``pyavro`` Python Data Source (``spark_jobs.avro_support``). Either writes its parts into the
stage's ``parts`` folder; ``FileWriter`` does the rest (checks, staging, rename on commit,
cleanup on abort). ``compression`` and ``asSingleFile`` are csv/json options: the spec refuses
them for avro.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from spark_jobs.avro_support import write_avro
from spark_jobs.spec import Output
from spark_jobs.writers.base import register
from spark_jobs.writers.commit import FileWriter


class AvroWriter(FileWriter):
    single_file = False

    def write_parts(self, df: DataFrame, output: Output, parts_dir: str) -> None:
        write_avro(df, parts_dir)


@register("avro")
def _avro() -> AvroWriter:
    return AvroWriter()
