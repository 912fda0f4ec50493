"""Edits of a draft plan: move or re-price a line, change a project. Editing an approved plan
first makes a new draft version (copied inside the database) and edits that."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from app.accounts.scope import Principal
from app.errors import Conflict, NotFound
from app.plans.costs import CENT, load_cost_model, money
from app.plans.grouping import new_project, project_key
from app.plans.inputs import invalid
from app.plans.models import Plan, PlanLine, PlanProject
from app.plans.queries import budget_of, get_line, line_read, project_read
from app.plans.schemas import LinePatch, ProjectPatch
from app.plans.service import PLAN_STATES, newer_version, record_plan, writable_plan
from app.plans.store import copy_plan, draft_values, region_names


def editable_draft(session: Session, plan: Plan, principal: Principal) -> tuple[Plan, bool]:
    """The draft to edit: the plan itself, or a new version of an approved plan."""
    if plan.status == "draft":
        return plan, False
    newer = newer_version(session, plan)
    if newer is not None:
        raise Conflict(
            f"计划 {plan.id}(第 {plan.version} 版)已有更新的版本:计划 {newer.id}"
            f"(第 {newer.version} 版,{newer.status});请修改该版本",
            current_id=newer.id,
        )
    if plan.status != "approved":
        raise Conflict(f"计划 {plan.id} {PLAN_STATES.get(plan.status, '')}({plan.status}),不能修改")
    new = copy_plan(session, plan, principal.name)
    record_plan(
        session,
        principal,
        new,
        "create",
        after={"version": new.version, "previous_id": plan.id, "status": "draft"},
    )
    return new, True


def _counterpart(session: Session, plan: Plan, model: type[Any], **match: Any) -> Any:
    """The row of `plan` matching a row of the version it was copied from (year+rank, or key)."""
    row = session.scalar(select(model).filter_by(plan_id=plan.id, **match))
    if row is None:  # pragma: no cover - copies keep every year, rank and key
        raise NotFound(f"计划 {plan.id} 中没有与 {match} 对应的副本")
    return row


def _copied_project_id(session: Session, plan: Plan, project_id: int) -> int:
    """A project id of the version `plan` was copied from, translated to its copy in `plan`."""
    old = session.get(PlanProject, project_id)
    if old is None or old.plan_id != plan.previous_id:
        return project_id  # not from the previous version: _assign reports it
    return int(_counterpart(session, plan, PlanProject, key=old.key).id)


def _result(plan: Plan, created: bool, warnings: list[str], **extra: Any) -> dict[str, Any]:
    """The response of an edit: plan version, whether it is new, warnings."""
    return {
        "plan_id": plan.id,
        "plan_version": plan.version,
        "new_version": created,
        "warnings": warnings,
        **extra,
    }


def _line_view(line: PlanLine) -> dict[str, Any]:
    """The editable fields of a line, for the change log."""
    keys = ("year", "project_id", "unit_cost", "amount", "funding_source", "beyond_budget")
    return {k: getattr(line, k) for k in keys}


def _check_funding(value: str | None, field: str) -> None:
    """422 unless the value is one of the funding channels (or None)."""
    channels = load_cost_model().funding_channels
    if value is not None and value not in channels:
        raise invalid(field, f"{value} 不是资金渠道(可选: {', '.join(channels)})")


def patch_line(
    session: Session, principal: Principal, plan_id: int, line_id: int, patch: LinePatch
) -> dict[str, Any]:
    """Move a line to another year, change its cost, project or funding source."""
    plan = writable_plan(session, principal, plan_id)
    line, project = get_line(session, plan, line_id)
    changes = patch.model_dump(exclude_unset=True)
    _validate_line_patch(plan, changes)
    plan, created = editable_draft(session, plan, principal)
    target = changes.get("project_id")
    if created:
        line = _counterpart(session, plan, PlanLine, year=line.year, rank=line.rank)
        if target is not None:
            target = _copied_project_id(session, plan, target)
    before = _line_view(line)
    warnings: list[str] = []
    if changes.get("year") is not None and changes["year"] != line.year:
        _move(session, plan, line, changes["year"], warnings, keep_project=target is not None)
    if target is not None:
        _assign(session, plan, line, target)
    _reprice(line, changes)
    if "funding_source" in changes:
        line.funding_source = changes["funding_source"]
    session.flush()
    warnings += budget_warnings(session, plan, line.year, line.category)
    project = session.get_one(PlanProject, line.project_id)
    record_plan(
        session,
        principal,
        plan,
        "update",
        object_type="plan_line",
        object_id=line.id,
        before=before,
        after=_line_view(line),
    )
    return _result(plan, created, warnings, line=line_read(plan, line, project))


def _validate_line_patch(plan: Plan, changes: dict[str, Any]) -> None:
    """Reject a bad year, cost or funding source before anything is copied."""
    year = changes.get("year")
    if year is not None and not plan.first_year <= year <= plan.last_year:
        raise invalid("year", f"应为计划年度({plan.first_year}-{plan.last_year})")
    if changes.get("amount") is not None and changes.get("unit_cost") is not None:
        raise invalid("amount", "金额 amount 与单价 unit_cost 只能填一项")
    _check_funding(changes.get("funding_source"), "funding_source")


def _move(
    session: Session,
    plan: Plan,
    line: PlanLine,
    year: int,
    warnings: list[str],
    *,
    keep_project: bool,
) -> None:
    """Put the line into another year (and, unless a project is given, the same place's project)."""
    if year > max(line.due_on.year, plan.first_year):
        warnings.append(
            f"line {line.id} ({line.asset_code}) now misses its deadline {line.due_on}: "
            f"planned for {year}"
        )
    if line.in_scope_on is not None and year < line.in_scope_on.year:
        warnings.append(
            f"line {line.id} ({line.asset_code}): its condition holds only from {line.in_scope_on}"
        )
    old_project_id = line.project_id
    line.year = year
    line.beyond_budget = False
    if not keep_project:
        old = session.get_one(PlanProject, old_project_id)
        line.project_id = _project_for(session, plan, old, year, line).id
        session.flush()
        _drop_if_empty(session, old_project_id)


def _project_for(
    session: Session, plan: Plan, old: PlanProject, year: int, line: PlanLine
) -> PlanProject:
    """The project of the same place in `year`, created (copying the old one's people) if new."""
    key = project_key(year, old.category, old.region_code, old.label)
    found = session.scalar(
        select(PlanProject).where(PlanProject.plan_id == plan.id, PlanProject.key == key)
    )
    if found is not None:
        return found
    names = region_names(session, [old.region_code])
    draft = new_project(
        year,
        old.category,
        old.region_code,
        old.label,
        region_name=names.get(old.region_code, old.region_code),
        model=load_cost_model(),
        first_due=line.due_on,
    )
    people = replace(
        draft,
        implementation_subject=old.implementation_subject,
        responsible_unit=old.responsible_unit,
        funding_source=old.funding_source,
    )
    project = PlanProject(plan_id=plan.id, **draft_values(people))
    session.add(project)
    session.flush()
    return project


def _drop_if_empty(session: Session, project_id: int) -> None:
    """Remove a project that no longer has lines."""
    still = session.scalar(select(exists().where(PlanLine.project_id == project_id)))
    if not still:
        session.execute(delete(PlanProject).where(PlanProject.id == project_id))


def _assign(session: Session, plan: Plan, line: PlanLine, project_id: int) -> None:
    """Put the line into another project of the same plan, category and year."""
    project = session.get(PlanProject, project_id)
    if project is None or project.plan_id != plan.id:
        raise invalid("project_id", f"项目 {project_id} 不属于计划 {plan.id}")
    if project.category != line.category:
        raise invalid(
            "project_id",
            f"项目 {project_id} 是 {project.category} 类别的项目,"
            f"与该明细的类别 {line.category} 不同",
        )
    if project.year != line.year:
        raise invalid(
            "project_id", f"项目 {project_id} 属于 {project.year} 年度,不是 {line.year} 年度"
        )
    old = line.project_id
    line.project_id = project.id
    session.flush()
    if old != project.id:
        _drop_if_empty(session, old)


def _reprice(line: PlanLine, changes: dict[str, Any]) -> None:
    """Set unit cost (amount follows) or amount (unit cost follows)."""
    if changes.get("unit_cost") is not None:
        line.unit_cost = Decimal(changes["unit_cost"])
        line.amount = (line.unit_cost * line.quantity).quantize(CENT)
        line.cost_source = "edited"
    elif changes.get("amount") is not None:
        line.amount = Decimal(changes["amount"])
        if line.quantity:
            line.unit_cost = (line.amount / line.quantity).quantize(CENT)
        line.cost_source = "edited"


def budget_warnings(session: Session, plan: Plan, year: int, category: str) -> list[str]:
    """A warning when the year's (or the year's category) budget is now exceeded."""
    per_category = budget_of(plan, year, category)
    budget = per_category if per_category is not None else budget_of(plan, year, None)
    if budget is None:
        return []
    stmt = select(func.sum(PlanLine.amount)).where(
        PlanLine.plan_id == plan.id, PlanLine.year == year
    )
    if per_category is not None:
        stmt = stmt.where(PlanLine.category == category)
    cost = money(session.scalar(stmt))
    if cost <= budget:
        return []
    pool = f"{year} 年度 {category} 类别" if per_category is not None else f"{year} 年度"
    return [f"{pool}预算({budget} 万元)已超出 {cost - budget} 万元"]


def patch_project(
    session: Session, principal: Principal, plan_id: int, project_id: int, patch: ProjectPatch
) -> dict[str, Any]:
    """Change a project's name, subject, unit, funding source or time nodes."""
    plan = writable_plan(session, principal, plan_id)
    project = session.get(PlanProject, project_id)
    if project is None or project.plan_id != plan.id:
        raise NotFound(f"计划 {plan.id} 中没有项目 {project_id}")
    changes = patch.model_dump(exclude_unset=True)
    _check_funding(changes.get("funding_source"), "funding_source")
    for key, value in changes.items():
        if value is None:
            raise invalid(key, "不能为空(null)")
    start = changes.get("start_month") or project.start_month
    finish = changes.get("finish_month") or project.finish_month
    if start > finish:
        raise invalid("finish_month", f"完成月份 {finish} 早于开工月份 start_month {start}")
    plan, created = editable_draft(session, plan, principal)
    if created:
        project = _counterpart(session, plan, PlanProject, key=project.key)
    before = project_read(project)
    for key, value in changes.items():
        setattr(project, key, value)
    session.flush()
    record_plan(
        session,
        principal,
        plan,
        "update",
        object_type="plan_project",
        object_id=project.id,
        before=before,
        after=project_read(project),
    )
    return _result(plan, created, [], project=project_read(project))
