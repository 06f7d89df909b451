"""Alembic environment: runs on the connection that launcher.store.db.upgrade() hands over.

There is no alembic.ini: ``alembic_config()`` in launcher.store.db sets the script location.
Run by hand with ``launcher db upgrade`` (uses the configured database URL).
"""

from __future__ import annotations

from alembic import context

from launcher.store.models import Base

target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from launcher.settings import load_settings
    from launcher.store.db import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or load_settings().database_url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `launcher db upgrade`")
run_migrations_online()
