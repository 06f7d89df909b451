"""csv and json writers (owned by the writers work)."""
