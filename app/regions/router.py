"""Region endpoints."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from app.accounts.deps import CurrentPrincipal
from app.db import DbSession
from app.regions import queries
from app.regions.schemas import RegionRead

router = APIRouter(prefix="/regions", tags=["regions"])


@router.get("", response_model=list[RegionRead])
def list_regions(
    session: DbSession,
    _principal: CurrentPrincipal,
    parent: str | None = None,
    level: Literal["province", "city", "district"] | None = None,
    q: str | None = None,
) -> object:
    """Administrative divisions (public reference data; any authenticated caller may read)."""
    return queries.list_regions(session, parent=parent, level=level, q=q)
