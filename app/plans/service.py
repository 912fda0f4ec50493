"""Write side of plans: make a plan from the stored flags, approve it (flush, never commit)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, ensure_writable
from app.audit.recorder import record_change
from app.db import utcnow
from app.errors import Conflict
from app.plans.calc import PlanSpec, Schedule, schedule_plan
from app.plans.candidates import Loaded, Selection, count_data_gaps, load_candidates
from app.plans.grouping import draft_projects
from app.plans.inputs import PlanInputs, validate_plan_request
from app.plans.models import Plan
from app.plans.queries import get_plan
from app.plans.schemas import PlanCreate
from app.plans.store import insert_lines, insert_projects, paused_gc, region_names


def record_plan(
    session: Session, principal: Principal, plan: Plan, action: str, **change: Any
) -> None:
    """Record a change of a plan (or of its lines/projects) in the change log."""
    record_change(
        session,
        action=action,
        object_type=change.pop("object_type", "plan"),
        object_id=change.pop("object_id", plan.id),
        region_code=plan.region_prefix,
        category=plan.category,
        actor=principal,
        **change,
    )


def create_plan(session: Session, principal: Principal, body: PlanCreate) -> Plan:
    """Schedule what is due in the region into years, group it into projects, store it."""
    inputs = validate_plan_request(session, principal, body)
    sel = Selection(
        principal=principal,
        region_prefix=inputs.region_prefix,
        categories=inputs.categories,
        horizon_end=date(inputs.last_year, 12, 31),
        include_encouraged=inputs.include_encouraged,
        include_advisory=inputs.include_advisory,
    )
    with paused_gc():
        return _create(session, principal, inputs, sel)


def _create(session: Session, principal: Principal, inputs: PlanInputs, sel: Selection) -> Plan:
    """Load candidates, schedule them, store the plan with its projects and lines."""
    loaded = load_candidates(session, sel, inputs.model, inputs.overridden)
    spec = PlanSpec(
        first_year=inputs.first_year,
        last_year=inputs.last_year,
        as_of=inputs.as_of,
        weights=inputs.model.weights,
        budgets=inputs.budgets,
        include_encouraged=inputs.include_encouraged,
    )
    schedule = schedule_plan(spec, loaded.candidates)
    plan = Plan(
        name=inputs.name,
        status="draft",
        region_prefix=inputs.region_prefix,
        category=inputs.categories[0] if len(inputs.categories) == 1 else None,
        first_year=inputs.first_year,
        last_year=inputs.last_year,
        as_of=inputs.as_of,
        parameters=inputs.parameters(),
        packs=packs_info(loaded),
        stats=stats(schedule, loaded, count_data_gaps(session, sel)),
        created_by=principal.name,
    )
    session.add(plan)
    session.flush()
    plan.series_id = plan.id
    _store(session, plan, schedule, loaded, inputs)
    record_plan(session, principal, plan, "create", after=_audit_view(plan))
    return plan


def _store(
    session: Session, plan: Plan, schedule: Schedule, loaded: Loaded, inputs: PlanInputs
) -> None:
    """Group lines into projects, insert projects, then lines."""
    names = region_names(session, {c.region_code for c in loaded.candidates})
    drafts = draft_projects(schedule.placements, names, inputs.model)
    project_ids = insert_projects(session, plan.id, drafts.values())
    insert_lines(session, plan.id, schedule, project_ids)


def packs_info(loaded: Loaded) -> dict[str, Any]:
    """Pack versions the flags came from, the citation (document and clause) of every rule used
    and which of them are advisory (frozen)."""
    from app.rules.packs import get_registry

    registry = get_registry()
    out: dict[str, Any] = {}
    for pack_id in sorted({p for p, _ in loaded.packs}):
        pack = registry.packs.get(pack_id)
        used = sorted(rid for p, rid in loaded.rules if p == pack_id)
        out[pack_id] = {
            "name": pack.name if pack else "",
            "versions": sorted(v for p, v in loaded.packs if p == pack_id),
            "rules": {
                rid: pack.rules[rid].basis.citation() if pack and rid in pack.rules else rid
                for rid in used
            },
            "advisory": [rid for rid in used if (pack_id, rid) in registry.advisory],
        }
    return out


def stats(schedule: Schedule, loaded: Loaded, data_gaps: int) -> dict[str, Any]:
    """Scheduler facts that the lines do not show."""
    deferred = sum((c.amount for c in schedule.deferred), Decimal(0))
    placed_encouraged = sum(1 for p in schedule.placements if p.candidate.level == "encouraged")
    evaluated = [d.isoformat() for d in loaded.evaluated]
    return {
        "candidates": len(loaded.candidates),
        "deferred": {"count": len(schedule.deferred), "cost": str(deferred)},
        "encouraged": {
            "candidates": schedule.encouraged_candidates,
            "placed": placed_encouraged,
        },
        "beyond_horizon": schedule.beyond_horizon + loaded.beyond_horizon,
        "data_gaps": data_gaps,
        "left_out": dict(loaded.left_out),
        "flags_evaluated": [min(evaluated), max(evaluated)] if evaluated else [],
    }


def _audit_view(plan: Plan) -> dict[str, Any]:
    """The plan fields the change log records."""
    return {
        "name": plan.name,
        "status": plan.status,
        "version": plan.version,
        "region": plan.region_prefix,
        "first_year": plan.first_year,
        "last_year": plan.last_year,
        "as_of": plan.as_of,
        "budgets": plan.parameters.get("budgets"),
        "previous_id": plan.previous_id,
    }


PLAN_STATES = {"draft": "是草稿", "approved": "已批准", "archived": "已归档"}
"""A plan's status as a sentence says it."""


def writable_plan(session: Session, principal: Principal, plan_id: int) -> Plan:
    """A plan the caller may change: 404 outside the scope, 403 for viewers."""
    plan = get_plan(session, principal, plan_id)
    ensure_writable(principal, plan.region_prefix, plan.category)
    return plan


def approve_plan(session: Session, principal: Principal, plan_id: int) -> Plan:
    """Freeze a draft; the previously approved version of the plan is archived."""
    plan = writable_plan(session, principal, plan_id)
    if plan.status != "draft":
        raise Conflict(
            f"计划 {plan.id} {PLAN_STATES.get(plan.status, '')}({plan.status}),"
            "只有草稿(draft)才能批准"
        )
    session.execute(
        update(Plan)
        .where(Plan.series_id == plan.series_id, Plan.status == "approved")
        .values(status="archived")
    )
    plan.status = "approved"
    plan.approved_at = utcnow()
    plan.approved_by = principal.name
    session.flush()
    change = {"before": {"status": "draft"}, "after": {"status": "approved"}}
    record_plan(session, principal, plan, "approve", **change)
    return plan


def newer_version(session: Session, plan: Plan) -> Plan | None:
    """The newest version of the plan's series if it is newer than `plan`."""
    return session.scalar(
        select(Plan)
        .where(Plan.series_id == plan.series_id, Plan.version > plan.version)
        .order_by(Plan.version.desc())
        .limit(1)
    )
