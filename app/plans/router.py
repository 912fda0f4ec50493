"""Plan endpoints under /api/v1/plans, and POST /api/v1/assets/{id}/renewal (progress)."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from starlette.background import BackgroundTask

from app.accounts.deps import CurrentPrincipal
from app.assets.filters import CategoryFilter, category_code
from app.db import DbSession
from app.errors import WRITE
from app.kit.labels import to_code, words
from app.kit.params import (
    XLSX,
    Cursor,
    XlsxFile,
    Year,
    downloads,
    id_path,
    id_query,
    limit_query,
    shaped,
)
from app.kit.sheets import download, file_stem
from app.plans import edits, progress, queries, service
from app.plans.export import export_plan
from app.plans.notes import STATUS_ZH
from app.plans.schemas import (
    EditResult,
    LineList,
    LinePatch,
    PlanCreate,
    PlanList,
    PlanSummary,
    ProgressRead,
    ProjectList,
    ProjectPatch,
    RenewalCreate,
    RenewalRead,
)
from app.regions.queries import region_label

router = APIRouter(prefix="/plans", tags=["plans"])
renewals = APIRouter(prefix="/assets", tags=["plans"])
PlanId = Annotated[int, id_path("计划")]
LineId = Annotated[int, id_path("计划明细行")]
ProjectId = Annotated[int, id_path("项目")]
AssetId = Annotated[int, id_path("设备")]
if TYPE_CHECKING:
    PlanStatus = str | None
else:
    PlanStatus = Annotated[
        Literal[words(STATUS_ZH)] | None,
        Query(description="计划状态:draft 草稿、approved 已批准、archived 已归档(代码或中文)"),
    ]


@router.post(
    "", response_model=PlanSummary, status_code=201, summary="编制年度更新计划", responses=WRITE
)
def create_plan(session: DbSession, principal: CurrentPrincipal, body: PlanCreate) -> Any:
    """Make a draft plan from the stored flags of a region (see README: scheduling rules)."""
    plan = service.create_plan(session, principal, body)
    return queries.plan_view(session, principal, plan)


@router.get("", response_model=PlanList, summary="更新计划列表")
def list_plans(
    session: DbSession,
    principal: CurrentPrincipal,
    status: PlanStatus = None,
    limit: Annotated[int, limit_query(200)] = 50,
    cursor: Cursor = None,
) -> Any:
    """Plans in the caller's scope, newest first."""
    rows, next_cursor = queries.list_plans(
        session, principal, status=to_code(STATUS_ZH, status), limit=limit, cursor=cursor
    )
    return {
        "items": [queries.plan_header(p) for p in rows],
        "next_cursor": next_cursor,
        "limit": limit,
    }


@router.get("/{plan_id}", response_model=PlanSummary, summary="查看更新计划")
def read_plan(session: DbSession, principal: CurrentPrincipal, plan_id: PlanId) -> Any:
    """The plan with its summary by year × category, shortfall and targets."""
    plan = queries.get_plan(session, principal, plan_id)
    return queries.plan_view(session, principal, plan)


@router.get("/{plan_id}/lines", response_model=LineList, summary="计划明细行")
def list_lines(
    session: DbSession,
    principal: CurrentPrincipal,
    plan_id: PlanId,
    year: Year = None,
    category: CategoryFilter = None,
    project_id: Annotated[int | None, id_query("只看某个项目的明细行:项目 id")] = None,
    limit: Annotated[int, limit_query(500)] = 50,
    cursor: Cursor = None,
) -> Any:
    """A keyset page of lines in plan order (year, then due date and priority)."""
    plan = queries.get_plan(session, principal, plan_id)
    filters = queries.LineFilters(
        year=year, category=category_code(category), project_id=project_id
    )
    items, next_cursor = queries.list_lines(session, plan, filters, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor, "limit": limit}


@router.patch(
    "/{plan_id}/lines/{line_id}", response_model=EditResult, summary="调整明细行", responses=WRITE
)
def patch_line(
    session: DbSession,
    principal: CurrentPrincipal,
    plan_id: PlanId,
    line_id: LineId,
    body: LinePatch,
) -> Any:
    """Move a line to another year, or change its cost, project or funding source."""
    return edits.patch_line(session, principal, plan_id, line_id, body)


@router.get("/{plan_id}/projects", response_model=ProjectList, summary="计划项目")
def list_projects(
    session: DbSession,
    principal: CurrentPrincipal,
    plan_id: PlanId,
    year: Year = None,
    limit: Annotated[int, limit_query(500)] = 100,
    cursor: Cursor = None,
) -> Any:
    """The plan's projects with their line counts and cost, by year and key."""
    plan = queries.get_plan(session, principal, plan_id)
    items, next_cursor = queries.list_projects(session, plan, year=year, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor, "limit": limit}


@router.patch(
    "/{plan_id}/projects/{project_id}",
    response_model=EditResult,
    summary="修改项目",
    responses=WRITE,
)
def patch_project(
    session: DbSession,
    principal: CurrentPrincipal,
    plan_id: PlanId,
    project_id: ProjectId,
    body: ProjectPatch,
) -> Any:
    """Change a project's name, implementation subject, responsible unit, funding or months."""
    return edits.patch_project(session, principal, plan_id, project_id, body)


@router.post("/{plan_id}/approve", response_model=PlanSummary, summary="批准计划", responses=WRITE)
def approve_plan(session: DbSession, principal: CurrentPrincipal, plan_id: PlanId) -> Any:
    """Freeze the draft; later edits make a new draft version."""
    plan = service.approve_plan(session, principal, plan_id)
    return queries.plan_view(session, principal, plan)


@router.get(
    "/{plan_id}/progress",
    summary="计划执行进度",
    responses=downloads("JSON;format=xlsx 时为进度、风险、目标三张表,csv 时为进度表", ProgressRead),
)
def plan_progress(
    session: DbSession,
    principal: CurrentPrincipal,
    plan_id: PlanId,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json,或下载 csv / xlsx")
    ] = "json",
) -> Any:
    """Done vs planned by year and category, deadline risk and targets; `format=xlsx`
    (执行进度, 风险 and 目标 sheets) or `csv` (执行进度) download them."""
    plan = queries.get_plan(session, principal, plan_id)
    data = progress.plan_progress(session, principal, plan)
    if format == "json":
        return data
    label = region_label(session, plan.region_prefix)
    on = data["as_of"]
    return download(
        format,
        f"{plan.name}（第{plan.version}版）执行进度",
        progress.progress_tables(data),
        file_stem(plan.name, f"第{plan.version}版", "执行进度", f"截至{on}"),
        f"plan-{plan.id}-v{plan.version}-progress-{on}.{format}",
        region=label,
        as_of=on,
    )


@router.get("/{plan_id}/export.xlsx", response_class=XlsxFile, summary="导出计划工作簿")
def export_xlsx(session: DbSession, principal: CurrentPrincipal, plan_id: PlanId) -> Response:
    """The plan workbook a bureau files: summary with chart, one sheet per year, projects, notes."""
    plan = queries.get_plan(session, principal, plan_id)
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        export_plan(session, principal, plan, path)
    except BaseException:
        os.unlink(path)
        raise
    filename = f"plan-{plan.id}-v{plan.version}.xlsx"
    return XlsxFile(
        path, media_type=XLSX, filename=filename, background=BackgroundTask(os.unlink, path)
    )


@renewals.post(
    "/{asset_id}/renewal",
    summary="登记设备已更新或报废",
    responses={**WRITE, **shaped(RenewalRead)},
)
def record_renewal(
    session: DbSession, principal: CurrentPrincipal, asset_id: AssetId, body: RenewalCreate
) -> Any:
    """Record an asset as renewed or retired: flags cleared, its plan lines marked done."""
    return progress.record_renewal(session, principal, asset_id, body)
