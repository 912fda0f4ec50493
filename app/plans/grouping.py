"""Projects (项目化): group plan lines by year, category, district and place. Pure.

Grouping label per category: gas pipes by street (the address up to its first digit, else the
community), elevators and water pumps by community (else street), boilers by operator (else
community), LPG cylinders by filling station, sanitation vehicles by operator.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.assets.spec import CATEGORIES
from app.plans.calc import Placement
from app.plans.costs import CostModel

UNNAMED = "未注明"
_BEFORE_DIGIT = re.compile(r"(\D*)\d")
GROUP_FIELDS: dict[str, tuple[str, ...]] = {
    "gas_pipe": ("street", "community"),
    "elevator": ("community", "street"),
    "water_pump": ("community", "street"),
    "boiler": ("operator", "community", "street"),
    "lpg_cylinder": ("filling_station", "operator"),
    "sanitation_vehicle": ("operator",),
}


@dataclass(frozen=True, slots=True)
class ProjectDraft:
    """A project with its default implementation subject, unit, funding and time nodes."""

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


def street_of(address: str | None) -> str | None:
    """The street part of an address: the text before its first digit (None if there is none)."""
    if not address:
        return None
    found = _BEFORE_DIGIT.match(address)
    if found is None:
        return None
    return found.group(1).strip(" ,，、-") or None


def group_label(category: str, facts: Mapping[str, Any]) -> str:
    """The place a line is grouped by, from the asset's address, community, station or operator."""
    for name in GROUP_FIELDS[category]:
        value = street_of(facts.get("address")) if name == "street" else facts.get(name)
        if value and str(value).strip():
            return str(value).strip()
    return UNNAMED


def subject_of(category: str, facts: Mapping[str, Any], model: CostModel) -> str | None:
    """The asset's candidate implementation subject (owner, operator or filling station)."""
    for name in model.categories[category].subject_fields:
        value = str(facts.get(name) or "").strip()
        if value:
            return value
    return None


def project_key(year: int, category: str, region_code: str, label: str) -> str:
    """Stable key of a project within a plan (versions of a plan share keys)."""
    return f"{year}|{category}|{region_code}|{label}"


def default_months(year: int, first_due: date | None, model: CostModel) -> tuple[str, str]:
    """Start and finish months; a project due earlier in its year finishes in its due month."""
    finish = model.finish_month
    if first_due is not None and first_due.year == year:
        finish = min(finish, first_due.month)
    start = min(model.start_month, finish)
    return f"{year}-{start:02d}", f"{year}-{finish:02d}"


def new_project(
    year: int,
    category: str,
    region_code: str,
    label: str,
    *,
    region_name: str,
    model: CostModel,
    subject: str | None = None,
    first_due: date | None = None,
) -> ProjectDraft:
    """A project with defaults for everything not given."""
    cost = model.categories[category]
    start, finish = default_months(year, first_due, model)
    place = "" if label == UNNAMED else label
    return ProjectDraft(
        key=project_key(year, category, region_code, label),
        year=year,
        category=category,
        region_code=region_code,
        label=label,
        name=f"{year}年{region_name}{place}{CATEGORIES[category]}更新项目",
        implementation_subject=subject or cost.subject_default,
        responsible_unit=cost.responsible.format(region=region_name),
        funding_source=cost.funding,
        start_month=start,
        finish_month=finish,
    )


def draft_projects(
    placements: Iterable[Placement], region_names: Mapping[str, str], model: CostModel
) -> dict[str, ProjectDraft]:
    """One project per (year, category, district, label); subject = the most common one named."""
    named: dict[str, Counter[str]] = defaultdict(Counter)
    first_due: dict[str, date] = {}
    parts: dict[str, tuple[int, str, str, str]] = {}
    for p in placements:
        c = p.candidate
        key = project_key(p.year, c.category, c.region_code, c.group)
        parts[key] = (p.year, c.category, c.region_code, c.group)
        if c.subject:
            named[key][c.subject] += 1
        if key not in first_due or c.due_on < first_due[key]:
            first_due[key] = c.due_on
    out: dict[str, ProjectDraft] = {}
    for key in sorted(parts):
        year, category, region, label = parts[key]
        counts = named.get(key)
        subject = min(counts, key=lambda s: (-counts[s], s)) if counts else None
        out[key] = new_project(
            year,
            category,
            region,
            label,
            region_name=region_names.get(region, region),
            model=model,
            subject=subject,
            first_due=first_due[key],
        )
    return out
