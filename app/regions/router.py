"""Region endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.accounts.deps import CurrentPrincipal
from app.db import DbSession
from app.regions import queries
from app.regions.schemas import RegionRead

router = APIRouter(prefix="/regions", tags=["regions"])


@router.get("", response_model=list[RegionRead], summary="行政区划")
def list_regions(
    session: DbSession,
    _principal: CurrentPrincipal,
    parent: Annotated[
        str | None,
        Query(pattern=r"^\d{6}$", description="上级区划的 6 位代码,如 410000、410100"),
    ] = None,
    level: Annotated[
        Literal["province", "city", "district"] | None,
        Query(description="级别:province 省级、city 地级、district 县级"),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="按名称或代码查找,如 中原区、4101")
    ] = None,
) -> object:
    """Administrative divisions (public reference data; any authenticated caller may read)."""
    return queries.list_regions(session, parent=parent, level=level, q=q)
