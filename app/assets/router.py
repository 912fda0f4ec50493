"""Asset endpoints under /api/v1/assets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response
from sqlalchemy.orm import Session

from app.accounts.deps import CurrentPrincipal
from app.assets import queries, service
from app.assets.filters import CategoryFilter, StatusFilter, category_code, status_code
from app.assets.models import Asset
from app.assets.schemas import AssetCreate, AssetList, AssetRead
from app.assets.spec import CATEGORIES
from app.db import DbSession
from app.errors import WRITE
from app.kit.labels import DATE_HELP, Day
from app.kit.params import Cursor, XlsxFile, id_path, limit_query
from app.rules.status import flag_statuses

router = APIRouter(prefix="/assets", tags=["assets"])

CategoryParam = Literal[
    "elevator", "water_pump", "boiler", "gas_pipe", "lpg_cylinder", "sanitation_vehicle"
]
assert set(CategoryParam.__args__) == set(CATEGORIES)  # type: ignore[attr-defined]
AssetId = Annotated[int, id_path("设备")]
RegionPrefix = Annotated[
    str | None,
    Query(pattern=r"^\d{1,6}$", description="行政区划代码前缀(1 至 6 位数字,如 41、4101、410102)"),
]


def asset_filters(
    category: CategoryFilter = None,
    region: RegionPrefix = None,
    status: StatusFilter = None,
    commissioned_after: Annotated[
        Day | None,
        Query(description=f"投入使用日期不早于;{DATE_HELP}(只写年月为该月1日)"),
    ] = None,
    commissioned_before: Annotated[
        Day | None,
        Query(description=f"投入使用日期早于;{DATE_HELP}(只写年月为该月1日,即早于该月)"),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="在设备编号、名称、地址中查找的文字")
    ] = None,
) -> queries.AssetFilters:
    """Query parameters shared by the list and the ledger export."""
    return queries.AssetFilters(
        category=category_code(category),
        region=region,
        status=status_code(status),
        commissioned_after=commissioned_after,
        commissioned_before=commissioned_before,
        q=q,
    )


Filters = Annotated[queries.AssetFilters, Depends(asset_filters)]


def _read(session: Session, asset: Asset) -> dict[str, Any]:
    return queries.asset_to_read(asset, flag_statuses(session, [asset.id])[asset.id])


@router.post("", response_model=AssetRead, status_code=201, summary="登记设备", responses=WRITE)
def create_asset(session: DbSession, principal: CurrentPrincipal, body: AssetCreate) -> Any:
    """Register an asset; the body's fields are those of its category (DOMAIN.md §4).

    `region_code` may be a name (河南省郑州市中原区, 中原区 when the caller's scope makes it
    unique); a retired code is registered under its successor, with `warnings` saying so."""
    warnings: list[str] = []
    asset = service.register_asset(session, principal, body, warnings)
    return _read(session, asset) | ({"warnings": warnings} if warnings else {})


@router.get("", response_model=AssetList, summary="设备台账列表")
def list_assets(
    session: DbSession,
    principal: CurrentPrincipal,
    filters: Filters,
    limit: Annotated[int, limit_query(500)] = 50,
    cursor: Cursor = None,
    sort: Annotated[
        queries.SortKey, Query(description="排序:id、asset_code(设备编号)或 region_code")
    ] = "id",
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


@router.get("/export.xlsx", response_class=XlsxFile, summary="导出设备台账(xlsx)")
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


@router.get("/{asset_id}", response_model=AssetRead, summary="查看设备")
def read_asset(session: DbSession, principal: CurrentPrincipal, asset_id: AssetId) -> Any:
    """One asset with its flag status; another scope's asset is a 404."""
    return _read(session, queries.get_asset(session, principal, asset_id))


@router.patch("/{asset_id}", response_model=AssetRead, summary="修改设备", responses=WRITE)
def patch_asset(
    session: DbSession,
    principal: CurrentPrincipal,
    asset_id: AssetId,
    patch: Annotated[
        dict[str, Any], Body(description="要修改的字段及新值(字段同登记时该类别的字段)")
    ],
) -> Any:
    """Change some fields; the merged record must still be valid for its category."""
    warnings: list[str] = []
    asset = service.update_asset(session, principal, asset_id, patch, warnings)
    return _read(session, asset) | ({"warnings": warnings} if warnings else {})


@router.delete("/{asset_id}", status_code=204, summary="删除设备", responses=WRITE)
def delete_asset(session: DbSession, principal: CurrentPrincipal, asset_id: AssetId) -> Response:
    """Delete an asset (recorded in the change log)."""
    service.delete_asset(session, principal, asset_id)
    return Response(status_code=204)
