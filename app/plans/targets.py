"""Plan-level targets of the rule packs (DOMAIN.md §5): achieved and planned against target.

Measured over the plan's region within the caller's scope. `achieved` counts the ledger's
renewed or retired assets of the category (renewed on or before the target date); `planned`
adds the plan's lines not yet done that are planned in or before the target year. A renewal rate
divides by every asset of the category in the region (the fleet, whatever its status). For
`new_energy_units` every renewed vehicle is assumed to be replaced by a new-energy one.
`tagged_rate` is the share of the in-service cylinders that carry an electronic tag (赋码);
`planned` counts as tagged the untagged ones that the plan renews in or before the target year
(a cylinder replaced or coded under the plan carries a tag).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, region_prefix_clause, scope_clause
from app.assets.models import Asset
from app.plans.models import Plan, PlanLine
from app.rules.packs import Pack, Registry, Target, get_registry

DONE_STATUSES = ("renewed", "retired")
RATE = Decimal("0.0001")


def line_asset() -> ColumnElement[bool]:
    """Join a line to its ledger asset (a soft reference: the category guards against a reused
    id after a deletion)."""
    return and_(Asset.id == PlanLine.asset_id, Asset.category == PlanLine.category)


def done_clause() -> ColumnElement[bool]:
    """A line is done when its renewal was recorded, or its asset is renewed or retired."""
    return or_(PlanLine.done_on.is_not(None), Asset.status.in_(DONE_STATUSES))


def _packs_in(registry: Registry, prefix: str) -> list[tuple[Pack, str]]:
    """(pack, region prefix measured) pairs: one for a provincial plan, each province for CN."""
    if len(prefix) >= 2:
        return [(registry.pack_for_region(prefix.ljust(6, "0")), prefix)]
    pairs: list[tuple[Pack, str]] = []
    for pack in sorted(registry.packs.values(), key=lambda p: p.id):
        pairs += [(pack, p) for p in pack.provinces] if pack.provinces else [(pack, "")]
    return pairs


def check_targets(session: Session, principal: Principal, plan: Plan) -> list[dict[str, Any]]:
    """Every target of the packs covering the plan's region and categories, measured."""
    categories = set(plan.parameters["categories"])
    out = []
    for pack, prefix in _packs_in(get_registry(), plan.region_prefix):
        for target in pack.targets:
            if target.category in categories:
                out.append(_measure(session, principal, plan, pack, target, prefix))
    return out


def _assets_where(principal: Principal, target: Target, prefix: str) -> list[Any]:
    """Assets of the target's category in the measured region and the caller's scope."""
    return [
        Asset.category == target.category,
        region_prefix_clause(Asset.region_code, prefix),
        scope_clause(principal, Asset.region_code, Asset.category),
    ]


def _amount(target: Target, column: Any) -> Any:
    """What a metric sums: length in metres, otherwise a count."""
    return func.coalesce(func.sum(column), 0) if target.metric == "length_m" else func.count()


def _ledger(
    session: Session, principal: Principal, target: Target, prefix: str
) -> tuple[Decimal, Decimal]:
    """(fleet, achieved) from the ledger."""
    where = _assets_where(principal, target, prefix)
    fleet = session.scalar(select(_amount(target, Asset.length_m)).where(*where))
    achieved_when = and_(
        Asset.status.in_(DONE_STATUSES),
        or_(Asset.renewed_on.is_(None), Asset.renewed_on <= target.by),
    )
    achieved = session.scalar(select(_amount(target, Asset.length_m)).where(*where, achieved_when))
    return Decimal(str(fleet or 0)), Decimal(str(achieved or 0))


def _planned_more(
    session: Session, principal: Principal, plan: Plan, target: Target, prefix: str
) -> Decimal:
    """Lines of the plan not yet done, planned in or before the target year."""
    stmt = (
        select(_amount(target, PlanLine.quantity))
        .select_from(PlanLine)
        .outerjoin(Asset, line_asset())
        .where(
            PlanLine.plan_id == plan.id,
            PlanLine.category == target.category,
            PlanLine.year <= target.by.year,
            PlanLine.work == "renewal",  # an assessment renews nothing
            region_prefix_clause(PlanLine.region_code, prefix),
            scope_clause(principal, PlanLine.region_code, PlanLine.category),
            ~done_clause(),
        )
    )
    return Decimal(str(session.scalar(stmt) or 0))


def _tagged(
    session: Session, principal: Principal, plan: Plan, target: Target, prefix: str
) -> tuple[Decimal, Decimal, Decimal]:
    """(in-service fleet, tagged now, tagged once the plan's lines up to the target are done)."""
    where = [*_assets_where(principal, target, prefix), Asset.status == "in_service"]
    fleet = session.scalar(select(func.count()).select_from(Asset).where(*where)) or 0
    tagged = (
        session.scalar(
            select(func.count())
            .select_from(Asset)
            .where(*where, Asset.has_electronic_tag.is_(True))
        )
        or 0
    )
    planned_lines = select(PlanLine.asset_id).where(
        PlanLine.plan_id == plan.id,
        PlanLine.category == target.category,
        PlanLine.year <= target.by.year,
        PlanLine.done_on.is_(None),
    )
    more = (
        session.scalar(
            select(func.count())
            .select_from(Asset)
            .where(
                *where,
                or_(Asset.has_electronic_tag.is_(None), Asset.has_electronic_tag.is_(False)),
                Asset.id.in_(planned_lines),
            )
        )
        or 0
    )
    return Decimal(fleet), Decimal(tagged), Decimal(tagged + more)


def _measure(
    session: Session, principal: Principal, plan: Plan, pack: Pack, target: Target, prefix: str
) -> dict[str, Any]:
    """Fleet, achieved and planned against one target, with status and notes."""
    if target.metric == "tagged_rate":
        fleet, achieved, planned = _tagged(session, principal, plan, target, prefix)
    else:
        fleet, achieved = _ledger(session, principal, target, prefix)
        planned = achieved + _planned_more(session, principal, plan, target, prefix)
    goal = Decimal(str(target.value))
    if target.metric in ("renewal_rate", "tagged_rate"):
        achieved_v = (achieved / fleet).quantize(RATE) if fleet else Decimal(0)
        planned_v = (planned / fleet).quantize(RATE) if fleet else Decimal(0)
    else:
        achieved_v, planned_v = achieved, planned
    status = "met" if achieved_v >= goal else "on_track" if planned_v >= goal else "short"
    notes = []
    if target.by < date(plan.first_year, 1, 1):
        notes.append("目标日期早于计划起始年度:计划值按已完成值计")
    if target.metric == "new_energy_units":
        notes.append("假定每辆更新的车辆都换成新能源车辆")
    return {
        "id": target.id,
        "pack_id": pack.id,
        "region": prefix,
        "category": target.category,
        "metric": target.metric,
        "target": goal,
        "by": target.by,
        "description": target.description,
        "basis": target.basis.citation(),
        "fleet": fleet,
        "achieved": achieved_v,
        "planned": planned_v,
        "status": status,
        "notes": notes,
    }
