"""Pure evaluator: explain which rules hold for one asset, when they start to hold, and why.

Conditions are evaluated over time with three-valued logic. A decided result is the span of
dates [start, end) on which the condition holds (empty when it never does); an undecided one
names the missing facts. `all` intersects spans, `any` takes the span from the earliest start to
the latest end of the spans that hold. The SQL evaluator (compile.py) implements the same algebra.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.rules.conditions import (
    NULL_DECIDED,
    NULL_MEANS,
    Age,
    All,
    AnyOf,
    Cmp,
    DatePassed,
    IsNull,
    Node,
    Years,
)
from app.rules.packs import Pack, Rule

MIN_DAY = date(1, 1, 1)
MAX_DAY = date(9999, 12, 31)
MAX_YEARS = 1000
"""Longer spans count as 'never' in both evaluators (PostgreSQL dates overflow otherwise)."""
SEVERITY = {"mandatory": 3, "assess": 2, "encouraged": 1}
ACTIVE_STATUSES = ("in_service", "renewing")
"""Renewed and retired assets carry no flags."""


@dataclass(frozen=True)
class Span:
    start: date
    end: date

    @property
    def empty(self) -> bool:
        return self.start >= self.end


@dataclass(frozen=True)
class Unknown:
    missing: frozenset[str]


Result = Span | Unknown
TRUE = Span(MIN_DAY, MAX_DAY)
FALSE = Span(MAX_DAY, MAX_DAY)


@dataclass(frozen=True)
class Flag:
    """The outcome of one rule for one asset."""

    rule: Rule
    level: str
    in_scope_on: date | None
    due_on: date | None
    reason: str
    facts: dict[str, Any]
    missing: list[str] | None


def earliest_of_level(flags: list[Flag]) -> set[str]:
    """Rule ids of the flags that stand for the asset in /stats: for each of mandatory, assess
    and encouraged, the flag due first (ties: the lower rule id). The SQL evaluator marks the
    same flags (compile.rules_select)."""
    best: dict[str, Flag] = {}
    for f in flags:
        if f.level in SEVERITY and f.due_on is not None:
            held = best.get(f.level)
            if held is None or (f.due_on, f.rule.id) < (held.due_on or f.due_on, held.rule.id):
                best[f.level] = f
    return {f.rule.id for f in best.values()}


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 28 February in common years."""
    year = day.year + years
    if years > MAX_YEARS or year > MAX_DAY.year:
        return MAX_DAY
    if year < 1:
        return MIN_DAY
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "in":
        return left in right
    if op == "not_in":
        return left not in right
    if isinstance(left, Decimal | int | float) and isinstance(right, Decimal | int | float):
        left, right = Decimal(str(left)), Decimal(str(right))
    return bool(
        {"lt": left < right, "le": left <= right, "gt": left > right, "ge": left >= right}[op]
    )


def _cmp(node: Cmp, facts: dict[str, Any]) -> Result:
    value = facts.get(node.field)
    if value is None:
        if node.field in NULL_MEANS:
            value = NULL_MEANS[node.field]
        elif node.field in NULL_DECIDED:
            return FALSE
        else:
            return Unknown(frozenset({node.field}))
    return TRUE if _compare(node.op, value, node.value) else FALSE


def _years(spec: Years, facts: dict[str, Any]) -> int | None:
    if spec.constant is not None:
        return spec.constant
    assert spec.field is not None
    value = facts.get(spec.field)
    if value is None and spec.default_by is not None:
        value = dict(spec.defaults).get(str(facts.get(spec.default_by)))
    return None if value is None else int(value)


def _age(node: Age, facts: dict[str, Any]) -> Result:
    basis = next((facts[b] for b in node.basis if facts.get(b) is not None), None)
    years = _years(node.years, facts)
    missing: set[str] = set()
    if basis is None:
        missing.update(node.basis)
    if years is None and node.years.field:
        missing.add(node.years.field)
    if missing:
        return Unknown(frozenset(missing))
    assert basis is not None and years is not None
    crossing = add_years(basis, years)
    return Span(MIN_DAY, crossing) if node.below else Span(crossing, MAX_DAY)


def _date_passed(node: DatePassed, facts: dict[str, Any]) -> Result:
    value = facts.get(node.field)
    if value is None:
        return FALSE if node.field in NULL_DECIDED else Unknown(frozenset({node.field}))
    if value >= MAX_DAY:
        return FALSE
    return Span(value if node.on_the_day else value + timedelta(days=1), MAX_DAY)


def _all(results: list[Result]) -> Result:
    spans = [r for r in results if isinstance(r, Span)]
    if any(s.empty for s in spans):
        return FALSE
    unknown = [r for r in results if isinstance(r, Unknown)]
    if unknown:
        return Unknown(frozenset().union(*(u.missing for u in unknown)))
    span = Span(max(s.start for s in spans), min(s.end for s in spans))
    return FALSE if span.empty else span


def _any(results: list[Result]) -> Result:
    holding = [r for r in results if isinstance(r, Span) and not r.empty]
    if holding:
        return Span(min(s.start for s in holding), max(s.end for s in holding))
    unknown = [r for r in results if isinstance(r, Unknown)]
    if unknown:
        return Unknown(frozenset().union(*(u.missing for u in unknown)))
    return FALSE


def evaluate_node(node: Node, facts: dict[str, Any]) -> Result:
    """Evaluate a condition over an asset's facts (field name → value)."""
    if isinstance(node, Cmp):
        return _cmp(node, facts)
    if isinstance(node, IsNull):
        return TRUE if (facts.get(node.field) is None) == node.null else FALSE
    if isinstance(node, Age):
        return _age(node, facts)
    if isinstance(node, DatePassed):
        return _date_passed(node, facts)
    if isinstance(node, All):
        return _all([evaluate_node(i, facts) for i in node.items])
    if isinstance(node, AnyOf):
        return _any([evaluate_node(i, facts) for i in node.items])
    inner = evaluate_node(node.item, facts)
    if isinstance(inner, Unknown):
        return inner
    return FALSE if not inner.empty else TRUE


def json_value(value: Any) -> Any:
    """A fact as stored in a flag's JSON: ISO dates, numbers as floats."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def due_date(rule: Rule, in_scope_on: date | None, facts: dict[str, Any], as_of: date) -> date:
    """The due date by the rule's mode (DOMAIN.md §3)."""
    recorded = facts.get("surveyed_on") or as_of
    if rule.due == "deadline":
        return max(rule.deadline, in_scope_on) if in_scope_on else rule.deadline
    if rule.due == "threshold":
        return in_scope_on or recorded
    return max(in_scope_on or MIN_DAY, recorded)


def flag_reason(title: str, level: str) -> str:
    """A flag's reason: the rule's title, or why it could not be decided."""
    return f"资料不全，无法判定：{title}" if level == "unknown" else title


def flag_facts(rule: Rule, value: Callable[[str], Any]) -> dict[str, Any]:
    """The facts a rule reads, as a flag shows them (value: field name → the asset's value).

    Stored flags do not keep them: every change of an asset re-evaluates its flags, so the asset
    row holds the very values its flags were computed from."""
    return {name: json_value(value(name)) for name in rule.facts_fields}


def evaluate_rule(rule: Rule, facts: dict[str, Any], as_of: date) -> Flag | None:
    """The flag this rule raises for an asset as of a date, or None."""
    result = evaluate_node(rule.when, facts)
    used = flag_facts(rule, facts.get)
    if isinstance(result, Unknown):
        return Flag(
            rule,
            "unknown",
            None,
            None,
            flag_reason(rule.title, "unknown"),
            used,
            sorted(result.missing),
        )
    if result.empty or result.end <= as_of:
        return None
    in_scope = None if result.start == MIN_DAY else result.start
    due = due_date(rule, in_scope, facts, as_of)
    return Flag(rule, rule.level, in_scope, due, flag_reason(rule.title, rule.level), used, None)


def evaluate_asset(pack: Pack, category: str, facts: dict[str, Any], as_of: date) -> list[Flag]:
    """Every flag a pack raises for one asset (none for renewed or retired assets)."""
    if facts.get("status", "in_service") not in ACTIVE_STATUSES:
        return []
    flags = [evaluate_rule(rule, facts, as_of) for rule in pack.rules_for(category)]
    return [f for f in flags if f is not None]


def asset_status(flags: list[Flag], as_of: date) -> str:
    """Most severe level among flags in scope on as_of (mandatory > assess > encouraged > none)."""
    current = [
        f
        for f in flags
        if f.level in SEVERITY and (f.in_scope_on is None or f.in_scope_on <= as_of)
    ]
    if not current:
        return "none"
    return max(current, key=lambda f: SEVERITY[f.level]).level
