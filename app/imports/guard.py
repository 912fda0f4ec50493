"""Rows keyed like an asset outside the uploader's scope are rejected before staging.

An import matches existing assets by (category, asset_code). A district editor's row with another
district's code must neither change nor move that asset, nor show its values in the preview; the
row is rejected with a message that does not reveal where the asset is.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, scope_clause
from app.assets.models import Asset
from app.assets.service import code_unavailable
from app.imports.rows import Accepted, Rejected, RowMapper

CHUNK = 2000

Pending = tuple[Accepted, int, list[Any]]
"""An accepted row with its sheet cells (first column, values) for the error workbook."""


class ScopeGuard:
    """Buffers accepted rows and rejects those whose code belongs to another scope's asset."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.active = bool(principal.region_prefix or principal.category)
        self.pending: list[Pending] = []

    def add(self, accepted: Accepted, first_col: int, values: list[Any]) -> bool:
        """Queue a row; True when a chunk is ready to be checked."""
        self.pending.append((accepted, first_col, values))
        return len(self.pending) >= CHUNK

    def drain(self, mapper: RowMapper) -> list[Accepted | Rejected]:
        """Check the queued rows: each comes back accepted, or rejected when out of scope."""
        rows, self.pending = self.pending, []
        foreign = self._foreign(rows) if self.active else set()
        out: list[Accepted | Rejected] = []
        for accepted, first_col, values in rows:
            code = accepted.values.get("asset_code")
            if (accepted.category, code) in foreign:
                message = code_unavailable(str(code))
                out.append(mapper.reject_out_of_scope(accepted, first_col, values, message))
            else:
                out.append(accepted)
        return out

    def _foreign(self, rows: list[Pending]) -> set[tuple[str, Any]]:
        by_category: dict[str, list[Any]] = defaultdict(list)
        for accepted, _, _ in rows:
            by_category[accepted.category].append(accepted.values.get("asset_code"))
        found: set[tuple[str, Any]] = set()
        outside = not_(scope_clause(self.principal, Asset.region_code, Asset.category))
        for category, codes in by_category.items():
            stmt = select(Asset.asset_code).where(
                Asset.category == category, Asset.asset_code.in_(codes), outside
            )
            found.update((category, code) for code in self.session.scalars(stmt))
        return found
