"""Plan endpoints under /api/v1/plans, and POST /api/v1/assets/{id}/renewal (progress)."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.accounts.deps import CurrentPrincipal
from app.db import DbSession
from app.plans import edits, progress, queries, service
from app.plans.export import export_plan
from app.plans.schemas import (
    Category,
    EditResult,
    LineList,
    LinePatch,
    PlanCreate,
    PlanList,
    PlanSummary,
    ProjectList,
    ProjectPatch,
    RenewalCreate,
)

router = APIRouter(prefix="/plans", tags=["plans"])
renewals = APIRouter(prefix="/assets", tags=["plans"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("", response_model=PlanSummary, status_code=201)
def create_plan(session: DbSession, principal: CurrentPrincipal, body: PlanCreate) -> Any:
    """Make a draft plan from the stored flags of a region (see README: scheduling rules)."""
    plan = service.create_plan(session, principal, body)
    return queries.plan_view(session, principal, plan)


@router.get("", response_model=PlanList)
def list_plans(
    session: DbSession,
    principal: CurrentPrincipal,
    status: Literal["draft", "approved", "archived"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Any:
    """Plans in the caller's scope, newest first."""
    rows, next_cursor = queries.list_plans(
        session, principal, status=status, limit=limit, cursor=cursor
    )
    return {
        "items": [queries.plan_header(p) for p in rows],
        "next_cursor": next_cursor,
        "limit": limit,
    }


@router.get("/{plan_id}", response_model=PlanSummary)
def read_plan(session: DbSession, principal: CurrentPrincipal, plan_id: int) -> Any:
    """The plan with its summary by year × category, shortfall and targets."""
    plan = queries.get_plan(session, principal, plan_id)
    return queries.plan_view(session, principal, plan)


@router.get("/{plan_id}/lines", response_model=LineList)
def list_lines(
    session: DbSession,
    principal: CurrentPrincipal,
    plan_id: int,
    year: int | None = None,
    category: Category | None = None,
    project_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Any:
    """A keyset page of lines in plan order (year, then due date and priority)."""
    plan = queries.get_plan(session, principal, plan_id)
    filters = queries.LineFilters(year=year, category=category, project_id=project_id)
    items, next_cursor = queries.list_lines(session, plan, filters, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor, "limit": limit}


@router.patch("/{plan_id}/lines/{line_id}", response_model=EditResult)
def patch_line(
    session: DbSession, principal: CurrentPrincipal, plan_id: int, line_id: int, body: LinePatch
) -> Any:
    """Move a line to another year, or change its cost, project or funding source."""
    return edits.patch_line(session, principal, plan_id, line_id, body)


@router.get("/{plan_id}/projects", response_model=ProjectList)
def list_projects(
    session: DbSession,
    principal: CurrentPrincipal,
    plan_id: int,
    year: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Any:
    """The plan's projects with their line counts and cost, by year and key."""
    plan = queries.get_plan(session, principal, plan_id)
    items, next_cursor = queries.list_projects(session, plan, year=year, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor, "limit": limit}


@router.patch("/{plan_id}/projects/{project_id}", response_model=EditResult)
def patch_project(
    session: DbSession,
    principal: CurrentPrincipal,
    plan_id: int,
    project_id: int,
    body: ProjectPatch,
) -> Any:
    """Change a project's name, implementation subject, responsible unit, funding or months."""
    return edits.patch_project(session, principal, plan_id, project_id, body)


@router.post("/{plan_id}/approve", response_model=PlanSummary)
def approve_plan(session: DbSession, principal: CurrentPrincipal, plan_id: int) -> Any:
    """Freeze the draft; later edits make a new draft version."""
    plan = service.approve_plan(session, principal, plan_id)
    return queries.plan_view(session, principal, plan)


@router.get("/{plan_id}/progress")
def plan_progress(session: DbSession, principal: CurrentPrincipal, plan_id: int) -> Any:
    """Done vs planned by year and category, deadline risk and targets."""
    plan = queries.get_plan(session, principal, plan_id)
    return progress.plan_progress(session, principal, plan)


@router.get("/{plan_id}/export.xlsx", response_class=FileResponse)
def export_xlsx(session: DbSession, principal: CurrentPrincipal, plan_id: int) -> Response:
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
    return FileResponse(
        path, media_type=XLSX, filename=filename, background=BackgroundTask(os.unlink, path)
    )


@renewals.post("/{asset_id}/renewal")
def record_renewal(
    session: DbSession, principal: CurrentPrincipal, asset_id: int, body: RenewalCreate
) -> Any:
    """Record an asset as renewed or retired: flags cleared, its plan lines marked done."""
    return progress.record_renewal(session, principal, asset_id, body)
