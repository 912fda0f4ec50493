"""Rule packs, per-asset flags, the due list (JSON, CSV, XLSX) and stats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.accounts.deps import CurrentPrincipal
from app.assets.filters import CategoryFilter, category_code
from app.assets.router import AssetId, RegionPrefix
from app.assets.spec import CATEGORIES
from app.db import DbSession
from app.errors import NotFound
from app.kit.dates import today
from app.kit.labels import DATE_HELP, Day, DayUpTo, to_code, words
from app.kit.params import XLSX, Cursor, downloads, limit_query
from app.kit.sheets import attachment, download, file_stem
from app.regions.queries import full_region_names, narrowest, region_label
from app.rules import export, queries
from app.rules.packs import Pack, get_registry
from app.rules.schemas import AssetFlags, DueList, PackRead, PackSummary, Stats

router = APIRouter(tags=["rules"])
Level = Literal["mandatory", "assess", "encouraged"]
LEVELS = {k: v for k, v in export.LEVEL_LABELS.items() if k in Level.__args__}  # type: ignore[attr-defined]
RegionParam = RegionPrefix
AsOf = Annotated[
    Day | None,
    Query(description=f"评估基准日,默认今天(北京时间);{DATE_HELP}(只写年月为该月1日)"),
]
if TYPE_CHECKING:
    LevelWord = str
else:
    LevelWord = Literal[words(LEVELS)]


def _summary(pack: Pack) -> dict[str, Any]:
    return {
        "id": pack.id,
        "version": pack.version,
        "name": pack.name,
        "effective_on": pack.effective_on,
        "effective_on_basis": pack.effective_on_basis,
        "extends": pack.extends,
        "provinces": list(pack.provinces),
        "deadlines": pack.deadlines,
    }


@router.get("/rule-packs", response_model=list[PackSummary], summary="规则包列表")
def list_packs(_principal: CurrentPrincipal) -> Any:
    """Loaded rule packs with their deadlines."""
    return [_summary(p) for p in get_registry().packs.values()]


@router.get("/rule-packs/{pack_id}", response_model=PackRead, summary="查看规则包")
def read_pack(
    pack_id: Annotated[
        str,
        Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="规则包 id:CN 或省级代码如 41、44"),
    ],
    _principal: CurrentPrincipal,
) -> Any:
    """A pack's resolved rules (inherited and overridden), each with its basis and deadline."""
    pack = get_registry().packs.get(pack_id.upper())
    if pack is None:
        raise NotFound(f"规则包 {pack_id} 不存在;可在 GET /api/v1/rule-packs 查看现有规则包")
    rules = [
        {
            "id": r.id,
            "category": r.category,
            "level": r.level,
            "due": r.due,
            "deadline": r.deadline,
            "title": r.title,
            "params": r.params,
            "basis": queries.basis_of(r),
        }
        for r in pack.rules.values()
    ]
    targets = [
        {
            "id": t.id,
            "category": t.category,
            "metric": t.metric,
            "value": t.value,
            "by": t.by,
            "description": t.description,
        }
        for t in pack.targets
    ]
    return {**_summary(pack), "rules": rules, "disabled": list(pack.disabled), "targets": targets}


@router.get("/assets/{asset_id}/flags", response_model=AssetFlags, summary="设备为何被标记")
def asset_flags(
    asset_id: AssetId, session: DbSession, principal: CurrentPrincipal, as_of: AsOf = None
) -> Any:
    """Why an asset is flagged: every rule that holds or cannot be decided, as of a date."""
    return queries.explain_asset(session, principal, asset_id, as_of or today())


def due_filters(
    region: RegionParam = None,
    category: CategoryFilter = None,
    level: Annotated[
        list[LevelWord] | None,
        Query(
            description="级别,可重复:mandatory 强制更新、assess 须评估、encouraged 鼓励更新"
            "(代码或中文;默认 mandatory 与 assess)"
        ),
    ] = None,
    due_by: Annotated[
        DayUpTo | None,
        Query(description=f"截止日期不晚于;{DATE_HELP}(只写年月为该月最后一天)"),
    ] = None,
    as_of: AsOf = None,
    overdue: Annotated[bool, Query(description="true:只列已逾期的设备")] = False,
    rule: Annotated[
        str | None, Query(max_length=32, description="只列某条规则的标记:规则 id")
    ] = None,
    advisory: Annotated[
        bool | None,
        Query(description="false: leave out advisory flags (参考); true: only those"),
    ] = None,
) -> queries.DueFilters:
    """Due-list query parameters; `level` repeats or is comma-separated."""
    codes = {to_code(LEVELS, w) or w for w in level or ()}
    levels = tuple(sorted(codes)) if codes else ("assess", "mandatory")
    return queries.DueFilters(
        region=region,
        category=category_code(category),
        levels=levels,
        due_by=due_by,
        as_of=as_of,
        overdue=overdue,
        rule=rule,
        advisory=advisory,
    )


Filters = Annotated[queries.DueFilters, Depends(due_filters)]


@router.get(
    "/due",
    response_model=DueList,
    summary="到期更新清单",
    responses=downloads("JSON 分页;format=csv 或 xlsx 时为整份清单文件"),
)
def due_list(
    session: DbSession,
    principal: CurrentPrincipal,
    filters: Filters,
    sort: Annotated[queries.DueSort, Query(description="排序方式")] = "due_on",
    limit: Annotated[int, limit_query(500)] = 50,
    cursor: Cursor = None,
    format: Annotated[
        Literal["json", "csv", "xlsx"],
        Query(description="json:分页;csv / xlsx:下载整份筛选结果"),
    ] = "json",
) -> Any:
    """The due list: one item per asset, earliest due first, with its flags and clauses."""
    as_of = filters.as_of or today()
    if format != "json":
        covered = narrowest(principal.region_prefix, filters.region)
        region = region_label(session, covered)
        rows = queries.iter_due(session, principal, filters, as_of=as_of, sort=sort)
        if format == "csv":
            tmp = export.csv_file(rows)
            media = "text/csv; charset=utf-8"
        else:
            tmp = export.xlsx_file(
                rows,
                f"{export.TITLE} {region} {as_of}",
                region=region,
                as_of=as_of,
                filters=export.describe(filters),
            )
            media = XLSX
        what = CATEGORIES[filters.category] if filters.category else ""
        name = file_stem(export.TITLE, what, region, f"截至{as_of}")
        return FileResponse(
            tmp.name,
            media_type=media,
            headers=attachment(f"{name}.{format}", f"due-{covered or 'all'}-{as_of}.{format}"),
            background=BackgroundTask(tmp.close),
        )
    items, next_cursor = queries.due_page(
        session, principal, filters, as_of=as_of, sort=sort, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor, "limit": limit, "as_of": as_of}


@router.get(
    "/stats",
    summary="更新统计",
    responses=downloads("JSON 统计;format=csv 或 xlsx 时为统计文件", Stats),
)
def due_stats(
    session: DbSession,
    principal: CurrentPrincipal,
    region: RegionParam = None,
    category: CategoryFilter = None,
    group_by: Annotated[
        queries.GroupBy | None,
        Query(description="汇总到哪一级:province、city 或 district(默认比 region 低一级)"),
    ] = None,
    as_of: AsOf = None,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json,或下载 csv / xlsx")
    ] = "json",
) -> Any:
    """Counts and quantities by region × category × level × due year, overdue counts, data gaps;
    `format=xlsx` (统计 and 资料不全 sheets) or `csv` (the counts) download them with region
    names."""
    if group_by is None:
        depth = len(region or "")
        group_by = "province" if depth < 2 else "city" if depth < 4 else "district"
    on = as_of or today()
    category = category_code(category)
    data = queries.stats(
        session, principal, region=region, category=category, group_by=group_by, as_of=on
    )
    if format == "json":
        return data
    names = full_region_names(session, export.stats_region_codes(data))
    tables = export.stats_tables(data, names)
    covered = narrowest(principal.region_prefix, region)
    label = region_label(session, covered)
    what = CATEGORIES[category] if category else ""
    name = file_stem("设备更新统计", what, label, f"截至{on}")
    fallback = f"stats-{covered or 'all'}-{on}.{format}"
    return download(
        format,
        f"设备更新统计 {label}（按{GROUP_LABELS[group_by]}）",
        tables,
        name,
        fallback,
        region=label,
        as_of=on,
    )


GROUP_LABELS = {"province": "省", "city": "市", "district": "区县"}
