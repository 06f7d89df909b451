"""delta writer: every output is one Delta transaction, made at the job's commit.

Two paths, chosen once per application from the JVM's classpath (``delta_support``):

- **delta-spark** (Databricks, clusters with the Delta jars): ``stage`` only checks the target;
  ``commit`` runs ``df.write.format("delta")``, which writes the files and commits the version in
  one call, so nothing is written unless every other output of the job staged first.
- **deltalake** (plain pip pyspark): ``stage`` plans the schema against the table, then the
  executors write parquet files into the table folder (``pydelta``, invisible to readers until
  the log names them) and the driver records their add actions in a manifest in a hidden staging
  folder; ``commit`` makes the transaction with delta-rs: ``create_table_with_add_actions`` for a
  new table, ``create_write_transaction`` (append / overwrite) for an existing one, retried on a
  conflict. ``abort`` deletes the written files, so a failed job adds no version and leaves no
  files.

Schema rules are Delta's own, the same on both paths: columns the table lacks need
``mergeSchema``; a column whose type differs, or a ``partitionBy`` other than the table's, is an
error naming it; columns the output lacks are null in the new rows.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from urllib.parse import unquote

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from spark_jobs import fs
from spark_jobs.delta_support import DeltaTableError, delta_uri, use_delta_spark
from spark_jobs.result import FileInfo
from spark_jobs.spec import Output
from spark_jobs.writers.base import Committed, WriteContext, register
from spark_jobs.writers.commit import check_target, final_path, staging_name, wait_for_tasks

log = logging.getLogger("spark_jobs.writers")

COMMIT_ATTEMPTS = 5
MAX_COMMIT_RETRIES = 20  # delta-rs's own retries of a commit that lost the race for a version
WRITE_ID_KEY = "spark_jobs.writeId"


# -- schema planning (pure) -------------------------------------------------------------------

@dataclass(frozen=True)
class SchemaPlan:
    schema: T.StructType          # the table's schema once this write is committed
    partition_by: list[str]
    new_columns: list[T.StructField]


def plan_schema(df_schema: T.StructType, output: Output, table_schema: T.StructType | None,
                table_partitions: list[str] | None, where: str) -> SchemaPlan:
    """The schema and partitioning a write commits, or DeltaTableError naming what breaks."""
    partition_by = list(output.partitionBy)
    unknown = [c for c in partition_by if c not in df_schema.names]
    if unknown:
        raise DeltaTableError(f"{where}: partitionBy names columns the data does not have: {unknown}; "
                              f"columns: {df_schema.names}")
    if table_schema is None:
        return SchemaPlan(_nullable(df_schema), partition_by, [])
    if partition_by and partition_by != list(table_partitions or []):
        raise DeltaTableError(f"{where}: partitionBy {partition_by} differs from the table's partition "
                              f"columns {list(table_partitions or [])}; a table's partitioning cannot change")
    by_name = {f.name: f for f in table_schema.fields}
    mismatched = [f"{f.name} ({by_name[f.name].dataType.simpleString()} in the table, "
                  f"{f.dataType.simpleString()} here)"
                  for f in df_schema.fields
                  if f.name in by_name and by_name[f.name].dataType.simpleString() != f.dataType.simpleString()]
    if mismatched:
        raise DeltaTableError(f"{where}: column types differ from the table's: {', '.join(mismatched)}")
    added = [T.StructField(f.name, f.dataType, True) for f in df_schema.fields if f.name not in by_name]
    if added and not output.mergeSchema:
        raise DeltaTableError(f"{where}: columns {[f.name for f in added]} are not in the table; "
                              "set mergeSchema to add them")
    return SchemaPlan(T.StructType([*table_schema.fields, *added]), list(table_partitions or []), added)


def _nullable(schema: T.StructType) -> T.StructType:
    # As delta-spark does for a table made by a DataFrame write: later rows may hold nulls.
    return T.StructType([T.StructField(f.name, f.dataType, True, f.metadata) for f in schema.fields])


def _delta_schema(schema: T.StructType):
    from deltalake import Schema

    return Schema.from_json(schema.json())


# -- the deltalake (delta-rs) path ------------------------------------------------------------

def _open_table(uri: str, version: int | None = None):
    from deltalake import DeltaTable

    return DeltaTable(uri, version=version) if DeltaTable.is_deltatable(uri) else None


def _table_state(uri: str) -> tuple[T.StructType | None, list[str] | None]:
    from spark_jobs.delta_support import spark_schema

    table = _open_table(uri)
    if table is None:
        return None, None
    return spark_schema(table), list(table.metadata().partition_columns)


def committed_version(uri: str, write_id: str) -> int:
    """The version whose commit carries ``write_id`` (others may have committed since)."""
    table = _open_table(uri)
    for commit in table.history(limit=100):
        if commit.get(WRITE_ID_KEY) == write_id:
            return int(commit["version"])
    raise DeltaTableError(f"{uri}: the commit of write {write_id} is not in the table's recent history")


class DeltaLakeStage:
    """Parquet files written into the table folder, their add actions in ``manifest``."""

    def __init__(self, ctx: WriteContext, output: Output, final: str, uri: str, fsys: fs.FS,
                 df_schema: T.StructType):
        self.ctx = ctx
        self.output = output
        self.final = final
        self.uri = uri
        self.fsys = fsys
        self.df_schema = df_schema
        self.write_id = uuid.uuid4().hex
        self.staging = staging_name(final, ctx.job_group_id, self.write_id[:12])
        self.manifest = fs.join(self.staging, "manifest.json")
        # An empty folder is no table yet: the write makes one there.
        self.table_existed = fsys.exists(final) and bool(fsys.list(final))
        self._created: list[str] = []
        self._done = False

    @property
    def where(self) -> str:
        return f"output of job {self.output.jobId} (delta {self.output.action} at {self.final})"

    def write(self, df: DataFrame) -> None:
        from spark_jobs.datasources import delta as pydelta

        schema, partitions = _table_state(self.uri)
        if self.table_existed and schema is None:
            raise DeltaTableError(f"{self.where}: {self.final} exists and is not a Delta table")
        plan = plan_schema(self.df_schema, self.output, schema, partitions, self.where)
        self._make_folders()
        pydelta.register(df.sparkSession)
        (df.write.format(pydelta.NAME)
         .option("writeId", self.write_id)
         .option("partitionBy", json.dumps(plan.partition_by))
         .option("manifest", self._manifest_uri())
         .mode("append")
         .save(self.uri))

    def _manifest_uri(self) -> str:
        return fs.local_path(self.manifest) if fs.is_local(self.manifest) else self.manifest

    def _make_folders(self) -> None:
        missing, folder = [], self.final
        while not self.fsys.exists(folder):
            missing.append(folder)
            up = fs.parent(folder)
            if up == folder:
                break
            folder = up
        for folder in reversed(missing):
            self.fsys.mkdirs(folder)
            self._created.append(folder)
        self.fsys.mkdirs(self.staging)

    def _added(self) -> list[dict]:
        return json.loads(self.fsys.read_bytes(self.manifest))

    # -- the transaction --------------------------------------------------------------------
    def commit(self) -> Committed:
        if self._done:
            raise RuntimeError(f"{self.final}: staged output already committed or aborted")
        try:
            added = self._added()
            version = self._transact(added)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self.fsys.delete(self.staging)
        files = [FileInfo(path=fs.join(self.final, a["path"]), size=int(a["size"])) for a in added]
        return Committed(path=self.final, files=files, delta_version=version)

    def _transact(self, added: list[dict]) -> int:
        from deltalake import CommitProperties
        from deltalake.exceptions import CommitFailedError
        from deltalake.transaction import AddAction, create_table_with_add_actions

        actions = [AddAction(a["path"], int(a["size"]), a["partitionValues"], int(a["modificationTime"]),
                             True, a["stats"]) for a in added]
        props = CommitProperties(
            custom_metadata={WRITE_ID_KEY: self.write_id, "spark_jobs.jobGroupId": str(self.ctx.job_group_id)},
            max_commit_retries=MAX_COMMIT_RETRIES,
        )
        last_error: Exception | None = None
        for _ in range(COMMIT_ATTEMPTS):
            table = _open_table(self.uri)
            if table is None:
                plan = plan_schema(self.df_schema, self.output, None, None, self.where)
                try:
                    create_table_with_add_actions(self.uri, _delta_schema(plan.schema), actions, mode="error",
                                                  partition_by=plan.partition_by or None, commit_properties=props)
                    return committed_version(self.uri, self.write_id)
                except Exception as e:  # noqa: BLE001 - another job created the table meanwhile
                    if self.output.action == "create" or _open_table(self.uri) is None:
                        raise
                    last_error = e
                    continue
            if self.output.action == "create":
                raise DeltaTableError(f"{self.where}: {self.final} became a Delta table while this job ran; "
                                      "create never writes into an existing table")
            from spark_jobs.delta_support import spark_schema

            plan = plan_schema(self.df_schema, self.output, spark_schema(table),
                               list(table.metadata().partition_columns), self.where)
            try:
                if plan.new_columns and self.output.action == "append":
                    # delta-rs commits a schema change only with an overwrite: add the columns first.
                    from deltalake import Field

                    table.alter.add_columns([Field.from_json(json.dumps(f.jsonValue())) for f in plan.new_columns])
                    table = _open_table(self.uri)
                table.create_write_transaction(actions, self.output.action, _delta_schema(plan.schema),
                                               partition_by=plan.partition_by or None, commit_properties=props)
                return committed_version(self.uri, self.write_id)
            except CommitFailedError as e:
                last_error = e
                log.warning("%s: commit conflict, retrying: %s", self.where, e)
        raise DeltaTableError(f"{self.where}: could not commit after {COMMIT_ATTEMPTS} attempts "
                              f"(concurrent writers): {last_error}")

    # -- failure ----------------------------------------------------------------------------
    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._delete_written()
            wait_for_tasks(self.ctx.spark)
            self._delete_written()  # files a straggling task made meanwhile
            self.fsys.delete(self.staging)
        finally:
            if not self.table_existed and self.fsys.exists(self.final) and \
                    not self.fsys.exists(fs.join(self.final, "_delta_log")):
                self.fsys.delete(self.final)
            for folder in reversed(self._created):
                try:
                    if self.fsys.exists(folder) and not self.fsys.list(folder):
                        self.fsys.delete(folder)
                except OSError:
                    pass

    def _delete_written(self) -> None:
        from spark_jobs.datasources import files

        if self.fsys.exists(self.manifest):
            for a in self._added():
                files.delete(files.join(self.uri, a["path"]))
        if not self.fsys.exists(self.final):
            return
        for path in files.data_files(self.uri):
            if self.write_id in fs.basename(path):
                files.delete(path)


# -- the delta-spark path ---------------------------------------------------------------------

class DeltaSparkStage:
    """delta-spark writes and commits in one call: it runs at commit, after every output staged."""

    def __init__(self, df: DataFrame, output: Output, final: str):
        self.df = df
        self.output = output
        self.final = final
        self.write_id = uuid.uuid4().hex
        self._done = False

    def commit(self) -> Committed:
        if self._done:
            raise RuntimeError(f"{self.final}: staged output already committed or aborted")
        self._done = True
        mode = {"create": "errorifexists", "append": "append", "overwrite": "overwrite"}[self.output.action]
        writer = self.df.write.format("delta").mode(mode).option("userMetadata", self.write_id)
        if self.output.mergeSchema:
            writer = writer.option("mergeSchema", "true")
        if self.output.partitionBy:
            writer = writer.partitionBy(*self.output.partitionBy)
        writer.save(self.final)
        version = self._version()
        return Committed(path=self.final, files=self._files(version), delta_version=version)

    def _version(self) -> int:
        from delta.tables import DeltaTable

        spark = self.df.sparkSession
        rows = (DeltaTable.forPath(spark, self.final).history(100)
                .where(f"userMetadata = '{self.write_id}'").select("version").collect())
        if not rows:
            raise DeltaTableError(f"{self.final}: the commit of write {self.write_id} is not in the history")
        return int(rows[0][0])

    def _files(self, version: int) -> list[FileInfo]:
        """The files this version added, from its commit file in the log."""
        fsys = fs.for_path(self.final, self.df.sparkSession)
        entry = fs.join(self.final, "_delta_log", f"{version:020d}.json")
        return commit_files(self.final, fsys.read_bytes(entry))

    def abort(self) -> None:
        self._done = True  # nothing was written before the commit


def commit_files(table: str, log_entry: bytes) -> list[FileInfo]:
    """The add actions of one Delta commit file, as the result document lists files."""
    out = []
    for line in log_entry.decode("utf-8").splitlines():
        action = json.loads(line) if line.strip() else {}
        if "add" in action:
            path = unquote(action["add"]["path"])
            out.append(FileInfo(path=path if "://" in path else fs.join(table, path), size=int(action["add"]["size"])))
    return out


# -- the writer -------------------------------------------------------------------------------

class DeltaWriter:
    def preflight(self, output: Output, ctx: WriteContext) -> None:
        check_target(output, final_path(output), fs.for_path(output.path, ctx.spark))

    def stage(self, df: DataFrame, output: Output, ctx: WriteContext):
        fsys = fs.for_path(output.path, ctx.spark)
        final = final_path(output)
        check_target(output, final, fsys)
        if use_delta_spark(ctx.spark):
            return DeltaSparkStage(df, output, final)
        stage = DeltaLakeStage(ctx, output, final, delta_uri(ctx.spark, final), fsys, df.schema)
        try:
            stage.write(df)
        except BaseException:
            stage.abort()
            raise
        return stage


@register("delta")
def _delta() -> DeltaWriter:
    return DeltaWriter()
