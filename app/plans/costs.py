"""Cost model and planning defaults (seed/costs.yaml): prices, quantities, funding, weights.

Pure: parsing and arithmetic only, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from app.config import ROOT

COSTS_YAML = ROOT / "seed" / "costs.yaml"
CENT = Decimal("0.0001")
ASSESSMENT = "assessment"
"""Money and quantities are kept to 4 decimal places (the columns' scale)."""


@dataclass(frozen=True)
class CategoryCost:
    """How one category is priced and who runs its projects by default."""

    category: str
    quantity: str
    """'units' (one per asset) or the asset column holding the quantity (length_m, capacity_tph)."""
    unit: str
    price: Decimal
    variant_field: str | None = None
    variants: Mapping[str, Decimal] = field(default_factory=dict)
    default_quantity: Decimal = Decimal(1)
    funding: str = "企业自筹"
    subject_fields: tuple[str, ...] = ()
    subject_default: str = "待定"
    responsible: str = "{region}住房和城乡建设局"
    assessment_price: Decimal = Decimal(0)
    """万元 per unit of assessment_quantity for a line whose flags ask for an assessment."""
    assessment_quantity: str = "units"
    assessment_unit: str = "台"


@dataclass(frozen=True)
class Weights:
    """Priority score weights: level points, points per year beyond threshold, category points."""

    level: Mapping[str, Decimal]
    age_per_year: Decimal
    age_cap_years: Decimal
    category: Mapping[str, Decimal]


@dataclass(frozen=True)
class CostModel:
    """The planning defaults of seed/costs.yaml, possibly with a plan's price overrides applied."""

    version: str
    categories: Mapping[str, CategoryCost]
    weights: Weights
    start_month: int
    finish_month: int
    funding_channels: tuple[str, ...]

    def price_keys(self) -> dict[str, Decimal]:
        """Every overridable price: 'category' (base) and 'category.variant'."""
        out: dict[str, Decimal] = {}
        for name, cat in self.categories.items():
            out[name] = cat.price
            out[f"{name}.{ASSESSMENT}"] = cat.assessment_price
            for variant, price in cat.variants.items():
                out[f"{name}.{variant}"] = price
        return out

    def with_prices(self, overrides: Mapping[str, Decimal]) -> CostModel:
        """A copy with some prices replaced; unknown keys raise KeyError naming the key."""
        cats = dict(self.categories)
        for key, price in overrides.items():
            name, _, variant = key.partition(".")
            cat = cats.get(name)
            if cat is None or (variant and variant not in (*cat.variants, ASSESSMENT)):
                raise KeyError(key)
            if variant == ASSESSMENT:
                cats[name] = replace(cat, assessment_price=Decimal(price))
            elif variant:
                cats[name] = replace(cat, variants={**cat.variants, variant: Decimal(price)})
            else:
                cats[name] = replace(cat, price=Decimal(price))
        return replace(self, categories=cats)


@dataclass(frozen=True)
class Cost:
    """A line's cost: quantity × unit price, with where the price came from."""

    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal
    source: str
    """'asset' (the asset's own unit_cost), 'plan' (a plan override) or 'default'."""
    quantity_assumed: bool
    work: str = "renewal"
    """'renewal', or 'assessment' for a line whose flags ask for an assessment."""
    contingent: Decimal | None = None
    """For an assessment: the renewal it may lead to (quantity × renewal price), not planned."""


def price_cost(
    model: CostModel,
    category: str,
    facts: Mapping[str, Any],
    overridden: frozenset[str] = frozenset(),
    level: str = "mandatory",
) -> Cost:
    """Price one asset from its facts (quantity column, variant column, unit_cost). A line of
    level `assess` is priced as an assessment, with its renewal as the contingent cost."""
    renewal = _renewal_cost(model, category, facts, overridden)
    if level != "assess":
        return renewal
    cat = model.categories[category]
    quantity, assumed = _quantity(cat, cat.assessment_quantity, facts)
    price = cat.assessment_price
    source = "plan" if f"{category}.{ASSESSMENT}" in overridden else "default"
    amount = (price * quantity).quantize(CENT)
    return Cost(
        quantity.quantize(CENT),
        price.quantize(CENT),
        amount,
        source,
        assumed,
        work=ASSESSMENT,
        contingent=renewal.amount,
    )


def _quantity(cat: CategoryCost, column: str, facts: Mapping[str, Any]) -> tuple[Decimal, bool]:
    """(quantity, assumed): 1 for 'units', else the asset's column (the category's default
    quantity when it is missing or not positive)."""
    if column == "units":
        return Decimal(1), False
    raw = facts.get(column)
    if raw is None or Decimal(raw) <= 0:
        return cat.default_quantity, True
    return Decimal(raw), False


def _renewal_cost(
    model: CostModel, category: str, facts: Mapping[str, Any], overridden: frozenset[str]
) -> Cost:
    """The renewal of one asset: quantity × the variant's (or the asset's own) price."""
    cat = model.categories[category]
    quantity, assumed = _quantity(cat, cat.quantity, facts)
    variant = str(facts.get(cat.variant_field)) if cat.variant_field else ""
    key = f"{category}.{variant}" if variant in cat.variants else category
    price = cat.variants.get(variant, cat.price)
    source = "plan" if key in overridden else "default"
    own = facts.get("unit_cost")
    if own is not None:
        price, source = Decimal(own), "asset"
    amount = (price * quantity).quantize(CENT)
    return Cost(quantity.quantize(CENT), price.quantize(CENT), amount, source, assumed)


def _dec(value: Any) -> Decimal:
    """A YAML number as an exact Decimal."""
    return Decimal(str(value))


def _category(name: str, raw: Mapping[str, Any]) -> CategoryCost:
    """One category's entry of seed/costs.yaml."""
    assessment = raw.get("assessment") or {"price": 0}
    return CategoryCost(
        category=name,
        quantity=str(raw.get("quantity", "units")),
        unit=str(raw["unit"]),
        price=_dec(raw["price"]),
        variant_field=raw.get("variant_field"),
        variants={str(k): _dec(v) for k, v in (raw.get("variants") or {}).items()},
        default_quantity=_dec(raw.get("default_quantity", 1)),
        funding=str(raw.get("funding", "企业自筹")),
        subject_fields=tuple(raw.get("subject_fields") or ()),
        subject_default=str(raw.get("subject_default", "待定")),
        responsible=str(raw.get("responsible", "{region}住房和城乡建设局")),
        assessment_price=_dec(assessment["price"]),
        assessment_quantity=str(assessment.get("quantity", "units")),
        assessment_unit=str(assessment.get("unit", "台")),
    )


def parse_cost_model(data: Mapping[str, Any]) -> CostModel:
    """Build a CostModel from the parsed YAML mapping."""
    weights = weights_from_json(data["priority"])
    sched = data.get("schedule") or {}
    return CostModel(
        version=str(data.get("version", "")),
        categories={k: _category(k, v) for k, v in data["categories"].items()},
        weights=weights,
        start_month=int(sched.get("start_month", 3)),
        finish_month=int(sched.get("finish_month", 11)),
        funding_channels=tuple(data["funding_channels"]),
    )


@lru_cache(maxsize=4)
def load_cost_model(path: Path = COSTS_YAML) -> CostModel:
    """The shipped planning defaults (cached; the file is part of the release)."""
    with path.open(encoding="utf-8") as fh:
        return parse_cost_model(yaml.safe_load(fh))


def weights_from_json(raw: Mapping[str, Any]) -> Weights:
    """The weights a plan stored in its parameters (see PlanInputs.parameters)."""
    return Weights(
        level={k: _dec(v) for k, v in raw["level"].items()},
        age_per_year=_dec(raw["age_per_year"]),
        age_cap_years=_dec(raw["age_cap_years"]),
        category={k: _dec(v) for k, v in raw["category"].items()},
    )


def money(value: Any) -> Decimal:
    """A database sum as Decimal at 4 places (SQLite sums REAL values)."""
    return Decimal(str(value or 0)).quantize(CENT)


def weights_to_json(w: Weights) -> dict[str, Any]:
    """Weights as stored with a plan (strings keep Decimals exact)."""
    return {
        "level": {k: str(v) for k, v in w.level.items()},
        "age_per_year": str(w.age_per_year),
        "age_cap_years": str(w.age_cap_years),
        "category": {k: str(v) for k, v in w.category.items()},
    }
