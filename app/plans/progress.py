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
        raise invalid("renewed_on", f"更新日期 {body.renewed_on} 晚于今天;请填写实际完成日期")
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


PROGRESS_HEADER = [
    "年度",
    "类别",
    "计划数",
    "已完成",
    "完成率",
    "计划金额(万元)",
    "其中评估(万元)",
    "已完成的计划金额(万元)",
    "实际金额(万元)",
]
PROGRESS_WIDTHS = [8, 14, 10, 10, 10, 14, 14, 18, 14]
RISK_LABELS = {
    "past_planned_year": "计划年度已过未完成",
    "past_due": "已超期限未完成",
    "scheduled_after_deadline": "排期晚于省定期限",
    "beyond_budget": "超出年度预算",
}
RISK_HEADER = ["风险", "类别", "行数", "计划金额(万元)"]
RISK_WIDTHS = [22, 14, 10, 16]
TARGET_HEADER = ["目标", "类别", "指标", "目标值", "期限", "现有", "已达到", "计划完成后", "状态"]
TARGET_WIDTHS = [40, 14, 14, 10, 12, 10, 10, 12, 10]
METRIC_LABELS = {
    "renewal_rate": "更新比例",
    "tagged_rate": "电子标签覆盖率",
    "length_m": "改造长度(米)",
    "new_energy_units": "新能源车辆(辆)",
}
TARGET_STATUS = {"met": "已达成", "on_track": "按计划可达成", "short": "不足"}


def progress_tables(data: dict[str, Any]) -> list[Any]:
    """GET /plans/{id}/progress as tables (执行进度, 风险, 目标), Chinese labels, amounts 万元."""
    from app.kit.sheets import Table

    rows: list[list[Any]] = [
        [
            r["year"],
            r["label"],
            r["planned"],
            r["done"],
            _percent(r["done_ratio"]),
            r["planned_cost"],
            r["planned_assessment_cost"],
            r["done_planned_cost"],
            r["actual_cost"],
        ]
        for r in data["by_year_category"]
    ]
    total = data["planned"]
    rows.append(
        [
            "合计",
            "",
            total,
            data["done"],
            _percent(Decimal(data["done"]) / total if total else None),
            data["planned_cost"],
            data["planned_assessment_cost"],
            sum((r["done_planned_cost"] for r in data["by_year_category"]), Decimal(0)),
            data["actual_cost"],
        ]
    )
    risks = [
        [RISK_LABELS[name], CATEGORIES.get(cat, cat), v["count"], v["cost"]]
        for name, risk in data["risk"].items()
        for cat, v in sorted(risk["by_category"].items())
    ]
    targets = [
        [
            t["description"],
            CATEGORIES.get(t["category"], t["category"]),
            METRIC_LABELS.get(t["metric"], t["metric"]),
            t["target"],
            t["by"],
            t["fleet"],
            t["achieved"],
            t["planned"],
            TARGET_STATUS.get(t["status"], t["status"]),
        ]
        for t in data["targets"]
    ]
    return [
        Table("执行进度", PROGRESS_HEADER, PROGRESS_WIDTHS, rows),
        Table("风险", RISK_HEADER, RISK_WIDTHS, risks),
        Table("目标", TARGET_HEADER, TARGET_WIDTHS, targets),
    ]


def _percent(ratio: Decimal | None) -> str:
    return "" if ratio is None else f"{ratio * 100:.1f}%"
