"""Who-am-I endpoint; account administration endpoints live here too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.accounts.deps import CurrentPrincipal

router = APIRouter(tags=["accounts"])


@router.get("/me")
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """The caller's account, role and scope."""
    return {
        "account_id": principal.account_id,
        "name": principal.name,
        "role": principal.role,
        "region_prefix": principal.region_prefix,
        "category": principal.category,
    }
