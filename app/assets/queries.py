"""Read side of the ledger: scoped lookups, filtered keyset listing, and the read shape."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Select, or_, select, tuple_
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, region_prefix_clause, scoped
from app.assets.models import Asset
from app.assets.spec import CATEGORY_FIELD_NAMES, FIELDS_BY_NAME, fields_for
from app.errors import NotFound
from app.kit.pagination import decode_id, decode_keys, encode_cursor, like_pattern

SortKey = Literal["id", "asset_code", "region_code"]


@dataclass(frozen=True)
class AssetFilters:
    """Filters shared by the asset list and the ledger export."""

    category: str | None = None
    region: str | None = None
    status: str | None = None
    commissioned_after: date | None = None
    commissioned_before: date | None = None
    q: str | None = None


def get_asset(session: Session, principal: Principal, asset_id: int) -> Asset:
    """One asset inside the caller's scope; another scope's asset is a 404."""
    asset = session.scalar(
        scoped(
            select(Asset).where(Asset.id == asset_id), principal, Asset.region_code, Asset.category
        )
    )
    if asset is None:
        raise NotFound(f"设备 {asset_id} 不存在或不在您的管辖范围内")
    return asset


def filtered(principal: Principal, filters: AssetFilters) -> Select[Asset]:
    """A scoped select of assets matching the filters (no order, no limit)."""
    stmt = scoped(select(Asset), principal, Asset.region_code, Asset.category)
    if filters.category:
        stmt = stmt.where(Asset.category == filters.category)
    if filters.region:
        stmt = stmt.where(region_prefix_clause(Asset.region_code, filters.region))
    if filters.status:
        stmt = stmt.where(Asset.status == filters.status)
    if filters.commissioned_after:
        stmt = stmt.where(Asset.commissioned_on >= filters.commissioned_after)
    if filters.commissioned_before:
        stmt = stmt.where(Asset.commissioned_on < filters.commissioned_before)
    if filters.q:
        pattern = like_pattern(filters.q)
        stmt = stmt.where(
            or_(
                Asset.asset_code.ilike(pattern, escape="\\"),
                Asset.name.ilike(pattern, escape="\\"),
                Asset.address.ilike(pattern, escape="\\"),
            )
        )
    return stmt


def list_assets(
    session: Session,
    principal: Principal,
    filters: AssetFilters,
    *,
    limit: int,
    cursor: str | None = None,
    sort: SortKey = "id",
) -> tuple[Sequence[Asset], str | None]:
    """A keyset page of assets in a stable order (sort key, then id) and the next cursor."""
    stmt = filtered(principal, filters)
    if sort == "id":
        if cursor:
            stmt = stmt.where(Asset.id > decode_id(cursor))
        stmt = stmt.order_by(Asset.id)
    else:
        col = getattr(Asset, sort)
        if cursor:
            last_value, last_id = decode_keys(cursor, str, int)
            stmt = stmt.where(tuple_(col, Asset.id) > tuple_(last_value, last_id))
        stmt = stmt.order_by(col, Asset.id)
    rows = session.scalars(stmt.limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    key = [last.id] if sort == "id" else [getattr(last, sort), last.id]
    return rows, encode_cursor(key)


def iter_assets(
    session: Session, principal: Principal, filters: AssetFilters, *, chunk: int = 5000
) -> Iterator[Asset]:
    """Stream every matching asset in id order, a chunk at a time (for exports)."""
    last_id = 0
    base = filtered(principal, filters)
    while True:
        rows = session.scalars(base.where(Asset.id > last_id).order_by(Asset.id).limit(chunk)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def plain_decimal(value: Any) -> Any:
    """Decimals without storage padding: 20.0000 → 20, 1.5000 → 1.5."""
    if isinstance(value, Decimal):
        return Decimal(format(value.normalize(), "f"))
    return value


def asset_fields(asset: Asset) -> dict[str, Any]:
    """The spec fields of an asset's own category (other categories' columns are omitted)."""
    return {f.name: getattr(asset, f.name) for f in fields_for(asset.category)}


def asset_to_read(asset: Asset, flag_status: str) -> dict[str, Any]:
    """The API's read shape of an asset (flag_status from app.rules.status.flag_statuses)."""
    data = {k: plain_decimal(v) for k, v in asset_fields(asset).items()}
    data.update(
        id=asset.id,
        flag_status=flag_status,
        renewed_on=asset.renewed_on,
        last_batch_id=asset.last_batch_id,
        created_at=asset.created_at,
        updated_at=asset.updated_at,
    )
    return data


def is_category_field(name: str) -> bool:
    return name in CATEGORY_FIELD_NAMES and name in FIELDS_BY_NAME
