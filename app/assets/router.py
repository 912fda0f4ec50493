"""Asset endpoints under /api/v1/assets."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from app.accounts.deps import CurrentPrincipal
from app.assets import queries, service
from app.assets.models import Asset
from app.assets.schemas import AssetCreate, AssetList, AssetRead
from app.assets.spec import CATEGORIES
from app.db import DbSession
from app.rules.status import flag_statuses

router = APIRouter(prefix="/assets", tags=["assets"])

CategoryParam = Literal[
    "elevator", "water_pump", "boiler", "gas_pipe", "lpg_cylinder", "sanitation_vehicle"
]
StatusParam = Literal["in_service", "renewing", "renewed", "retired"]
assert set(CategoryParam.__args__) == set(CATEGORIES)  # type: ignore[attr-defined]


def asset_filters(
    category: CategoryParam | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{1,6}$")] = None,
    status: StatusParam | None = None,
    commissioned_after: date | None = None,
    commissioned_before: date | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> queries.AssetFilters:
    """Query parameters shared by the list and the ledger export."""
    return queries.AssetFilters(
        category=category,
        region=region,
        status=status,
        commissioned_after=commissioned_after,
        commissioned_before=commissioned_before,
        q=q,
    )


Filters = Annotated[queries.AssetFilters, Depends(asset_filters)]


def _read(session: Session, asset: Asset) -> dict[str, Any]:
    return queries.asset_to_read(asset, flag_statuses(session, [asset.id])[asset.id])


@router.post("", response_model=AssetRead, status_code=201)
def create_asset(session: DbSession, principal: CurrentPrincipal, body: AssetCreate) -> Any:
    """Register an asset; the body's fields are those of its category (DOMAIN.md §4).

    `region_code` may be a name (河南省郑州市中原区, 中原区 when the caller's scope makes it
    unique); a retired code is registered under its successor, with `warnings` saying so."""
    warnings: list[str] = []
    asset = service.register_asset(session, principal, body, warnings)
    return _read(session, asset) | ({"warnings": warnings} if warnings else {})


@router.get("", response_model=AssetList)
def list_assets(
    session: DbSession,
    principal: CurrentPrincipal,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    sort: queries.SortKey = "id",
) -> Any:
    """A keyset page of the ledger; pass `next_cursor` back as `cursor` for the next page."""
    rows, next_cursor = queries.list_assets(
        session, principal, filters, limit=limit, cursor=cursor, sort=sort
    )
    statuses = flag_statuses(session, (a.id for a in rows))
    return {
        "items": [queries.asset_to_read(a, statuses[a.id]) for a in rows],
        "next_cursor": next_cursor,
        "limit": limit,
    }


@router.get("/export.xlsx", response_class=FileResponse)
def export_ledger(session: DbSession, principal: CurrentPrincipal, filters: Filters) -> Any:
    """The filtered ledger in the survey template's layout; edit it and upload it to update."""
    from app.imports.export import export_ledger as write_export
    from app.imports.router import temp_xlsx, xlsx_response
    from app.kit.dates import today
    from app.kit.sheets import file_stem
    from app.regions.queries import narrowest, region_label

    path = temp_xlsx()
    covered = narrowest(principal.region_prefix, filters.region)
    region, on = region_label(session, covered), today()
    write_export(session, principal, filters, path, region=region, as_of=on)
    what = CATEGORIES[filters.category] if filters.category else "全部类别"
    ascii_name = f"ledger-{filters.category or 'all'}-{covered or 'all'}-{on}.xlsx"
    return xlsx_response(path, ascii_name, file_stem("设备台账", what, region, on) + ".xlsx")


@router.get("/{asset_id}", response_model=AssetRead)
def read_asset(session: DbSession, principal: CurrentPrincipal, asset_id: int) -> Any:
    return _read(session, queries.get_asset(session, principal, asset_id))


@router.patch("/{asset_id}", response_model=AssetRead)
def patch_asset(
    session: DbSession,
    principal: CurrentPrincipal,
    asset_id: int,
    patch: Annotated[dict[str, Any], Body()],
) -> Any:
    """Change some fields; the merged record must still be valid for its category."""
    warnings: list[str] = []
    asset = service.update_asset(session, principal, asset_id, patch, warnings)
    return _read(session, asset) | ({"warnings": warnings} if warnings else {})


@router.delete("/{asset_id}", status_code=204)
def delete_asset(session: DbSession, principal: CurrentPrincipal, asset_id: int) -> Response:
    service.delete_asset(session, principal, asset_id)
    return Response(status_code=204)
