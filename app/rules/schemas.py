"""Rule and flag I/O."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class BasisRead(BaseModel):
    document: str
    clause: str
    source_lines: str
    standards: list[str]
    advisory: bool
    cite: str
    """The document and clause as exports show them (no source lines)."""


class FlagRead(BaseModel):
    rule_id: str
    level: str
    pack: str
    pack_version: str
    in_scope_on: date | None
    """First date the rule's condition holds; null when it is not time-bound."""
    due_on: date | None
    overdue: bool
    reason: str
    advisory: bool
    """The rule rests on another province's text or a product default (参考), not on the
    asset's own province's policy: listed and planned, marked; `advisory=false` leaves it out."""
    basis: BasisRead | None
    facts: dict[str, Any]
    missing: list[str] | None = None


class AssetFlags(BaseModel):
    asset_id: int
    asset_code: str
    as_of: date
    status: str
    pack: str
    pack_version: str
    gaps: list[str]
    """Rules that could not be decided for lack of facts (their flags name the fields)."""
    flags: list[FlagRead]


class DueItem(BaseModel):
    asset_id: int
    asset_code: str
    category: str
    region_code: str
    name: str | None
    address: str | None
    community: str | None
    status: str
    level: str
    due_on: date | None
    overdue: bool
    advisory: bool
    """Every listed flag of the asset is advisory."""
    flags: list[FlagRead]


class DueList(BaseModel):
    items: list[DueItem]
    next_cursor: str | None
    limit: int
    as_of: date


class RuleRead(BaseModel):
    id: str
    category: str
    level: str
    due: str
    deadline: date
    title: str
    params: dict[str, Any]
    basis: BasisRead


class PackSummary(BaseModel):
    id: str
    version: str
    name: str
    effective_on: date
    effective_on_basis: str
    """The source line of the effective date, or 'assumption' where the text gives none."""
    extends: str | None
    provinces: list[str]
    deadlines: dict[str, date]


class PackRead(PackSummary):
    rules: list[RuleRead]
    disabled: list[str]
    targets: list[dict[str, Any]]


Level = Literal["mandatory", "assess", "encouraged"]


class StatRow(BaseModel):
    """Assets first due in one year, by region × category × level."""

    model_config = ConfigDict(extra="forbid")

    region: str
    """Region code prefix of the grouping level (2, 4 or 6 digits)."""
    category: str
    level: Level
    due_year: int | None
    assets: int
    length_m: float
    """Metres of pipe (gas pipes; 0 for other categories)."""
    capacity_tph: float
    """t/h (boilers; 0 for other categories)."""
    overdue: int
    """In service and due before `as_of`."""


class StatGap(BaseModel):
    """Assets whose rule cannot be decided for want of data."""

    model_config = ConfigDict(extra="forbid")

    region: str
    category: str
    rule_id: str
    assets: int


class Stats(BaseModel):
    """GET /stats (JSON)."""

    model_config = ConfigDict(extra="forbid")

    as_of: date
    group_by: Literal["province", "city", "district"]
    rows: list[StatRow]
    gaps: list[StatGap]
