"""Alembic environment: the URL comes from APP_DATABASE_URL (or the caller's config)."""

from __future__ import annotations

from alembic import context

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


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
