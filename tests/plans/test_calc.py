"""The scheduler, without a database: deadlines, budgets, shortfall, determinism, scope dates."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.plans.calc import (
    Candidate,
    PlanSpec,
    Schedule,
    deadline_year,
    earliest_year,
    priority,
    schedule_plan,
)
from app.plans.costs import load_cost_model

W = load_cost_model().weights
AS_OF = date(2026, 1, 15)
D = Decimal


def cand(
    asset_id: int,
    amount: str | int = 10,
    due: date = date(2027, 12, 31),
    level: str = "mandatory",
    in_scope: date | None = date(2020, 1, 1),
    category: str = "gas_pipe",
) -> Candidate:
    return Candidate(asset_id, category, level, due, in_scope, D(amount))


def spec(
    budgets: dict | None = None, first: int = 2026, last: int = 2028, **kw: object
) -> PlanSpec:
    return PlanSpec(first, last, AS_OF, W, budgets=budgets, **kw)  # type: ignore[arg-type]


def years(s: Schedule) -> dict[int, int]:
    return {p.candidate.asset_id: p.year for p in s.placements}


class TestDeadlines:
    def test_no_budget_places_everything_in_its_earliest_year(self) -> None:
        s = schedule_plan(spec(), [cand(1), cand(2, in_scope=date(2027, 5, 1))])
        assert years(s) == {1: 2026, 2: 2027}
        assert not s.shortfall and not s.deferred

    def test_overdue_item_goes_into_first_year(self) -> None:
        s = schedule_plan(
            spec({2026: D(0), 2027: D(100), 2028: D(100)}), [cand(1, due=date(2025, 12, 31))]
        )
        (p,) = s.placements
        assert (p.year, p.beyond_budget) == (2026, True)

    def test_item_is_not_placed_before_its_condition_holds(self) -> None:
        budgets = {2026: D(1000), 2027: D(1000), 2028: D(1000)}
        s = schedule_plan(
            spec(budgets), [cand(1, in_scope=date(2028, 2, 1), due=date(2028, 12, 31))]
        )
        assert years(s) == {1: 2028}

    def test_condition_after_horizon_is_not_planned(self) -> None:
        s = schedule_plan(spec(), [cand(1, in_scope=date(2029, 1, 1), due=date(2029, 12, 31))])
        assert s.placements == [] and s.beyond_horizon == 1

    def test_boundary_dates(self) -> None:
        items = [
            cand(1, in_scope=date(2028, 12, 31), due=date(2028, 12, 31)),  # last day of horizon
            cand(2, in_scope=date(2026, 1, 1), due=date(2026, 1, 1)),  # first day
            cand(3, in_scope=date(2029, 1, 1), due=date(2029, 1, 1)),  # one day too late
        ]
        s = schedule_plan(spec({2026: D(5), 2027: D(5), 2028: D(5)}), items)
        assert years(s) == {1: 2028, 2: 2026}
        assert {p.candidate.asset_id for p in s.shortfall} == {1, 2}

    def test_single_year_plan(self) -> None:
        s = schedule_plan(spec({2026: D(15)}, last=2026), [cand(1), cand(2), cand(3)])
        # due 2027 is after a one-year horizon: what does not fit is deferred, not a shortfall
        assert years(s) == {1: 2026}
        assert [c.asset_id for c in s.deferred] == [2, 3] and not s.shortfall
        overdue = schedule_plan(spec({2026: D(15)}, last=2026), [cand(4, due=date(2026, 3, 1))] * 1)
        assert years(overdue) == {4: 2026}


class TestBudgets:
    def test_short_year_moves_least_urgent_items_that_can_wait(self) -> None:
        items = [
            cand(1, 60, date(2026, 12, 31)),
            cand(2, 60, date(2027, 12, 31)),
            cand(3, 60, date(2028, 12, 31)),
        ]
        s = schedule_plan(spec({2026: D(100), 2027: D(100), 2028: D(100)}), items)
        assert years(s) == {1: 2026, 2: 2027, 3: 2028}
        assert not s.shortfall

    def test_shortfall_is_exact_and_stays_in_its_deadline_year(self) -> None:
        items = [cand(i, 40, date(2026, 6, 30)) for i in range(1, 5)]
        s = schedule_plan(spec({2026: D(100), 2027: D(1000), 2028: D(1000)}), items)
        assert [p.year for p in s.placements] == [2026] * 4
        short = s.shortfall
        assert len(short) == 2
        assert sum(p.candidate.amount for p in short) == D(80)

    def test_first_fit_uses_what_is_left(self) -> None:
        items = [
            cand(1, 70, date(2027, 12, 31)),
            cand(2, 50, date(2027, 12, 31)),
            cand(3, 30, date(2028, 12, 31)),
        ]
        s = schedule_plan(spec({2026: D(100), 2027: D(100), 2028: D(0)}), items)
        assert years(s) == {1: 2026, 3: 2026, 2: 2027}

    def test_per_category_budgets_are_separate_pools(self) -> None:
        items = [cand(1, 50, category="elevator"), cand(2, 50, category="gas_pipe")]
        budgets = {y: {"elevator": D(60)} for y in (2026, 2027, 2028)}
        s = schedule_plan(spec(budgets), items)
        # gas_pipe has no money in any year: it stays in its deadline year beyond budget
        assert years(s) == {1: 2026, 2: 2027}
        assert [p.candidate.asset_id for p in s.shortfall] == [2]

    def test_due_after_horizon_is_deferred_when_no_budget_is_left(self) -> None:
        items = [cand(1, 100, date(2026, 12, 31)), cand(2, 100, date(2030, 12, 31))]
        s = schedule_plan(spec({2026: D(100), 2027: D(0), 2028: D(0)}), items)
        assert years(s) == {1: 2026}
        assert [c.asset_id for c in s.deferred] == [2]


class TestEncouraged:
    def test_fills_spare_budget_by_score_never_beyond(self) -> None:
        items = [
            cand(1, 60),
            cand(2, 30, level="encouraged", category="sanitation_vehicle"),
            cand(3, 30, level="encouraged", category="gas_pipe"),
            cand(4, 30, level="encouraged", category="elevator"),
        ]
        budgets = {2026: D(100), 2027: D(0), 2028: D(0)}
        s = schedule_plan(spec(budgets, include_encouraged=True), items)
        # gas (30 pts) then elevator (20) beat vehicles (10); only one fits after the mandatory item
        assert years(s) == {1: 2026, 3: 2026}
        assert s.encouraged_candidates == 3
        assert not s.shortfall

    def test_left_out_without_the_option(self) -> None:
        s = schedule_plan(spec(), [cand(1), cand(2, level="encouraged")])
        assert years(s) == {1: 2026}


class TestOrderAndScore:
    def test_within_a_year_by_due_date_then_score(self) -> None:
        items = [
            cand(1, due=date(2026, 12, 31), category="sanitation_vehicle"),
            cand(2, due=date(2026, 12, 31), category="gas_pipe"),
            cand(3, due=date(2026, 6, 30), category="sanitation_vehicle"),
        ]
        s = schedule_plan(spec(), items)
        assert [p.candidate.asset_id for p in s.placements] == [3, 2, 1]
        assert [p.rank for p in s.placements] == [1, 2, 3]

    def test_score_parts(self) -> None:
        p = priority("mandatory", "gas_pipe", date(2016, 1, 15), date(2026, 1, 15), W)
        assert (p.level, p.category) == (D(40), D(30))
        assert p.age == D(30)  # 10 years (the cap) × 3
        assert p.score == p.level + p.category + p.age
        young = priority("assess", "elevator", date(2025, 1, 15), date(2026, 1, 15), W)
        assert young.age == D("3.00") and young.score == D("43.00")
        future = priority("assess", "elevator", date(2027, 1, 1), date(2026, 1, 15), W)
        assert future.age == 0


@st.composite
def plans(draw: st.DrawFn) -> tuple[PlanSpec, list[Candidate]]:
    first = draw(st.integers(2025, 2027))
    last = first + draw(st.integers(0, 3))
    n = draw(st.integers(0, 40))
    cands = []
    for i in range(n):
        scope_year = draw(st.integers(first - 5, last + 1))
        due_year = scope_year + draw(st.integers(0, 3))
        cands.append(
            Candidate(
                asset_id=i + 1,
                category=draw(st.sampled_from(["gas_pipe", "elevator", "boiler"])),
                level=draw(st.sampled_from(["mandatory", "assess", "encouraged"])),
                due_on=date(due_year, draw(st.integers(1, 12)), 28),
                in_scope_on=draw(st.none() | st.just(date(scope_year, 3, 1))),
                amount=D(draw(st.integers(0, 50))),
            )
        )
    kind = draw(st.sampled_from(["none", "overall", "per_category"]))
    budgets: dict | None = None
    if kind == "overall":
        budgets = {y: D(draw(st.integers(0, 200))) for y in range(first, last + 1)}
    elif kind == "per_category":
        budgets = {
            y: {"gas_pipe": D(draw(st.integers(0, 100))), "elevator": D(draw(st.integers(0, 100)))}
            for y in range(first, last + 1)
        }
    inc = draw(st.booleans())
    return PlanSpec(
        first, last, date(first, 3, 1), W, budgets=budgets, include_encouraged=inc
    ), cands


def _budget(s: PlanSpec, year: int, category: str) -> tuple[object, Decimal | None]:
    if s.budgets is None:
        return None, None
    b = s.budgets[year]
    if isinstance(b, dict):
        return (year, category), D(b.get(category, 0))
    return (year, None), D(b)


@settings(max_examples=300, deadline=None)
@given(plans())
def test_properties(case: tuple[PlanSpec, list[Candidate]]) -> None:
    sp, cands = case
    s = schedule_plan(sp, cands)
    horizon_end = date(sp.last_year, 12, 31)
    in_horizon = [c for c in cands if c.in_scope_on is None or c.in_scope_on <= horizon_end]
    placed = {p.candidate.asset_id: p for p in s.placements}
    assert len(placed) == len(s.placements)  # one line per asset
    funded: dict[object, Decimal] = defaultdict(D)
    for p in s.placements:
        c = p.candidate
        assert earliest_year(c, sp.first_year) <= p.year <= sp.last_year
        if c.level != "encouraged":
            assert p.year <= deadline_year(c, sp.first_year)  # never after its deadline
        else:
            assert sp.include_encouraged and not p.beyond_budget
        if p.beyond_budget:
            assert p.year == deadline_year(c, sp.first_year)
        else:
            key, _ = _budget(sp, p.year, c.category)
            funded[key] += c.amount
    for p in s.placements:  # budget respected; beyond-budget only when it really did not fit
        key, budget = _budget(sp, p.year, p.candidate.category)
        if budget is None:
            assert not p.beyond_budget
            continue
        assert funded[key] <= budget
        if p.beyond_budget:
            assert p.candidate.amount > budget - funded[key]
    required = [c for c in in_horizon if c.level != "encouraged"]
    deferred = {c.asset_id for c in s.deferred}
    for c in required:  # never silently dropped
        assert (c.asset_id in placed) != (c.asset_id in deferred)
        if c.asset_id in deferred:
            assert deadline_year(c, sp.first_year) > sp.last_year
    for c in required:  # an item was moved later only because earlier years were short
        last_year = placed[c.asset_id].year if c.asset_id in placed else sp.last_year + 1
        for y in range(earliest_year(c, sp.first_year), min(last_year, sp.last_year + 1)):
            key, budget = _budget(sp, y, c.category)
            assert budget is not None and c.amount > budget - funded[key]
    assert [(p.year, p.rank) for p in s.placements] == sorted(
        (p.year, p.rank) for p in s.placements
    )
    shuffled = list(cands)
    random.Random(len(cands)).shuffle(shuffled)
    assert schedule_plan(sp, shuffled) == s  # deterministic whatever the input order
