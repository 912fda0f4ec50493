"""Read side of the change log: scoped, filtered keyset pages, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, scoped
from app.assets.models import Asset
from app.assets.queries import get_asset
from app.audit.models import Change, ChangeSet
from app.imports.models import ImportBatch
from app.kit.dates import CST
from app.kit.pagination import decode_id, encode_cursor
from app.kit.timestamps import as_utc

ADMIN_ONLY_TYPES = ("account", "api_token")
"""Account administration is visible to admins only, like the account endpoints themselves."""


@dataclass(frozen=True)
class ChangeFilters:
    """Filters of GET /changes (all optional, combined with AND)."""

    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    change_set: int | None = None
    batch: int | None = None


def _base() -> Select[Change, ChangeSet]:
    return select(Change, ChangeSet).join(ChangeSet, ChangeSet.id == Change.change_set_id)


def _filtered(stmt: Select[Change, ChangeSet], f: ChangeFilters) -> Select[Change, ChangeSet]:
    if f.actor is not None:
        stmt = stmt.where(ChangeSet.actor_name == f.actor)
    if f.object_type is not None:
        stmt = stmt.where(Change.object_type == f.object_type)
    if f.object_id is not None:
        stmt = stmt.where(Change.object_id == f.object_id)
    if f.since is not None:
        stmt = stmt.where(ChangeSet.at >= as_utc(f.since))
    if f.until is not None:
        stmt = stmt.where(ChangeSet.at < as_utc(f.until))
    if f.change_set is not None:
        stmt = stmt.where(Change.change_set_id == f.change_set)
    if f.batch is not None:
        stmt = stmt.where(ChangeSet.batch_id == f.batch)
    return stmt


def _page(
    session: Session, stmt: Select[Change, ChangeSet], limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    if cursor:
        stmt = stmt.where(Change.id < decode_id(cursor))
    rows = session.execute(stmt.order_by(Change.id.desc()).limit(limit + 1)).all()
    items = [change_to_read(change, change_set) for change, change_set in rows[:limit]]
    next_cursor = encode_cursor([items[-1]["id"]]) if len(rows) > limit else None
    return items, next_cursor


def list_changes(
    session: Session,
    principal: Principal,
    filters: ChangeFilters,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of changes to objects inside the caller's scope, newest first."""
    stmt = scoped(_base(), principal, Change.region_code, Change.category)
    if not principal.is_admin:
        stmt = stmt.where(Change.object_type.not_in(ADMIN_ONLY_TYPES))
    return _page(session, _filtered(stmt, filters), limit, cursor)


def object_history(
    session: Session, object_type: str, object_id: int | str, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Every change of one object, newest first; the caller has checked the object is visible."""
    stmt = _base().where(Change.object_type == object_type, Change.object_id == str(object_id))
    return _page(session, stmt, limit, cursor)


def asset_history(
    session: Session, principal: Principal, asset_id: int, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None, dict[str, Any] | None]:
    """An asset's history, and where it came from when an import created it; another scope's
    (or a deleted) asset is a 404."""
    asset = get_asset(session, principal, asset_id)
    items, next_cursor = object_history(session, "asset", asset_id, limit=limit, cursor=cursor)
    return items, next_cursor, import_origin(session, asset)


def import_origin(session: Session, asset: Asset) -> dict[str, Any] | None:
    """The committed import that created an asset, from the ledger alone (imports do not log
    each asset they create): the batch of `last_batch_id` when it ran at the asset's creation,
    else the committed batch that was running then (a later import updated the asset)."""
    if asset.last_batch_id is None:
        return None
    created = asset.created_at
    ran_then = [
        ImportBatch.status == "committed",
        ImportBatch.started_at <= created,
        ImportBatch.finished_at >= created,
    ]
    batch = session.scalar(
        select(ImportBatch).where(ImportBatch.id == asset.last_batch_id, *ran_then)
    )
    if batch is None:
        batch = session.scalar(
            select(ImportBatch).where(*ran_then).order_by(ImportBatch.started_at.desc()).limit(1)
        )
    if batch is None:
        return None
    at = as_utc(batch.finished_at or created)
    local = at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    return {
        "batch_id": batch.id,
        "file_name": batch.file_name,
        "uploaded_by": batch.uploaded_by,
        "at": at,
        "text": f"由导入批次 {batch.id}（{batch.file_name}，{batch.uploaded_by}，{local}）创建",
    }


def change_to_read(change: Change, change_set: ChangeSet) -> dict[str, Any]:
    """The API's read shape of one change with its change set's header."""
    return {
        "id": change.id,
        "change_set_id": change_set.id,
        "at": change_set.at,
        "actor_id": change_set.actor_id,
        "actor_name": change_set.actor_name,
        "request_id": change_set.request_id,
        "kind": change_set.kind,
        "reason": change_set.reason,
        "batch_id": change_set.batch_id,
        "action": change.action,
        "object_type": change.object_type,
        "object_id": change.object_id,
        "region_code": change.region_code,
        "category": change.category,
        "before": change.before,
        "after": change.after,
    }
