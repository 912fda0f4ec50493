"""Validate a plan request against the caller's scope, the regions and the cost model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.scope import Principal, ensure_role
from app.assets.spec import CATEGORIES
from app.errors import Forbidden, Invalid
from app.kit.dates import today
from app.plans.calc import YearBudget
from app.plans.costs import CostModel, load_cost_model, weights_to_json
from app.plans.schemas import PlanCreate
from app.regions.models import Region

MAX_YEARS = 10


@dataclass(frozen=True)
class PlanInputs:
    """A validated plan request."""

    region_prefix: str
    region_name: str
    name: str
    categories: tuple[str, ...]
    first_year: int
    last_year: int
    as_of: date
    budgets: dict[int, YearBudget] | None
    include_encouraged: bool
    model: CostModel
    overridden: frozenset[str]
    include_advisory: bool = True

    def parameters(self) -> dict[str, Any]:
        """The inputs as stored on the plan (JSON), with the prices and weights in force."""
        budgets = None
        if self.budgets is not None:
            budgets = {
                str(y): ({k: str(v) for k, v in b.items()} if isinstance(b, dict) else str(b))
                for y, b in self.budgets.items()
            }
        return {
            "categories": list(self.categories),
            "budgets": budgets,
            "include_encouraged": self.include_encouraged,
            "include_advisory": self.include_advisory,
            "unit_costs": sorted(self.overridden),
            "prices": {k: str(v) for k, v in self.model.price_keys().items()},
            "cost_model_version": self.model.version,
            "weights": weights_to_json(self.model.weights),
        }


def invalid(field: str, msg: str) -> Invalid:
    """A 422 naming the body field that is wrong."""
    loc = ["body", *field.split(".")]
    return Invalid(f"字段 {field} 无效: {msg}", errors=[{"loc": loc, "field": field, "msg": msg}])


def _region(session: Session, principal: Principal, prefix: str) -> str:
    """The region's name; 422 if unknown, 403 if outside the caller's scope."""
    code = prefix.ljust(6, "0")
    region = session.get(Region, code)
    if region is None:
        raise invalid("region", f"{prefix} 不是已知的行政区划代码")
    if not principal.covers_prefix(prefix):
        raise Forbidden(
            f"区域 {prefix or '全国'} 不在您的管辖范围({principal.scope_text})内,不能为其编制计划",
            region=prefix,
        )
    return region.name


def _categories(principal: Principal, asked: Sequence[str] | None) -> tuple[str, ...]:
    """The plan's categories in catalogue order (a category-bound caller: its own)."""
    if principal.category is not None:
        if asked and set(asked) != {principal.category}:
            raise Forbidden(
                f"所选设备类别超出您的管辖范围({principal.scope_text});"
                f"您只能为类别 {principal.category} 编制计划",
                field="categories",
            )
        return (principal.category,)
    chosen = asked or list(CATEGORIES)
    return tuple(c for c in CATEGORIES if c in chosen)


def _budgets(
    raw: dict[str, Any] | None, years: range, categories: tuple[str, ...]
) -> dict[int, YearBudget] | None:
    """Budgets by year (overall or per category), each plan year present."""
    if raw is None:
        return None
    out: dict[int, YearBudget] = {}
    for key, value in raw.items():
        if not key.isdigit() or int(key) not in years:
            raise invalid(
                f"budgets.{key}", f"{key} 不是计划年度(应为 {years.start}-{years.stop - 1})"
            )
        if isinstance(value, dict):
            for cat in value:
                if cat not in categories:
                    raise invalid(f"budgets.{key}.{cat}", f"{cat} 不是本计划包含的设备类别")
            out[int(key)] = {k: Decimal(v) for k, v in value.items()}
        else:
            out[int(key)] = Decimal(value)
    missing = [str(y) for y in years if y not in out]
    if missing:
        raise invalid("budgets", f"缺少年度 {', '.join(missing)} 的预算;每个计划年度都要填写")
    return out


def _model(overrides: dict[str, Decimal] | None) -> tuple[CostModel, frozenset[str]]:
    """The cost model with the plan's price overrides; 422 names an unknown key."""
    model = load_cost_model()
    if not overrides:
        return model, frozenset()
    try:
        return model.with_prices(overrides), frozenset(overrides)
    except KeyError as exc:
        keys = ", ".join(sorted(model.price_keys()))
        raise invalid(
            f"unit_costs.{exc.args[0]}", f"未知的单价项 {exc.args[0]}(可选: {keys})"
        ) from exc


def validate_plan_request(session: Session, principal: Principal, body: PlanCreate) -> PlanInputs:
    """Check scope, horizon, region, categories, budgets and prices; 422/403 name the field."""
    ensure_role(principal, "admin", "editor")
    if body.last_year < body.first_year:
        raise invalid("last_year", f"结束年度不能早于起始年度 first_year {body.first_year}")
    if body.last_year - body.first_year >= MAX_YEARS:
        raise invalid("last_year", f"一个计划最多跨 {MAX_YEARS} 个年度")
    prefix = principal.region_prefix if body.region is None else body.region
    region_name = _region(session, principal, prefix)
    categories = _categories(principal, body.categories)
    years = range(body.first_year, body.last_year + 1)
    model, overridden = _model(body.unit_costs)
    return PlanInputs(
        region_prefix=prefix,
        region_name=region_name,
        name=body.name or f"{region_name}{body.first_year}—{body.last_year}年设备更新计划",
        categories=categories,
        first_year=body.first_year,
        last_year=body.last_year,
        as_of=body.as_of or today(),
        budgets=_budgets(body.budgets, years, categories),
        include_encouraged=body.include_encouraged,
        include_advisory=body.include_advisory,
        model=model,
        overridden=overridden,
    )
