"""The launcher's store: tables (models), engine and sessions (db), repositories (repo_*)."""

from launcher.store.db import make_engine, session_factory, session_scope, upgrade

__all__ = ["make_engine", "session_factory", "session_scope", "upgrade"]
