"""The renewal scheduler: due items in, a year-by-year plan out. Pure (no database, no clock).

Semantics (README "Annual renewal plans"):
- A required item (mandatory/assess) may be placed from its earliest year (the year its condition
  first holds, or the first plan year) to its deadline year (the year of `due_on`, or the first
  plan year when it is already overdue).
- Years are filled in order. In each year the available required items are taken in urgency
  order (due date, then priority score, then asset id) while their budget pool has room
  (first fit: an item that does not fit is skipped, smaller ones after it may still fit). An
  item that does not fit and can still meet its deadline moves to the next year; an item whose
  deadline year it is stays in that year flagged `beyond_budget` — the shortfall.
- Required items due after the horizon are planned only where budget is left; those that find
  none are `deferred` (reported, not lines).
- With `include_encouraged`, budget still left in a year goes to encouraged items, highest
  score first; they are never placed beyond budget.
- No budgets means no limit: every item goes into its earliest year.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.plans.costs import Weights

REQUIRED = ("mandatory", "assess")
LEVELS = ("mandatory", "assess", "encouraged")
YearBudget = Decimal | Mapping[str, Decimal]
"""One year's budget: one amount for every category, or an amount per category (others: 0)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A flagged asset that may become a plan line: its urgency and its cost."""

    asset_id: int
    category: str
    level: str
    due_on: date
    in_scope_on: date | None
    amount: Decimal
    region_code: str = ""
    group: str = ""
    """Project grouping label: street, community, filling station or operator."""
    subject: str | None = None
    """The implementation subject the asset's own record suggests (owner, operator…)."""
    payload: Any = None
    """The caller's data for the line (carried, never read by the scheduler)."""


@dataclass(frozen=True, slots=True)
class Priority:
    """Transparent priority score and its parts (points)."""

    score: Decimal
    age: Decimal
    level: Decimal
    category: Decimal


@dataclass(frozen=True)
class PlanSpec:
    """The plan's horizon, budgets and options."""

    first_year: int
    last_year: int
    as_of: date
    weights: Weights
    budgets: Mapping[int, YearBudget] | None = None
    include_encouraged: bool = False


@dataclass(frozen=True, slots=True)
class Placement:
    """A candidate placed in a year: one plan line."""

    candidate: Candidate
    year: int
    rank: int
    """Position in the plan's urgency order (due date, score, asset id); unique per plan."""
    beyond_budget: bool
    priority: Priority


@dataclass(frozen=True)
class Schedule:
    """The scheduler's result: lines in (year, rank) order and what was left out."""

    placements: list[Placement]
    deferred: list[Candidate] = field(default_factory=list)
    """Required items due after the horizon for which no budget was left."""
    encouraged_candidates: int = 0
    beyond_horizon: int = 0
    """Candidates whose condition first holds after the last plan year (not planned)."""

    @property
    def shortfall(self) -> list[Placement]:
        """Lines that could not be funded by their deadline year."""
        return [p for p in self.placements if p.beyond_budget]


def priority(
    level: str, category: str, in_scope_on: date | None, as_of: date, weights: Weights
) -> Priority:
    """Score = level points + capped years since the condition held × points + category points."""
    years = Decimal(0)
    if in_scope_on is not None and in_scope_on < as_of:
        years = min(Decimal((as_of - in_scope_on).days) / Decimal("365.25"), weights.age_cap_years)
    age = (years * weights.age_per_year).quantize(Decimal("0.01"))
    lvl = weights.level.get(level, Decimal(0))
    cat = weights.category.get(category, Decimal(0))
    return Priority(score=age + lvl + cat, age=age, level=lvl, category=cat)


def earliest_year(c: Candidate, first_year: int) -> int:
    """First year the item may be placed: when its condition holds, never before the plan."""
    return max(first_year, c.in_scope_on.year if c.in_scope_on else first_year)


def deadline_year(c: Candidate, first_year: int) -> int:
    """Last year the item may be placed on time (overdue items: the first plan year)."""
    return max(first_year, c.due_on.year, earliest_year(c, first_year))


class _Pools:
    """Remaining budget per (year, category-or-None); None budget = unlimited."""

    def __init__(self, budgets: Mapping[int, YearBudget] | None) -> None:
        """Budgets as given; pools are opened on first use."""
        self.budgets = budgets
        self.left: dict[tuple[int, str | None], Decimal] = {}
        self.keys: dict[tuple[int, str], tuple[int, str | None] | None] = {}

    def _key(self, year: int, category: str) -> tuple[int, str | None] | None:
        """The pool a (year, category) draws from, or None when unlimited."""
        budget = None if self.budgets is None else self.budgets.get(year)
        if budget is None:
            return None
        if isinstance(budget, Mapping):
            self.left[(year, category)] = Decimal(budget.get(category, 0))
            return (year, category)
        self.left.setdefault((year, None), Decimal(budget))
        return (year, None)

    def take(self, year: int, category: str, amount: Decimal) -> bool:
        """Reserve `amount` if it fits; unlimited pools always fit."""
        slot = (year, category)
        if slot not in self.keys:
            self.keys[slot] = self._key(year, category)
        key = self.keys[slot]
        if key is None:
            return True
        if amount > self.left[key]:
            return False
        self.left[key] -= amount
        return True


@dataclass
class _Queue:
    """Per candidate: priority, urgency key (due date, score, id), earliest and deadline year."""

    spec: PlanSpec
    info: dict[int, tuple[Priority, tuple[date, int, int], int, int]] = field(default_factory=dict)
    cache: dict[tuple[str, str, date | None], tuple[Priority, int]] = field(default_factory=dict)

    def add(self, c: Candidate) -> None:
        """Precompute a candidate's priority (memoised), urgency and window."""
        key = (c.level, c.category, c.in_scope_on)
        hit = self.cache.get(key)
        if hit is None:
            p = priority(*key, self.spec.as_of, self.spec.weights)
            hit = self.cache[key] = (p, -int(p.score * 100))
        first = self.spec.first_year
        urgency = (c.due_on, hit[1], c.asset_id)
        self.info[c.asset_id] = (hit[0], urgency, earliest_year(c, first), deadline_year(c, first))

    def prio(self, c: Candidate) -> Priority:
        """The candidate's priority."""
        return self.info[c.asset_id][0]

    def urgency(self, c: Candidate) -> tuple[date, int, int]:
        """The candidate's sort key: due date, then higher score, then asset id."""
        return self.info[c.asset_id][1]


def schedule_plan(spec: PlanSpec, candidates: Iterable[Candidate]) -> Schedule:
    """Place candidates into years under deadlines and budgets; deterministic in any order."""
    horizon_end = date(spec.last_year, 12, 31)
    q = _Queue(spec)
    required: list[Candidate] = []
    optional: list[Candidate] = []
    beyond = 0
    for c in candidates:
        if c.in_scope_on is not None and c.in_scope_on > horizon_end:
            beyond += 1
            continue
        q.add(c)
        (required if c.level in REQUIRED else optional).append(c)
    required.sort(key=q.urgency)
    encouraged = len(optional) if spec.include_encouraged else 0
    if spec.include_encouraged:
        optional.sort(key=lambda c: (-q.prio(c).score, c.due_on, c.asset_id))
    pools = _Pools(spec.budgets)
    placed: list[tuple[Candidate, int, bool]] = []
    for year in range(spec.first_year, spec.last_year + 1):
        required = _fill_year(q, pools, year, required, placed, force=True)
        if spec.include_encouraged:
            optional = _fill_year(q, pools, year, optional, placed, force=False)
    return Schedule(
        placements=_ranked(placed, q),
        deferred=required,
        encouraged_candidates=encouraged,
        beyond_horizon=beyond,
    )


def _fill_year(
    q: _Queue,
    pools: _Pools,
    year: int,
    queue: list[Candidate],
    placed: list[tuple[Candidate, int, bool]],
    *,
    force: bool,
) -> list[Candidate]:
    """Place what fits in `year` (forcing items whose deadline it is); return the rest in order."""
    rest: list[Candidate] = []
    info, take, keep, place = q.info, pools.take, rest.append, placed.append  # hot loop
    for c in queue:
        _, _, earliest, deadline = info[c.asset_id]
        if earliest > year:
            keep(c)
        elif take(year, c.category, c.amount):
            place((c, year, False))
        elif force and deadline <= year:
            place((c, year, True))
        else:
            keep(c)
    return rest


def _ranked(placed: list[tuple[Candidate, int, bool]], q: _Queue) -> list[Placement]:
    """Number placements in urgency order; return them in (year, rank) order."""
    order = sorted(placed, key=lambda p: q.urgency(p[0]))
    ranked = [
        Placement(c, year, rank, beyond, q.prio(c))
        for rank, (c, year, beyond) in enumerate(order, start=1)
    ]
    ranked.sort(key=lambda p: (p.year, p.rank))
    return ranked
