"""The typed condition tree of a rule, parsed from YAML, with per-category field whitelists.

Nodes: `all`/`any`/`not`, comparisons (`eq ne lt le gt ge in not_in`), null checks, and
time-bounded ages: `age_at_least` (holds from the day an asset reaches an age), `age_below`
(holds until that day), `date_passed` (holds after a date field) and `date_reached` (holds from
that date on). No `eval`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.assets.spec import FIELDS_BY_NAME, choices_for, fields_for

CMP_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in")

NULL_MEANS: dict[str, bool] = {
    "damaged": False,
    "affects_water_quality": False,
    "on_elimination_list": False,
    "severe_corrosion": False,
    "crosses_enclosed_space": False,
    "converted_from_other_gas": False,
    "scrap_conditions_met": False,
    "safety_distance_ok": True,
}
"""Hazard indicators whose absence means 'not reported' (DOMAIN.md §3), never unknown."""

NULL_DECIDED = frozenset(
    {
        "assessment_result",
        "assessed_on",
        "life_extended_until",
        "last_inspection_on",
        "inspection_result",
    }
)
"""Facts whose absence carries meaning (not assessed, never inspected, no extension): a
comparison on them is simply false when absent."""


class PackError(ValueError):
    """A malformed rule pack; the message names file, rule id and reason."""


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class IsNull:
    field: str
    null: bool


@dataclass(frozen=True)
class Years:
    """A number of years: a constant, or a field with optional defaults keyed by another field."""

    constant: int | None = None
    field: str | None = None
    default_by: str | None = None
    defaults: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Age:
    """Age in years since the first present basis date; `below` flips it to 'younger than'."""

    years: Years
    basis: tuple[str, ...]
    below: bool = False


@dataclass(frozen=True)
class DatePassed:
    """Holds after the date in `field` (`date_passed`), or from that date on (`date_reached`: the
    field is the last day something is allowed, e.g. a cylinder's life_extended_until)."""

    field: str
    on_the_day: bool = False


@dataclass(frozen=True)
class All:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Cmp | IsNull | Age | DatePassed | All | AnyOf | Not


@dataclass
class ParseContext:
    """Where a condition comes from, for error messages, and the category's age basis."""

    where: str
    category: str
    age_basis: tuple[str, ...]
    fields: frozenset[str] = field(default_factory=frozenset)


def parse_condition(raw: Any, ctx: ParseContext) -> Node:
    """Parse one YAML condition into a node, checking fields against the category whitelist."""
    if not isinstance(raw, dict) or not raw:
        raise PackError(f"{ctx.where}: a condition must be a mapping, got {raw!r}")
    if "all" in raw or "any" in raw:
        key = "all" if "all" in raw else "any"
        items = raw[key]
        if not isinstance(items, list) or not items:
            raise PackError(f"{ctx.where}: '{key}' needs a non-empty list")
        nodes = tuple(parse_condition(i, ctx) for i in items)
        return All(nodes) if key == "all" else AnyOf(nodes)
    if "not" in raw:
        inner = parse_condition(raw["not"], ctx)
        if _time_bound(inner):
            raise PackError(f"{ctx.where}: 'not' over an age condition; use age_below instead")
        return Not(inner)
    if "age_at_least" in raw or "age_below" in raw:
        below = "age_below" in raw
        spec = raw["age_below" if below else "age_at_least"]
        basis = tuple(raw.get("basis", ctx.age_basis))
        for name in basis:
            _check_field(name, ctx, kinds=("date",))
        return Age(_parse_years(spec, ctx), basis, below)
    for key in ("date_passed", "date_reached"):
        if key in raw:
            _check_field(raw[key], ctx, kinds=("date",))
            return DatePassed(raw[key], on_the_day=key == "date_reached")
    if "field" in raw:
        return _parse_field_test(raw, ctx)
    raise PackError(f"{ctx.where}: unknown condition {sorted(raw)}")


def _parse_years(spec: Any, ctx: ParseContext) -> Years:
    if isinstance(spec, int) and not isinstance(spec, bool):
        return Years(constant=spec)
    if isinstance(spec, dict) and "field" in spec:
        _check_field(spec["field"], ctx, kinds=("int",))
        default_by = spec.get("default_by")
        defaults = spec.get("defaults", {})
        if default_by is not None:
            _check_field(default_by, ctx)
        if not isinstance(defaults, dict) or not all(isinstance(v, int) for v in defaults.values()):
            raise PackError(f"{ctx.where}: 'defaults' must map values to whole years")
        return Years(
            field=spec["field"],
            default_by=default_by,
            defaults=tuple(sorted((str(k), int(v)) for k, v in defaults.items())),
        )
    raise PackError(f"{ctx.where}: years must be a whole number or {{field: …}}, got {spec!r}")


def _parse_field_test(raw: dict[str, Any], ctx: ParseContext) -> Node:
    name = raw["field"]
    ops = [k for k in raw if k != "field"]
    if len(ops) != 1:
        raise PackError(f"{ctx.where}: field test on '{name}' needs exactly one operator")
    op = ops[0]
    if op == "is_null":
        _check_field(name, ctx)
        return IsNull(name, bool(raw[op]))
    if op not in CMP_OPS:
        raise PackError(f"{ctx.where}: unknown operator '{op}' on '{name}'")
    spec = _check_field(name, ctx)
    value = raw[op]
    values = value if op in ("in", "not_in") else [value]
    if op in ("in", "not_in") and (not isinstance(value, list) or not value):
        raise PackError(f"{ctx.where}: '{op}' on '{name}' needs a non-empty list")
    checked = tuple(_check_value(spec.name, spec.kind, v, ctx) for v in values)
    return Cmp(name, op, checked if op in ("in", "not_in") else checked[0])


def _check_field(name: Any, ctx: ParseContext, kinds: tuple[str, ...] = ()) -> Any:
    spec = FIELDS_BY_NAME.get(name) if isinstance(name, str) else None
    if spec is None or name not in ctx.fields:
        raise PackError(f"{ctx.where}: field '{name}' is not a {ctx.category} field")
    if kinds and spec.kind not in kinds:
        raise PackError(f"{ctx.where}: field '{name}' is {spec.kind}, expected {'/'.join(kinds)}")
    return spec


def _check_value(name: str, kind: str, value: Any, ctx: ParseContext) -> Any:
    spec = FIELDS_BY_NAME[name]
    if kind == "enum":
        allowed = choices_for(spec, ctx.category)
        if str(value) not in allowed:
            raise PackError(f"{ctx.where}: '{value}' is not a {name} value ({', '.join(allowed)})")
        return str(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, date):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "decimal" and isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    if kind == "text" and isinstance(value, str):
        return value
    raise PackError(f"{ctx.where}: value {value!r} does not fit field '{name}' ({kind})")


def _time_bound(node: Node) -> bool:
    if isinstance(node, Age | DatePassed):
        return True
    if isinstance(node, All | AnyOf):
        return any(_time_bound(i) for i in node.items)
    if isinstance(node, Not):
        return _time_bound(node.item)
    return False


def fields_used(node: Node) -> list[str]:
    """Every field a condition reads, in first-use order (the flag's `facts`)."""
    out: list[str] = []

    def add(name: str | None) -> None:
        if name and name not in out:
            out.append(name)

    def walk(n: Node) -> None:
        if isinstance(n, Cmp | IsNull | DatePassed):
            add(n.field)
        elif isinstance(n, Age):
            for b in n.basis:
                add(b)
            add(n.years.field)
            add(n.years.default_by)
        elif isinstance(n, All | AnyOf):
            for i in n.items:
                walk(i)
        elif isinstance(n, Not):
            walk(n.item)

    walk(node)
    return out


def category_fields(category: str) -> frozenset[str]:
    """The whitelist of fields a rule of this category may read."""
    return frozenset(f.name for f in fields_for(category))
