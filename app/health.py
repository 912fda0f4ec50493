"""Liveness and schema revision."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from app.db import DbSession, database_kind

router = APIRouter(tags=["health"])


@router.get("/health", summary="服务状态")
def health(request: Request, session: DbSession) -> dict[str, Any]:
    """Status, database kind and the schema revision the database is at (no auth needed)."""
    revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {
        "status": "ok",
        "database": database_kind(request.app.state.settings.database_url),
        "schema_revision": revision,
    }
