"""Write side of rules: keep stored flags current."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.assets.models import Asset


def refresh_asset_flags(session: Session, assets: Sequence[Asset]) -> None:
    """Recompute the stored flags of the given assets."""
    return None
