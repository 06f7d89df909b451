"""parquet writer (owned by the writers work)."""
