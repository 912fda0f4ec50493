"""SQL evaluator: the same condition algebra as evaluate.py, translated to one SELECT per rule.

Every node becomes (known, start, end, missing) SQL expressions: `known` is false when the result
depends on a missing fact, [start, end) is the span of dates on which the condition holds, and
`missing` lists the absent facts as JSON text fragments. Dates use the same sentinels as the
Python evaluator (0001-01-01, 9999-12-31) so both agree to the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.functions import FunctionElement

from app.assets.models import Asset
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
    Not,
    Years,
    fields_used,
)
from app.rules.evaluate import ACTIVE_STATUSES, MAX_DAY, MAX_YEARS, MIN_DAY
from app.rules.packs import Pack, Rule


class greatest(FunctionElement[Any]):  # noqa: N801
    inherit_cache = True
    type = Date()


class least(FunctionElement[Any]):  # noqa: N801
    inherit_cache = True
    type = Date()


class add_years(FunctionElement[Any]):  # noqa: N801
    """date + N years, with 29 February → 28 February in common years (as in PostgreSQL)."""

    inherit_cache = True
    type = Date()


class next_day(FunctionElement[Any]):  # noqa: N801
    inherit_cache = True
    type = Date()


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest)
def _greatest(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: Any, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(least)
def _least(element: least, compiler: Any, **kw: Any) -> str:
    return f"least({compiler.process(element.clauses, **kw)})"


@compiles(add_years, "sqlite")
def _add_years_sqlite(element: add_years, compiler: Any, **kw: Any) -> str:
    day, years = (compiler.process(c, **kw) for c in element.clauses)
    shifted = f"date({day}, '+' || ({years}) || ' years')"
    return (
        f"(CASE WHEN strftime('%m-%d', {day}) = '02-29' AND strftime('%m-%d', {shifted}) "
        f"= '03-01' THEN date({shifted}, '-1 day') ELSE {shifted} END)"
    )


@compiles(add_years)
def _add_years(element: add_years, compiler: Any, **kw: Any) -> str:
    day, years = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(({day}) + make_interval(years => CAST({years} AS INTEGER)) AS DATE)"


@compiles(next_day, "sqlite")
def _next_day_sqlite(element: next_day, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+1 day')"


@compiles(next_day)
def _next_day(element: next_day, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) + 1 AS DATE)"


def _day(value: date) -> ColumnElement[date]:
    return literal(value, Date())


MIN = _day(MIN_DAY)
MAX = _day(MAX_DAY)


@dataclass(frozen=True)
class SqlNode:
    known: ColumnElement[bool]
    start: ColumnElement[date]
    end: ColumnElement[date]
    missing: ColumnElement[str]


def _col(name: str) -> Any:
    return getattr(Asset, name)


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String())


def _missing_if(condition: ColumnElement[bool], names: list[str]) -> ColumnElement[str]:
    fragment = "".join(f'"{n}",' for n in names)
    return case((condition, _text(fragment)), else_=_text(""))


def _static(
    truth: ColumnElement[bool], known: ColumnElement[bool], missing: ColumnElement[str]
) -> SqlNode:
    return SqlNode(known, case((truth, MIN), else_=MAX), MAX, missing)


def _sql_cmp(node: Cmp) -> SqlNode:
    col = _col(node.field)
    value = node.value
    if node.field in NULL_MEANS:
        col = func.coalesce(col, literal(NULL_MEANS[node.field]))
    ops = {
        "eq": lambda: col == value,
        "ne": lambda: col != value,
        "lt": lambda: col < value,
        "le": lambda: col <= value,
        "gt": lambda: col > value,
        "ge": lambda: col >= value,
        "in": lambda: col.in_(list(value)),
        "not_in": lambda: col.not_in(list(value)),
    }
    truth = ops[node.op]()
    if node.field in NULL_MEANS:
        return _static(truth, true(), _text(""))
    if node.field in NULL_DECIDED:
        return _static(and_(_col(node.field).is_not(None), truth), true(), _text(""))
    absent = _col(node.field).is_(None)
    return _static(truth, not_(absent), _missing_if(absent, [node.field]))


def _sql_years(spec: Years) -> ColumnElement[int] | None:
    if spec.constant is not None:
        return literal(spec.constant, Integer())
    assert spec.field is not None
    col = _col(spec.field)
    if spec.default_by is None or not spec.defaults:
        return col  # type: ignore[no-any-return]
    lookup = case(*((_col(spec.default_by) == k, literal(v, Integer())) for k, v in spec.defaults))
    return func.coalesce(col, lookup)


def _sql_age(node: Age) -> SqlNode:
    cols = [_col(b) for b in node.basis]
    basis = cols[0] if len(cols) == 1 else func.coalesce(*cols)
    years = _sql_years(node.years)
    assert years is not None
    basis_absent = basis.is_(None)
    years_absent = years.is_(None) if node.years.field else false()
    missing = _missing_if(basis_absent, list(node.basis))
    if node.years.field:
        missing = missing + _missing_if(years.is_(None), [node.years.field])
    crossing = case((years > MAX_YEARS, MAX), else_=add_years(basis, years))
    known = and_(not_(basis_absent), not_(years_absent))
    if node.below:
        return SqlNode(known, MIN, crossing, missing)
    return SqlNode(known, crossing, MAX, missing)


def _sql_date_passed(node: DatePassed) -> SqlNode:
    col = _col(node.field)
    start = case((col.is_(None), MAX), (col >= MAX, MAX), else_=next_day(col))
    if node.field in NULL_DECIDED:
        return SqlNode(true(), start, MAX, _text(""))
    return SqlNode(col.is_not(None), start, MAX, _missing_if(col.is_(None), [node.field]))


def _concat_missing(children: list[SqlNode]) -> ColumnElement[str]:
    out: ColumnElement[str] = _text("")
    for c in children:
        out = out + case((c.known, _text("")), else_=c.missing)
    return out


def _sql_all(children: list[SqlNode]) -> SqlNode:
    any_empty = or_(*(and_(c.known, c.start >= c.end) for c in children))
    known = or_(any_empty, and_(*(c.known for c in children)))
    start = case((any_empty, MAX), else_=greatest(*(c.start for c in children)))
    end = case((any_empty, MAX), else_=least(*(c.end for c in children)))
    missing = case((known, _text("")), else_=_concat_missing(children))
    return SqlNode(known, start, end, missing)


def _sql_any(children: list[SqlNode]) -> SqlNode:
    holds = [and_(c.known, c.start < c.end) for c in children]
    known = or_(*holds, and_(*(c.known for c in children)))
    start = least(*(case((h, c.start), else_=MAX) for h, c in zip(holds, children, strict=True)))
    end = greatest(*(case((h, c.end), else_=MIN) for h, c in zip(holds, children, strict=True)))
    missing = case((known, _text("")), else_=_concat_missing(children))
    return SqlNode(known, start, end, missing)


def compile_node(node: Node) -> SqlNode:
    """Translate a condition into SQL expressions over the assets table."""
    if isinstance(node, Cmp):
        return _sql_cmp(node)
    if isinstance(node, IsNull):
        col = _col(node.field)
        return _static(col.is_(None) if node.null else col.is_not(None), true(), _text(""))
    if isinstance(node, Age):
        return _sql_age(node)
    if isinstance(node, DatePassed):
        return _sql_date_passed(node)
    if isinstance(node, All):
        return _sql_all([compile_node(i) for i in node.items])
    if isinstance(node, AnyOf):
        return _sql_any([compile_node(i) for i in node.items])
    assert isinstance(node, Not)
    inner = compile_node(node.item)
    return SqlNode(inner.known, case((inner.start < inner.end, MAX), else_=MIN), MAX, inner.missing)


def _facts(rule: Rule, dialect: str) -> ColumnElement[Any]:
    from app.assets.spec import FIELDS_BY_NAME

    args: list[Any] = []
    for name in fields_used(rule.when):
        col = _col(name)
        if dialect == "sqlite" and FIELDS_BY_NAME[name].kind == "bool":
            col = case(
                (col.is_(None), null()),
                (col == true(), func.json("true")),
                else_=func.json("false"),
            )
        args += [_text(name), col]
    if dialect == "sqlite":
        return type_coerce(func.json_object(*args), JSON())
    return type_coerce(func.json_build_object(*args), JSON())


def _missing_json(node: SqlNode, dialect: str) -> ColumnElement[Any]:
    text = _text("[") + func.rtrim(node.missing, ",") + _text("]")
    if dialect == "sqlite":
        return case((node.known, null()), else_=type_coerce(func.json(text), JSON()))
    return case((node.known, null()), else_=cast(text, JSON()))


def _due(rule: Rule, in_scope: ColumnElement[Any], as_of: date) -> ColumnElement[Any]:
    recorded = func.coalesce(Asset.surveyed_on, _day(as_of))
    if rule.due == "deadline":
        return greatest(_day(rule.deadline), func.coalesce(in_scope, MIN))
    if rule.due == "threshold":
        return func.coalesce(in_scope, recorded)
    return greatest(func.coalesce(in_scope, MIN), recorded)


def rule_select(
    rule: Rule,
    pack: Pack,
    *,
    as_of: date,
    evaluated_at: datetime,
    dialect: str,
    scope: ColumnElement[bool],
) -> Select[Any]:
    """SELECT of asset_flags rows for one rule of one pack over the assets in `scope`."""
    n = compile_node(rule.when)
    holds = and_(n.known, n.start < n.end, n.end > _day(as_of))
    in_scope = case((n.start == MIN, null()), else_=n.start)
    return select(
        Asset.id,
        Asset.category,
        Asset.region_code,
        literal(pack.id, String()),
        literal(pack.version, String()),
        literal(rule.id, String()),
        case((n.known, _text(rule.level)), else_=_text("unknown")),
        case((n.known, in_scope), else_=null()),
        case((n.known, _due(rule, in_scope, as_of)), else_=null()),
        case((n.known, _text(rule.title)), else_=_text(f"资料不全，无法判定：{rule.title}")),
        _facts(rule, dialect),
        _missing_json(n, dialect),
        _day(as_of),
        literal(evaluated_at),
    ).where(
        Asset.category == rule.category,
        Asset.status.in_(ACTIVE_STATUSES),
        scope,
        or_(holds, not_(n.known)),
    )
