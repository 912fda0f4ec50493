"""An asset's flag status, read from its stored flags: the most severe level in scope today."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from app.kit.dates import today
from app.rules.evaluate import SEVERITY
from app.rules.models import AssetFlag

_BY_RANK = {n: level for level, n in SEVERITY.items()}


def flag_statuses(
    session: Session, asset_ids: Iterable[int], as_of: date | None = None
) -> dict[int, str]:
    """mandatory > assess > encouraged > none for each asset, as evaluate.asset_status decides it,
    with one aggregate over the assets' flags (ix_asset_flags_asset_id_rule_id).

    Derived on read rather than stored on the asset: keeping a stored copy meant rewriting every
    asset row after each evaluation (20 s of a million-row import)."""
    ids = list(asset_ids)
    if not ids:
        return {}
    as_of = as_of or today()
    rank = case(*((AssetFlag.level == lvl, n) for lvl, n in SEVERITY.items()), else_=0)
    rows = session.execute(
        select(AssetFlag.asset_id, func.max(rank))
        .where(
            AssetFlag.asset_id.in_(ids),
            AssetFlag.level.in_(list(SEVERITY)),
            or_(AssetFlag.in_scope_on.is_(None), AssetFlag.in_scope_on <= as_of),
        )
        .group_by(AssetFlag.asset_id)
    )
    found = {asset_id: _BY_RANK[worst] for asset_id, worst in rows}
    return {i: found.get(i, "none") for i in ids}
