"""Spark Python Data Sources (``pyspark.sql.datasource``) for formats a runtime may lack."""
