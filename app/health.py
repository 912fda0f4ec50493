"""Liveness and schema revision."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from app.db import DbSession, database_kind
from app.kit.params import shaped

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """GET /health."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"]
    database: Literal["sqlite", "postgresql"]
    schema_revision: str | None


@router.get("/health", summary="服务状态", response_model=None, responses=shaped(Health))
def health(request: Request, session: DbSession) -> dict[str, Any]:
    """Status, database kind and the schema revision the database is at (no auth needed)."""
    revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {
        "status": "ok",
        "database": database_kind(request.app.state.settings.database_url),
        "schema_revision": revision,
    }
