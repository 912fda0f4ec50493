"""Change-log endpoints: the scoped change list and an asset's history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.accounts.deps import CurrentPrincipal
from app.audit import queries
from app.audit.schemas import ChangeList
from app.db import DbSession
from app.kit.params import Cursor, id_path, id_query, limit_query

router = APIRouter(tags=["audit"])

Limit = Annotated[int, limit_query(500)]


def change_filters(
    actor: Annotated[str | None, Query(max_length=100, description="操作人(账户名称)")] = None,
    object_type: Annotated[
        str | None, Query(max_length=32, description="对象类型,如 asset、plan、account")
    ] = None,
    object_id: Annotated[str | None, Query(max_length=64, description="对象 id")] = None,
    since: Annotated[datetime | None, Query(description="不早于此时刻(无时区时按 UTC)")] = None,
    until: Annotated[datetime | None, Query(description="早于此时刻(无时区时按 UTC)")] = None,
    change_set: Annotated[int | None, id_query("只看一次请求的变更:变更集 id")] = None,
    batch: Annotated[int | None, id_query("只看一个导入批次的变更:批次 id")] = None,
) -> queries.ChangeFilters:
    """Query parameters of the change list."""
    return queries.ChangeFilters(
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        change_set=change_set,
        batch=batch,
    )


@router.get("/changes", response_model=ChangeList, summary="变更记录")
def list_changes(
    session: DbSession,
    principal: CurrentPrincipal,
    filters: Annotated[queries.ChangeFilters, Depends(change_filters)],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    """Changes to objects inside the caller's scope, newest first (keyset pages)."""
    items, next_cursor = queries.list_changes(
        session, principal, filters, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor, "limit": limit}


@router.get("/assets/{asset_id}/history", response_model=ChangeList, summary="设备变更历史")
def asset_history(
    session: DbSession,
    principal: CurrentPrincipal,
    asset_id: Annotated[int, id_path("设备")],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Any:
    """Every recorded change of one asset, newest first; another scope's asset is a 404."""
    items, next_cursor, origin = queries.asset_history(
        session, principal, asset_id, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor, "limit": limit, "origin": origin}
