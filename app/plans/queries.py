"""Read side of plans: scoped lookups, the summary by year × category, keyset pages of lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, extract, func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, scoped
from app.assets.spec import CATEGORIES
from app.errors import NotFound
from app.kit.pagination import decode_id, decode_keys, encode_cursor
from app.plans.calc import priority
from app.plans.costs import ASSESSMENT, load_cost_model, money, weights_from_json
from app.plans.models import Plan, PlanLine, PlanProject
from app.plans.targets import check_targets

WORK_LABELS = {"renewal": "更新", ASSESSMENT: "评估"}
"""What a plan line pays for, as the workbook and the console say it."""


def get_plan(session: Session, principal: Principal, plan_id: int) -> Plan:
    """One plan inside the caller's scope; another scope's plan is a 404."""
    stmt = scoped(
        select(Plan).where(Plan.id == plan_id), principal, Plan.region_prefix, Plan.category
    )
    plan = session.scalar(stmt)
    if plan is None:
        raise NotFound(f"计划 {plan_id} 不存在或不在您的管辖范围内")
    return plan


def list_plans(
    session: Session,
    principal: Principal,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Plan], str | None]:
    """Plans in the caller's scope, newest first, a keyset page at a time."""
    stmt = scoped(select(Plan), principal, Plan.region_prefix, Plan.category)
    if status:
        stmt = stmt.where(Plan.status == status)
    if cursor:
        stmt = stmt.where(Plan.id < decode_id(cursor))
    rows = session.scalars(stmt.order_by(Plan.id.desc()).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor([rows[limit - 1].id])


def plan_header(plan: Plan) -> dict[str, Any]:
    """The listed fields of a plan."""
    return {
        "id": plan.id,
        "series_id": plan.series_id or plan.id,
        "version": plan.version,
        "previous_id": plan.previous_id,
        "name": plan.name,
        "status": plan.status,
        "region": plan.region_prefix,
        "categories": plan.parameters["categories"],
        "first_year": plan.first_year,
        "last_year": plan.last_year,
        "as_of": plan.as_of,
        "created_by": plan.created_by,
        "created_at": plan.created_at,
        "approved_at": plan.approved_at,
        "approved_by": plan.approved_by,
    }


def plan_view(session: Session, principal: Principal, plan: Plan) -> dict[str, Any]:
    """Header, summary by year × category, shortfall, scheduler facts, packs and targets."""
    return {
        **plan_header(plan),
        **summary(session, plan),
        "parameters": plan.parameters,
        "packs": plan.packs,
        "stats": plan.stats,
        "targets": check_targets(session, principal, plan),
    }


def late_clause(plan: Plan) -> ColumnElement[bool]:
    """Lines scheduled after their deadline year (overdue items: after the first plan year)."""
    return and_(PlanLine.year > extract("year", PlanLine.due_on), PlanLine.year > plan.first_year)


def budget_of(plan: Plan, year: int, category: str | None) -> Decimal | None:
    """The budget of a year (category None: the whole year) as given when the plan was made."""
    budgets = plan.parameters.get("budgets")
    if budgets is None:
        return None
    value = budgets.get(str(year))
    if isinstance(value, dict):
        if category is None:
            return sum((Decimal(v) for v in value.values()), Decimal(0))
        return Decimal(value.get(category, "0"))
    return Decimal(value) if category is None else None


CATEGORY_ORDER = {c: i for i, c in enumerate(CATEGORIES)}


def _cell_order(item: tuple[tuple[int, str], Any]) -> tuple[int, int]:
    """Summary rows by year, then catalogue order of categories."""
    (year, category), _ = item
    return year, CATEGORY_ORDER[category]


ZERO = money(0)


@dataclass
class Cell:
    """One year × category cell of the summary."""

    count: int = 0
    quantity: Decimal = ZERO
    cost: Decimal = ZERO
    overdue: int = 0
    beyond_budget: int = 0
    late: int = 0
    shortfall_cost: Decimal = ZERO
    assessments: int = 0
    """Lines that are assessments (评估): counted in `count`, their quantity not in `quantity`."""
    assessment_cost: Decimal = ZERO
    contingent_cost: Decimal = ZERO
    """The renewals the assessments may lead to: shown, never in `cost`."""

    @property
    def renewal_cost(self) -> Decimal:
        """The cost of the renewal lines (cost = renewal_cost + assessment_cost)."""
        return self.cost - self.assessment_cost


def summary_cells(session: Session, plan: Plan) -> dict[tuple[int, str], Cell]:
    """Counts, quantities and costs per (year, category), one GROUP BY over the plan's lines."""
    missed = or_(PlanLine.beyond_budget, late_clause(plan))
    assess = PlanLine.work == ASSESSMENT
    stmt = (
        select(
            PlanLine.year,
            PlanLine.category,
            func.count(),
            func.sum(case((assess, 0), else_=PlanLine.quantity)),
            func.sum(PlanLine.amount),
            func.sum(case((PlanLine.due_on < plan.as_of, 1), else_=0)),
            func.sum(case((PlanLine.beyond_budget, 1), else_=0)),
            func.sum(case((late_clause(plan), 1), else_=0)),
            func.sum(case((missed, PlanLine.amount), else_=0)),
            func.sum(case((assess, 1), else_=0)),
            func.sum(case((assess, PlanLine.amount), else_=0)),
            func.sum(func.coalesce(PlanLine.contingent_amount, 0)),
        )
        .where(PlanLine.plan_id == plan.id)
        .group_by(PlanLine.year, PlanLine.category)
    )
    cells = {
        (y, c): Cell()
        for y in range(plan.first_year, plan.last_year + 1)
        for c in plan.parameters["categories"]
    }
    for row in session.execute(stmt):
        year, cat, n, qty, cost, overdue, beyond, late, short, n_assess, a_cost, contingent = row
        cells[(year, cat)] = Cell(
            n, money(qty), money(cost), int(overdue), int(beyond), int(late), money(short),
            int(n_assess or 0), money(a_cost), money(contingent),
        )  # fmt: skip
    return cells


def shortfall(session: Session, plan: Plan) -> dict[str, Any]:
    """Lines that miss their deadline (beyond budget or moved late), by year and category."""
    stmt = (
        select(
            PlanLine.year,
            PlanLine.category,
            func.count(),
            func.sum(PlanLine.amount),
            func.min(PlanLine.due_on),
            func.max(PlanLine.due_on),
        )
        .where(PlanLine.plan_id == plan.id, or_(PlanLine.beyond_budget, late_clause(plan)))
        .group_by(PlanLine.year, PlanLine.category)
        .order_by(PlanLine.year, PlanLine.category)
    )
    items: list[dict[str, Any]] = [
        {
            "year": year,
            "category": cat,
            "count": n,
            "cost": money(cost),
            "earliest_due_on": first,
            "latest_due_on": last,
        }
        for year, cat, n, cost, first, last in session.execute(stmt)
    ]
    return {
        "count": sum(i["count"] for i in items),
        "cost": sum((i["cost"] for i in items), ZERO),
        "items": items,
    }


def summary(session: Session, plan: Plan) -> dict[str, Any]:
    """The plan summary: per year × category and per year, with budgets, gaps and shortfall."""
    cells = summary_cells(session, plan)
    units = {name: c.unit for name, c in load_cost_model().categories.items()}
    rows: list[dict[str, Any]] = [
        {
            "year": y,
            "category": c,
            "label": CATEGORIES[c],
            "count": cell.count,
            "quantity": cell.quantity,
            "unit": units[c],
            "cost": cell.cost,
            "renewal_cost": cell.renewal_cost,
            "assessments": cell.assessments,
            "assessment_cost": cell.assessment_cost,
            "contingent_cost": cell.contingent_cost,
            "budget": budget_of(plan, y, c),
            "overdue": cell.overdue,
            "beyond_budget": cell.beyond_budget,
            "late": cell.late,
        }
        for (y, c), cell in sorted(cells.items(), key=_cell_order)
    ]
    years = _year_rows(plan, cells)
    return {
        "total_cost": sum((y["cost"] for y in years), ZERO),
        "renewal_cost": sum((y["renewal_cost"] for y in years), ZERO),
        "assessment_cost": sum((y["assessment_cost"] for y in years), ZERO),
        "contingent_cost": sum((y["contingent_cost"] for y in years), ZERO),
        "line_count": sum(y["count"] for y in years),
        "years": years,
        "summary": rows,
        "shortfall": shortfall(session, plan),
    }


def _year_rows(plan: Plan, cells: dict[tuple[int, str], Cell]) -> list[dict[str, Any]]:
    """Per year: line count, cost, budget, gap (budget − cost) and the cost of missed lines."""
    years: list[dict[str, Any]] = []
    for y in range(plan.first_year, plan.last_year + 1):
        mine = [cell for (yy, _), cell in cells.items() if yy == y]
        cost = sum((c.cost for c in mine), ZERO)
        budget = budget_of(plan, y, None)
        years.append(
            {
                "year": y,
                "count": sum(c.count for c in mine),
                "cost": cost,
                "renewal_cost": sum((c.renewal_cost for c in mine), ZERO),
                "assessment_cost": sum((c.assessment_cost for c in mine), ZERO),
                "contingent_cost": sum((c.contingent_cost for c in mine), ZERO),
                "budget": budget,
                "gap": None if budget is None else budget - cost,
                "shortfall_cost": sum((c.shortfall_cost for c in mine), ZERO),
            }
        )
    return years


@dataclass(frozen=True)
class LineFilters:
    """Filters of the line list."""

    year: int | None = None
    category: str | None = None
    project_id: int | None = None


def list_lines(
    session: Session, plan: Plan, filters: LineFilters, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A keyset page of lines in plan order (year, then urgency rank)."""
    stmt = (
        select(PlanLine, PlanProject)
        .join(PlanProject, PlanProject.id == PlanLine.project_id)
        .where(PlanLine.plan_id == plan.id)
    )
    if filters.year is not None:
        stmt = stmt.where(PlanLine.year == filters.year)
    if filters.category:
        stmt = stmt.where(PlanLine.category == filters.category)
    if filters.project_id is not None:
        stmt = stmt.where(PlanLine.project_id == filters.project_id)
    if cursor:
        year, rank = decode_keys(cursor, int, int)
        stmt = stmt.where(tuple_(PlanLine.year, PlanLine.rank) > tuple_(year, rank))
    rows = session.execute(stmt.order_by(PlanLine.year, PlanLine.rank).limit(limit + 1)).all()
    items = [line_read(plan, line, project) for line, project in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = rows[limit - 1][0]
    return items, encode_cursor([last.year, last.rank])


def get_line(session: Session, plan: Plan, line_id: int) -> tuple[PlanLine, PlanProject]:
    """One line of the plan with its project; 404 when it belongs to another plan."""
    row = session.execute(
        select(PlanLine, PlanProject)
        .join(PlanProject, PlanProject.id == PlanLine.project_id)
        .where(PlanLine.id == line_id, PlanLine.plan_id == plan.id)
    ).first()
    if row is None:
        raise NotFound(f"计划 {plan.id} 中没有明细行 {line_id}")
    return row[0], row[1]


def project_read(project: PlanProject) -> dict[str, Any]:
    """The API shape of a project."""
    return {c.key: getattr(project, c.key) for c in PlanProject.__table__.columns}


def line_flags(plan: Plan, line: PlanLine) -> dict[str, bool]:
    """Overdue (due before the plan's as_of), late (after its deadline year), deadline missed."""
    late = line.year > max(line.due_on.year, plan.first_year)
    return {
        "overdue": line.due_on < plan.as_of,
        "late": late,
        "beyond_budget": line.beyond_budget,
        "deadline_missed": late or line.beyond_budget,
    }


def _asset_snapshot(line: PlanLine) -> dict[str, Any]:
    """The asset as the plan saw it (the ledger row may change or go later)."""
    return {
        "id": line.asset_id,
        "code": line.asset_code,
        "category": line.category,
        "region_code": line.region_code,
        "address": line.address,
    }


def line_read(plan: Plan, line: PlanLine, project: PlanProject) -> dict[str, Any]:
    """The API shape of a line: asset snapshot, project, money, priority and deadline flags."""
    weights = weights_from_json(plan.parameters["weights"])
    prio = priority(line.level, line.category, line.in_scope_on, plan.as_of, weights)
    basis = plan.packs.get(line.pack_id, {}).get("rules", {})
    rule_ids = line.rule_ids.split(",") if line.rule_ids else []
    return {
        "id": line.id,
        "plan_id": line.plan_id,
        "rank": line.rank,
        "year": line.year,
        "asset": _asset_snapshot(line),
        "project": project_read(project),
        "level": line.level,
        "rule_ids": rule_ids,
        "basis": "; ".join(basis.get(r, r) for r in rule_ids),
        "pack_id": line.pack_id,
        "in_scope_on": line.in_scope_on,
        "due_on": line.due_on,
        **line_flags(plan, line),
        "priority": {
            "score": prio.score,
            "age": prio.age,
            "level": prio.level,
            "category": prio.category,
        },
        "quantity": line.quantity,
        "quantity_assumed": line.quantity_assumed,
        "unit_cost": line.unit_cost,
        "amount": line.amount,
        "work": line.work,
        "work_label": WORK_LABELS[line.work],
        "contingent_amount": line.contingent_amount,
        "advisory": line.advisory,
        "cost_source": line.cost_source,
        "funding_source": line.funding_source or project.funding_source,
        "done_on": line.done_on,
        "actual_cost": line.actual_cost,
        "outcome": line.outcome,
    }


def list_projects(
    session: Session, plan: Plan, *, year: int | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A keyset page of the plan's projects (by id) with their line counts and cost."""
    stmt = select(PlanProject).where(PlanProject.plan_id == plan.id)
    if year is not None:
        stmt = stmt.where(PlanProject.year == year)
    if cursor:
        stmt = stmt.where(PlanProject.id > decode_id(cursor))
    rows = session.scalars(stmt.order_by(PlanProject.id).limit(limit + 1)).all()
    page = rows[:limit]
    totals = project_totals(session, plan, [p.id for p in page])
    items = [{**project_read(p), **totals.get(p.id, {})} for p in page]
    next_cursor = encode_cursor([page[-1].id]) if len(rows) > limit else None
    return items, next_cursor


def project_totals(
    session: Session, plan: Plan, ids: Sequence[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Line count, quantity (of the renewals), cost, and the assessments' own cost and
    contingent renewal cost per project (of `ids`, or of every project of the plan)."""
    assess = PlanLine.work == ASSESSMENT
    stmt = select(
        PlanLine.project_id,
        func.count(),
        func.sum(case((assess, 0), else_=PlanLine.quantity)),
        func.sum(PlanLine.amount),
        func.sum(case((assess, 1), else_=0)),
        func.sum(case((assess, PlanLine.amount), else_=0)),
        func.sum(func.coalesce(PlanLine.contingent_amount, 0)),
    ).where(PlanLine.plan_id == plan.id)
    if ids is not None:
        stmt = stmt.where(PlanLine.project_id.in_(list(ids)))
    stmt = stmt.group_by(PlanLine.project_id)
    return {
        pid: {
            "lines": n,
            "quantity": money(qty),
            "cost": money(cost),
            "assessments": int(n_assess or 0),
            "assessment_cost": money(a_cost),
            "contingent_cost": money(contingent),
        }
        for pid, n, qty, cost, n_assess, a_cost, contingent in session.execute(stmt)
    }
