"""The ledger export: the template's layout filled with the caller's assets, per category."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.scope import Principal
from app.assets.models import Asset
from app.assets.queries import AssetFilters, filtered
from app.assets.spec import CATEGORIES, FieldSpec
from app.imports.workbooks import SpecWriter

CHUNK = 5000


def export_ledger(session: Session, principal: Principal, filters: AssetFilters, path: Path) -> int:
    """Write the filtered, scoped ledger to `path`; returns the number of assets written."""
    categories = [filters.category] if filters.category else list(CATEGORIES)
    if principal.category is not None:
        categories = [c for c in categories if c == principal.category]
    writer = SpecWriter(path)
    written = 0
    for category in categories:
        ws, specs = writer.sheet(category)
        scoped = replace(filters, category=category)
        for row, values in enumerate(_rows(session, principal, scoped, specs), start=2):
            writer.write_row(ws, row, specs, values)
            written += 1
    writer.close()
    return written


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
