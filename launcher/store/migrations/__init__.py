"""Alembic migrations of the launcher store; run with launcher.store.db.upgrade(engine)."""
