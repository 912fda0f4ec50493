"""Alembic environment: the URL comes from APP_DATABASE_URL (or the caller's config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from app.config import get_settings
from app.db import make_engine
from app.models import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or get_settings().database_url
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it and dropping the original (batch mode). With
        # foreign keys on, dropping `assets` would cascade-delete every row that references it
        # (asset_flags). Switched off for the migration (only possible outside a transaction),
        # then every reference is checked before the connection is used again.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows with broken references: {broken[:5]}")
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


run_migrations_online()
