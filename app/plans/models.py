"""Annual renewal plans: a versioned plan, its projects (项目) and its lines (one asset each)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, TimestampMixin


class Plan(TimestampMixin, Base):
    """One version of a multi-year plan for a region. Approved versions are frozen.

    Versions of one plan share `series_id` (the id of version 1). Approving a version archives
    the previously approved one; editing an approved version makes a new draft version.
    """

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("series_id", "version"),
        Index("ix_plans_region_prefix_id", "region_prefix", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    series_id: Mapped[int | None] = mapped_column(BigId)
    version: Mapped[int] = mapped_column(default=1)
    previous_id: Mapped[int | None] = mapped_column(BigId)
    """The version this one was copied from."""
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    """draft / approved / archived (an approved version replaced by a newer approved one)."""
    region_prefix: Mapped[str] = mapped_column(String(6))
    """Region code prefix the plan covers: '' national, '41' Henan, '4101' Zhengzhou…"""
    category: Mapped[str | None] = mapped_column(String(32))
    """Set when the plan covers exactly one category (scoping of category-bound accounts)."""
    first_year: Mapped[int]
    last_year: Mapped[int]
    as_of: Mapped[date]
    """Lines due before this date are overdue."""
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Inputs: categories, budgets, include_encouraged, price overrides and the prices and
    priority weights in force (frozen with the plan)."""
    packs: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Rule packs the flags came from: id → version, name and basis text of each rule used."""
    stats: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Scheduler facts not visible in the lines: deferred items, encouraged candidates, gaps."""
    created_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(100))


class PlanProject(Base):
    """A project: the lines of one category in one place (street, community…) in one year."""

    __tablename__ = "plan_projects"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    """year|category|region_code|label — stable across versions of a plan."""
    year: Mapped[int]
    category: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6))
    label: Mapped[str] = mapped_column(String(200))
    """The street, community, filling station or operator the lines are grouped by."""
    name: Mapped[str] = mapped_column(String(300))
    implementation_subject: Mapped[str] = mapped_column(String(200))
    """实施主体."""
    responsible_unit: Mapped[str] = mapped_column(String(200))
    """责任单位."""
    funding_source: Mapped[str] = mapped_column(String(32))
    """资金来源: one of the funding channels of seed/costs.yaml."""
    start_month: Mapped[str] = mapped_column(String(7))
    """YYYY-MM."""
    finish_month: Mapped[str] = mapped_column(String(7))


class PlanLine(Base):
    """One asset in a plan year, with a snapshot of what the plan was made from."""

    __tablename__ = "plan_lines"
    __table_args__ = (
        Index("ix_plan_lines_plan_id_year_rank", "plan_id", "year", "rank"),
        Index("ix_plan_lines_asset_id", "asset_id"),
        Index("ix_plan_lines_project_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("plan_projects.id", ondelete="CASCADE"))
    rank: Mapped[int]
    """Urgency order in the plan (due date, then priority score, then asset id): unique within a
    plan by construction, kept by version copies (which find a line's copy by year and rank)."""
    asset_id: Mapped[int] = mapped_column(BigId)
    """A soft reference (no foreign key): an approved plan keeps the id it was made from even
    if the ledger row is deleted later, and 200,000 lines do not lock 200,000 asset rows."""
    asset_code: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6))
    address: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int]
    level: Mapped[str] = mapped_column(String(16))
    pack_id: Mapped[str] = mapped_column(String(8))
    rule_ids: Mapped[str] = mapped_column(String(200))
    """Comma-separated ids of the flags behind the line."""
    in_scope_on: Mapped[date | None]
    due_on: Mapped[date]
    beyond_budget: Mapped[bool] = mapped_column(default=False)
    """Scheduled in its deadline year although its budget pool was exhausted (shortfall)."""
    quantity: Mapped[Decimal]
    """Units, metres of pipe or t/h of boiler capacity."""
    unit_cost: Mapped[Decimal]
    amount: Mapped[Decimal]
    """万元."""
    cost_source: Mapped[str] = mapped_column(String(8))
    """asset / plan / default / edited."""
    quantity_assumed: Mapped[bool] = mapped_column(default=False)
    work: Mapped[str] = mapped_column(String(12), default="renewal", server_default="renewal")
    """renewal (更新), or assessment (评估) for a line whose flags ask for an assessment: then
    quantity, unit_cost and amount are the assessment's."""
    contingent_amount: Mapped[Decimal | None]
    """For an assessment: the renewal it may lead to (万元), shown beside it, not planned."""
    advisory: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Every flag behind the line rests on another province's text (参考)."""
    funding_source: Mapped[str | None] = mapped_column(String(32))
    """Overrides the project's funding source when set."""
    done_on: Mapped[date | None]
    actual_cost: Mapped[Decimal | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    """renewed / retired, recorded with POST /assets/{id}/renewal."""
