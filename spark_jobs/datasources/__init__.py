"""Spark Python Data Sources (``pyspark.sql.datasource``) for formats a runtime may lack."""

from __future__ import annotations


def ensure_registered(spark, source) -> None:
    """Make ``format(source.name())`` usable from this thread of ``spark``.

    Python data sources are looked up through the JVM's *active* session, which is per thread: a
    job run from a thread other than the one that built the session (the launcher's background
    runs, concurrent jobs) fails with DATA_SOURCE_NOT_FOUND unless the thread's active session is
    set first. Registering again replaces the source (and logs a warning), so it is done once.
    """
    try:
        jvm = spark._jvm
        jvm.org.apache.spark.sql.classic.SparkSession.setActiveSession(spark._jsparkSession)
        known = spark._jsparkSession.sessionState().dataSourceManager().dataSourceExists(source.name())
    except Exception:  # noqa: BLE001 - Spark Connect: no JVM here; registering again is harmless
        known = False
    if not known:
        spark.dataSource.register(source)
