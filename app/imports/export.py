"""The ledger export: the template's layout filled with the caller's assets, per category."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.scope import Principal
from app.assets.models import Asset
from app.assets.queries import AssetFilters, filtered
from app.assets.spec import CATEGORIES, FIELDS_BY_NAME, FieldSpec, label_of
from app.imports.workbooks import SpecWriter
from app.kit.sheets import title_text

CHUNK = 5000


TITLE = "设备台账"
STATUS = FIELDS_BY_NAME["status"]


def export_ledger(
    session: Session,
    principal: Principal,
    filters: AssetFilters,
    path: Path,
    *,
    region: str | None = None,
    as_of: date | None = None,
) -> int:
    """Write the filtered, scoped ledger to `path`; returns the number of assets written.

    Each sheet opens with a title row (台账, category, region, as-of date, filter) above the
    template's header, which the importer passes over, so an unedited export re-imports."""
    categories = [filters.category] if filters.category else list(CATEGORIES)
    if principal.category is not None:
        categories = [c for c in categories if c == principal.category]
    writer = SpecWriter(path, title=TITLE, region=region, as_of=as_of)
    described = describe(filters)
    written = 0
    for category in categories:
        heading = title_text(f"{TITLE}（{CATEGORIES[category]}）", region, as_of, described)
        ws, specs, first = writer.sheet(category, heading)
        scoped = replace(filters, category=category)
        for row, values in enumerate(_rows(session, principal, scoped, specs), start=first):
            writer.write_row(ws, row, specs, values)
            written += 1
    writer.close()
    return written


def describe(filters: AssetFilters) -> str:
    """The filters of an export as a reader reads them (the region is named separately)."""
    parts = []
    if filters.category:
        parts.append(f"类别 {CATEGORIES[filters.category]}")
    if filters.status:
        parts.append(f"状态 {label_of(STATUS, filters.status)}")
    if filters.commissioned_after:
        parts.append(f"投用日期晚于 {filters.commissioned_after}")
    if filters.commissioned_before:
        parts.append(f"投用日期早于 {filters.commissioned_before}")
    if filters.q:
        parts.append(f"包含“{filters.q}”")
    return "，".join(parts)


def _rows(
    session: Session, principal: Principal, filters: AssetFilters, specs: list[FieldSpec]
) -> Iterator[dict[str, Any]]:
    """Spec columns of the matching assets in id order, a keyset chunk at a time (no ORM)."""
    names = [s.name for s in specs]
    stmt = filtered(principal, filters).with_only_columns(
        Asset.id, *(getattr(Asset, n) for n in names)
    )
    last_id = 0
    while True:
        rows = session.execute(stmt.where(Asset.id > last_id).order_by(Asset.id).limit(CHUNK)).all()
        if not rows:
            return
        for row in rows:
            yield dict(zip(names, row[1:], strict=True))
        last_id = rows[-1][0]
