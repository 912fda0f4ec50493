"""Progress: record a renewal (flags cleared, plan lines done) and report done vs planned."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, scoped
from app.assets import service as assets_service
from app.assets.models import Asset
from app.assets.spec import CATEGORIES
from app.audit.recorder import record_change
from app.kit.dates import today
from app.plans.costs import ASSESSMENT, money
from app.plans.inputs import invalid
from app.plans.models import Plan, PlanLine
from app.plans.queries import late_clause
from app.plans.schemas import RenewalCreate
from app.plans.targets import check_targets, done_clause, line_asset
from app.rules.status import flag_statuses


def record_renewal(
    session: Session, principal: Principal, asset_id: int, body: RenewalCreate
) -> dict[str, Any]:
    """Mark an asset renewed or retired: its flags are recomputed (none remain) and its lines in
    every draft or approved plan are done with the actual date and cost."""
    if body.renewed_on > today():
        raise invalid("renewed_on", f"{body.renewed_on} is in the future")
    asset = assets_service.update_asset(session, principal, asset_id, {"status": body.status})
    before = {"renewed_on": asset.renewed_on}
    asset.renewed_on = body.renewed_on
    session.flush()
    live = select(Plan.id).where(Plan.status != "archived").scalar_subquery()
    result = session.execute(
        update(PlanLine)
        .where(
            PlanLine.asset_id == asset.id,
            PlanLine.category == asset.category,
            PlanLine.plan_id.in_(live),
        )
        .values(done_on=body.renewed_on, actual_cost=body.cost, outcome=body.status)
        .returning(PlanLine.plan_id)
    )
    touched = sorted({row[0] for row in result})
    # lines are done in every plan that holds the asset; the caller is told only of its own plans
    plan_ids = (
        list(
            session.scalars(
                scoped(
                    select(Plan.id).where(Plan.id.in_(touched)),
                    principal,
                    Plan.region_prefix,
                    Plan.category,
                ).order_by(Plan.id)
            )
        )
        if touched
        else []
    )
    record_change(
        session,
        action="renewal",
        object_type="asset",
        object_id=asset.id,
        region_code=asset.region_code,
        category=asset.category,
        actor=principal,
        before=before,
        after={"renewed_on": body.renewed_on, "cost": body.cost, "plans": plan_ids},
    )
    return {
        "asset_id": asset.id,
        "status": asset.status,
        "renewed_on": asset.renewed_on,
        "cost": body.cost,
        "flag_status": flag_statuses(session, [asset.id])[asset.id],
        "plans": plan_ids,
    }


def _count_sum(cond: Any) -> tuple[Any, Any]:
    """SUM of 1 and SUM of amount over the lines meeting a condition."""
    return (
        func.sum(case((cond, 1), else_=0)),
        func.sum(case((cond, PlanLine.amount), else_=0)),
    )


def _by_year_category(session: Session, plan: Plan) -> list[dict[str, Any]]:
    """Planned and done lines, cost and actual cost per year and category."""
    done = done_clause()
    stmt = (
        select(
            PlanLine.year,
            PlanLine.category,
            func.count(),
            func.sum(PlanLine.amount),
            func.sum(case((PlanLine.work == ASSESSMENT, PlanLine.amount), else_=0)),
            *_count_sum(done),
            func.sum(case((done, func.coalesce(PlanLine.actual_cost, 0)), else_=0)),
        )
        .select_from(PlanLine)
        .outerjoin(Asset, line_asset())
        .where(PlanLine.plan_id == plan.id)
        .group_by(PlanLine.year, PlanLine.category)
        .order_by(PlanLine.year, PlanLine.category)
    )
    return [
        {
            "year": year,
            "category": cat,
            "label": CATEGORIES[cat],
            "planned": n,
            "planned_cost": money(cost),
            "planned_assessment_cost": money(a_cost),
            "done": int(n_done),
            "done_planned_cost": money(done_cost),
            "actual_cost": money(actual),
            "done_ratio": (Decimal(int(n_done)) / n).quantize(Decimal("0.0001")) if n else None,
        }
        for year, cat, n, cost, a_cost, n_done, done_cost, actual in session.execute(stmt)
    ]


def _risk(session: Session, plan: Plan, on: date) -> dict[str, Any]:
    """Lines not done that are past their planned year, past due, late, or beyond budget."""
    conditions = {
        "past_planned_year": PlanLine.year < on.year,
        "past_due": PlanLine.due_on < on,
        "scheduled_after_deadline": late_clause(plan),
        "beyond_budget": PlanLine.beyond_budget,
    }
    sums = [s for cond in conditions.values() for s in _count_sum(cond)]
    stmt = (
        select(PlanLine.category, *sums)
        .select_from(PlanLine)
        .outerjoin(Asset, line_asset())
        .where(PlanLine.plan_id == plan.id, ~done_clause())
        .group_by(PlanLine.category)
        .order_by(PlanLine.category)
    )
    out: dict[str, Any] = {
        name: {"count": 0, "cost": Decimal(0), "by_category": {}} for name in conditions
    }
    for row in session.execute(stmt):
        for i, name in enumerate(conditions):
            n, cost = int(row[1 + 2 * i] or 0), money(row[2 + 2 * i])
            if n:
                out[name]["count"] += n
                out[name]["cost"] += cost
                out[name]["by_category"][row[0]] = {"count": n, "cost": cost}
    return out


def plan_progress(session: Session, principal: Principal, plan: Plan) -> dict[str, Any]:
    """Done vs planned by year and category, deadline risk as of today, and targets."""
    on = today()
    rows = _by_year_category(session, plan)
    planned = sum(r["planned"] for r in rows)
    done = sum(r["done"] for r in rows)
    return {
        "plan_id": plan.id,
        "as_of": on,
        "planned": planned,
        "done": done,
        "planned_cost": sum((r["planned_cost"] for r in rows), Decimal(0)),
        "planned_assessment_cost": sum((r["planned_assessment_cost"] for r in rows), Decimal(0)),
        "actual_cost": sum((r["actual_cost"] for r in rows), Decimal(0)),
        "by_year_category": rows,
        "risk": _risk(session, plan, on),
        "targets": check_targets(session, principal, plan),
    }
