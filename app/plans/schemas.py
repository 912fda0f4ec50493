"""Pydantic I/O for plans, plan lines, projects, renewals and progress."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.kit.labels import AMOUNT_HELP, DATE_HELP, Day, MonthIn
from app.kit.labels import Money as Amount
from app.kit.params import MAX_ID
from app.plans.costs import load_cost_model

Category = Literal[
    "elevator", "water_pump", "boiler", "gas_pipe", "lpg_cylinder", "sanitation_vehicle"
]
Money = Amount
"""An amount in 万元; text may carry its unit (8万元, 80000元, 1.5亿元): AMOUNT_HELP."""
Month = MonthIn
MONTH_HELP = "年月:2026-11、2026/11、2026年11月"
YearBudgetIn = Money | dict[str, Money]
ON_HELP = f"{DATE_HELP}(只写年月为该月1日)"
PlanYear = Annotated[int, Field(ge=2020, le=2100)]


def _funding_channels(schema: dict[str, Any]) -> None:
    schema["enum"] = list(load_cost_model().funding_channels)


FundingSource = Annotated[str, Field(max_length=32, json_schema_extra=_funding_channels)]
"""资金来源: one of the funding channels of seed/costs.yaml (the service checks it, naming them;
the OpenAPI document lists them)."""


class _In(BaseModel):
    """Request bodies reject unknown fields."""

    model_config = ConfigDict(extra="forbid")


class PlanCreate(_In):
    """Body of POST /plans. Budgets in 万元 per year: {"2026": 5000} for all categories together,
    or {"2026": {"gas_pipe": 3000, "elevator": 2000}} per category (a category not named has no
    budget that year). When `budgets` is given every plan year must be in it."""

    region: Annotated[str, Field(pattern=r"^(\d{2}|\d{4}|\d{6})?$")] | None = None
    """Region code prefix; default: the caller's own scope."""
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    first_year: PlanYear
    last_year: PlanYear
    budgets: dict[str, YearBudgetIn] | None = Field(
        None, description=f"每年预算(或每年各类别预算),{AMOUNT_HELP}"
    )
    categories: Annotated[list[Category], Field(min_length=1)] | None = None
    include_encouraged: bool = False
    include_advisory: bool = True
    """False: leave out flags resting on another province's text (advisory, 参考)."""
    unit_costs: dict[str, Money] | None = Field(None, description=f"单价,{AMOUNT_HELP}")
    """Price overrides, keyed 'category', 'category.variant' (e.g. 'gas_pipe.riser') or
    'category.assessment' (the price of an assessment)."""
    as_of: Day | None = Field(None, description=f"评估基准日,默认今天;{ON_HELP}")


class LinePatch(_In):
    """Changes to one line of a draft (an approved plan gets a new draft version first)."""

    year: PlanYear | None = None
    """A year of the plan (moving a line past its deadline year marks it late)."""
    unit_cost: Money | None = Field(None, description=f"单价,{AMOUNT_HELP}")
    amount: Money | None = Field(None, description=f"金额,{AMOUNT_HELP}")
    project_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    funding_source: FundingSource | None = None


class ProjectPatch(_In):
    """Changes to a project of a draft."""

    name: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    implementation_subject: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    responsible_unit: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    funding_source: FundingSource | None = None
    start_month: Month | None = Field(None, description=f"开工{MONTH_HELP}")
    finish_month: Month | None = Field(None, description=f"完工{MONTH_HELP}")


class RenewalCreate(_In):
    """Body of POST /assets/{id}/renewal: the asset was renewed or retired."""

    status: Literal["renewed", "retired"]
    renewed_on: Day = Field(description=f"更新或报废日期;{ON_HELP}")
    cost: Money | None = Field(None, description=f"实际费用,{AMOUNT_HELP}")
    """Actual cost in 万元, written to the plan lines of the asset."""


class PlanHeader(BaseModel):
    """A plan version as listed."""

    id: int
    series_id: int
    version: int
    previous_id: int | None
    name: str
    status: str
    region: str
    categories: list[str]
    first_year: int
    last_year: int
    as_of: date
    created_by: str
    created_at: datetime
    approved_at: datetime | None
    approved_by: str | None


class PlanList(BaseModel):
    """A page of plans."""

    items: list[PlanHeader]
    next_cursor: str | None
    limit: int


class PlanSummary(PlanHeader):
    """A plan with its summary by year × category, shortfall and targets."""

    model_config = ConfigDict(extra="allow")

    total_cost: Decimal
    """Everything the plan pays for: renewal_cost + assessment_cost."""
    renewal_cost: Decimal
    assessment_cost: Decimal
    contingent_cost: Decimal
    """Renewals the planned assessments may lead to: shown, not in total_cost or budgets."""
    line_count: int
    shortfall: dict[str, Any]
    years: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    targets: list[dict[str, Any]]


class LineRead(BaseModel):
    """One plan line."""

    model_config = ConfigDict(extra="allow")

    id: int
    plan_id: int
    year: int
    amount: Decimal
    asset: dict[str, Any]
    project: dict[str, Any]
    priority: dict[str, Decimal]
    due_on: date
    overdue: bool
    late: bool
    beyond_budget: bool
    rule_ids: list[str]
    work: Literal["renewal", "assessment"]
    """更新, or 评估: quantity, unit_cost and amount are then the assessment's."""
    contingent_amount: Decimal | None
    """For an assessment: the renewal it may lead to (万元), not in the plan's totals."""
    advisory: bool


class LineList(BaseModel):
    """A page of lines."""

    items: list[LineRead]
    next_cursor: str | None
    limit: int


class ProjectRead(BaseModel):
    """A project as the API returns it."""

    id: int
    plan_id: int
    key: str
    year: int
    category: str
    region_code: str
    label: str
    name: str
    implementation_subject: str
    responsible_unit: str
    funding_source: str
    start_month: str
    finish_month: str
    lines: int = 0
    quantity: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    assessments: int = 0
    assessment_cost: Decimal = Decimal(0)
    contingent_cost: Decimal = Decimal(0)


class ProjectList(BaseModel):
    """A page of projects with their line counts, quantities and cost."""

    items: list[ProjectRead]
    next_cursor: str | None
    limit: int


class EditResult(BaseModel):
    """Result of an edit: what changed, in which plan version, with warnings."""

    model_config = ConfigDict(extra="allow")

    plan_id: int
    plan_version: int
    new_version: bool
    warnings: list[str]


class _Out(BaseModel):
    """The documented shape of an answer built as a dict: no key beyond those listed."""

    model_config = ConfigDict(extra="forbid")


class RenewalRead(_Out):
    """POST /assets/{id}/renewal: the asset after the renewal, and the plans whose lines it
    marked done (those the caller may see)."""

    asset_id: int
    status: Literal["renewed", "retired"]
    renewed_on: date | None
    cost: Decimal | None
    """Actual cost in 万元."""
    flag_status: str | None
    plans: list[int]


class CountCost(_Out):
    count: int
    cost: Decimal
    """万元."""


class RiskRead(CountCost):
    by_category: dict[str, CountCost]


class ProgressRow(_Out):
    year: int
    category: Category
    label: str
    planned: int
    planned_cost: Decimal
    planned_assessment_cost: Decimal
    done: int
    done_planned_cost: Decimal
    actual_cost: Decimal
    done_ratio: Decimal | None


class TargetRead(_Out):
    """A rule pack's plan-level target measured against the ledger and the plan."""

    id: str
    pack_id: str
    region: str
    category: Category
    metric: str
    target: Decimal
    by: date
    description: str
    basis: str
    fleet: Decimal
    achieved: Decimal
    planned: Decimal
    status: Literal["met", "on_track", "short"]
    notes: list[str]


class ProgressRead(_Out):
    """GET /plans/{id}/progress: planned vs done by year × category, deadline risk among the lines
    not done (as of today) and the targets."""

    plan_id: int
    as_of: date
    planned: int
    done: int
    planned_cost: Decimal
    planned_assessment_cost: Decimal
    actual_cost: Decimal
    by_year_category: list[ProgressRow]
    risk: dict[
        Literal["past_planned_year", "past_due", "scheduled_after_deadline", "beyond_budget"],
        RiskRead,
    ]
    targets: list[TargetRead]
