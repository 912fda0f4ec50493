"""Change-log endpoints: the scoped change list and an asset's history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.accounts.deps import CurrentPrincipal
from app.audit import queries
from app.audit.schemas import ChangeList
from app.db import DbSession

router = APIRouter(tags=["audit"])

Limit = Annotated[int, Query(ge=1, le=500)]


def change_filters(
    actor: Annotated[str | None, Query(max_length=100, description="actor (account) name")] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="at or after (UTC if no offset)")] = None,
    until: Annotated[datetime | None, Query(description="before (UTC if no offset)")] = None,
    change_set: Annotated[int | None, Query(description="one change set (request)")] = None,
    batch: Annotated[int | None, Query(description="changes of one import batch")] = None,
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


@router.get("/changes", response_model=ChangeList)
def list_changes(
    session: DbSession,
    principal: CurrentPrincipal,
    filters: Annotated[queries.ChangeFilters, Depends(change_filters)],
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Changes to objects inside the caller's scope, newest first (keyset pages)."""
    items, next_cursor = queries.list_changes(
        session, principal, filters, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor, "limit": limit}


@router.get("/assets/{asset_id}/history", response_model=ChangeList)
def asset_history(
    session: DbSession,
    principal: CurrentPrincipal,
    asset_id: int,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Any:
    """Every recorded change of one asset, newest first; another scope's asset is a 404."""
    items, next_cursor = queries.asset_history(
        session, principal, asset_id, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor, "limit": limit}
