"""SQL evaluator: the same condition algebra as evaluate.py, translated to one SELECT per pack and
category (`rules_select`), whose condition trees are computed level by level (`layered`).

Every node becomes (known, start, end, missing) SQL expressions: `known` is false when the result
depends on a missing fact, [start, end) is the span of dates on which the condition holds, and
`missing` is the set of absent facts as a bit mask (Bits: one bit per field the statement's rules
read; spelled out as a JSON list, in name order like the Python evaluator's, only on the flags
that cannot be decided). Dates use the same sentinels as the Python evaluator (0001-01-01,
9999-12-31) so both agree to the day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Integer,
    SmallInteger,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select, Subquery
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
from app.rules.evaluate import ACTIVE_STATUSES, MAX_DAY, MAX_YEARS, MIN_DAY, SEVERITY
from app.rules.models import category_key, rule_key
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
    missing: ColumnElement[int]


Col = Callable[[str], Any]
"""Resolves a field name to a column of the current source (the assets table or a layer)."""


def _asset_col(name: str) -> Any:
    return getattr(Asset, name)


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String())


Bits = dict[str, int]
"""A statement's fields, each with its bit in the `missing` masks (fields in name order)."""

NONE_MISSING = literal_column("0", BigInteger())


def field_bits(roots: list[Node]) -> Bits:
    names = sorted(set().union(*(fields_used(r) for r in roots)))
    assert len(names) < 63, "a statement's rules read too many fields for a bit mask"
    return {name: 1 << i for i, name in enumerate(names)}


def _mask(value: int) -> ColumnElement[int]:
    return literal_column(str(value), BigInteger())


def _or(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[int]:
    return a.op("|", return_type=BigInteger())(b)


def _missing_if(condition: ColumnElement[bool], names: list[str], bits: Bits) -> ColumnElement[int]:
    mask = 0
    for name in names:
        mask |= bits[name]
    return case((condition, _mask(mask)), else_=NONE_MISSING)


def _static(
    truth: ColumnElement[bool], known: ColumnElement[bool], missing: ColumnElement[int]
) -> SqlNode:
    return SqlNode(known, case((truth, MIN), else_=MAX), MAX, missing)


def _sql_cmp(node: Cmp, _col: Col, bits: Bits) -> SqlNode:
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
        return _static(truth, true(), NONE_MISSING)
    if node.field in NULL_DECIDED:
        return _static(and_(_col(node.field).is_not(None), truth), true(), NONE_MISSING)
    absent = _col(node.field).is_(None)
    return _static(truth, not_(absent), _missing_if(absent, [node.field], bits))


def _sql_years(spec: Years, _col: Col) -> ColumnElement[int] | None:
    if spec.constant is not None:
        return literal(spec.constant, Integer())
    assert spec.field is not None
    col = _col(spec.field)
    if spec.default_by is None or not spec.defaults:
        return col  # type: ignore[no-any-return]
    lookup = case(*((_col(spec.default_by) == k, literal(v, Integer())) for k, v in spec.defaults))
    return func.coalesce(col, lookup)


def _sql_age(node: Age, _col: Col, bits: Bits) -> SqlNode:
    cols = [_col(b) for b in node.basis]
    basis = cols[0] if len(cols) == 1 else func.coalesce(*cols)
    years = _sql_years(node.years, _col)
    assert years is not None
    basis_absent = basis.is_(None)
    years_absent = years.is_(None) if node.years.field else false()
    missing = _missing_if(basis_absent, list(node.basis), bits)
    if node.years.field:
        missing = _or(missing, _missing_if(years.is_(None), [node.years.field], bits))
    crossing = case((years > MAX_YEARS, MAX), else_=add_years(basis, years))
    known = and_(not_(basis_absent), not_(years_absent))
    if node.below:
        return SqlNode(known, MIN, crossing, missing)
    return SqlNode(known, crossing, MAX, missing)


def _sql_date_passed(node: DatePassed, _col: Col, bits: Bits) -> SqlNode:
    col = _col(node.field)
    if node.on_the_day:
        start = case((col.is_(None), MAX), else_=col)
    else:
        start = case((col.is_(None), MAX), (col >= MAX, MAX), else_=next_day(col))
    if node.field in NULL_DECIDED:
        return SqlNode(true(), start, MAX, NONE_MISSING)
    return SqlNode(col.is_not(None), start, MAX, _missing_if(col.is_(None), [node.field], bits))


def _union_missing(children: list[SqlNode]) -> ColumnElement[int]:
    """The facts missing from the undecided children (bitwise or: a union without text)."""
    out: ColumnElement[int] | None = None
    for c in children:
        part = case((c.known, NONE_MISSING), else_=c.missing)
        out = part if out is None else _or(out, part)
    assert out is not None
    return out


def _sql_all(children: list[SqlNode]) -> SqlNode:
    any_empty = or_(*(and_(c.known, c.start >= c.end) for c in children))
    known = or_(any_empty, and_(*(c.known for c in children)))
    start = case((any_empty, MAX), else_=greatest(*(c.start for c in children)))
    end = case((any_empty, MAX), else_=least(*(c.end for c in children)))
    missing = case((known, NONE_MISSING), else_=_union_missing(children))
    return SqlNode(known, start, end, missing)


def _sql_any(children: list[SqlNode]) -> SqlNode:
    holds = [and_(c.known, c.start < c.end) for c in children]
    known = or_(*holds, and_(*(c.known for c in children)))
    start = least(*(case((h, c.start), else_=MAX) for h, c in zip(holds, children, strict=True)))
    end = greatest(*(case((h, c.end), else_=MIN) for h, c in zip(holds, children, strict=True)))
    missing = case((known, NONE_MISSING), else_=_union_missing(children))
    return SqlNode(known, start, end, missing)


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, All | AnyOf):
        return node.items
    if isinstance(node, Not):
        return (node.item,)
    return ()


def _node_sql(node: Node, kids: list[SqlNode], col: Col, bits: Bits) -> SqlNode:
    """One node over its children's already-computed expressions (or, for leaves, columns)."""
    if isinstance(node, Cmp):
        return _sql_cmp(node, col, bits)
    if isinstance(node, IsNull):
        c = col(node.field)
        return _static(c.is_(None) if node.null else c.is_not(None), true(), NONE_MISSING)
    if isinstance(node, Age):
        return _sql_age(node, col, bits)
    if isinstance(node, DatePassed):
        return _sql_date_passed(node, col, bits)
    if isinstance(node, All):
        return _sql_all(kids)
    if isinstance(node, AnyOf):
        return _sql_any(kids)
    (inner,) = kids
    return SqlNode(inner.known, case((inner.start < inner.end, MAX), else_=MIN), MAX, inner.missing)


def _layer_col(layer: Subquery) -> Col:
    return lambda name: layer.c[name]


def layered(
    roots: list[Node], keep: list[str], where: list[ColumnElement[bool]], bits: Bits
) -> tuple[Subquery, list[SqlNode]]:
    """Conditions as a stack of subqueries, one per tree level: level h computes the nodes of
    height h once per asset, as columns, from the columns of level h-1.

    A parent reads each child's (known, start, end) several times; inlined, the expressions grow
    geometrically with depth (one LPG rule compiled to 99,000 characters) and the database
    evaluates every copy per row. Each level is fenced with OFFSET 0 so neither PostgreSQL nor
    SQLite flattens it back into its parent. Equal nodes of different roots (the same age test
    in two rules) are computed once. `keep` are asset columns carried to the top level; `where`
    filters the assets at the bottom level.
    """
    order: list[Node] = []
    height: dict[Node, int] = {}
    needed_until: dict[Node, int] = {}

    def visit(n: Node) -> int:
        if n in height:
            return height[n]
        kids = _children(n)
        h = 1 + max(visit(k) for k in kids) if kids else 0
        for k in kids:
            needed_until[k] = max(needed_until.get(k, 0), h)
        height[n] = h
        order.append(n)
        return h

    top = max(visit(r) for r in roots)
    for r in roots:
        needed_until[r] = top + 1
    name = {n: f"n{i}" for i, n in enumerate(order)}
    refs: dict[Node, SqlNode] = {}
    layer: Subquery | None = None
    for h in range(top + 1):
        source = layer
        col = _asset_col if source is None else _layer_col(source)
        columns: list[Any] = [col(k).label(k) for k in keep]
        live = [n for n in order if height[n] <= h < needed_until[n]]
        for n in live:
            own = height[n] == h
            sql = _node_sql(n, [refs[k] for k in _children(n)], col, bits) if own else refs[n]
            p = name[n]
            columns += [
                sql.known.label(f"{p}_k"),
                sql.start.label(f"{p}_s"),
                sql.end.label(f"{p}_e"),
                sql.missing.label(f"{p}_m"),
            ]
        stmt = select(*columns)
        stmt = stmt.where(*where) if source is None else stmt.select_from(source)
        layer = stmt.offset(0).subquery(f"level{h}")
        for n in live:
            p = name[n]
            c = layer.c
            refs[n] = SqlNode(c[f"{p}_k"], c[f"{p}_s"], c[f"{p}_e"], c[f"{p}_m"])
    assert layer is not None
    return layer, [refs[r] for r in roots]


def _missing_json(node: SqlNode, dialect: str, fields: list[str], bits: Bits) -> ColumnElement[Any]:
    """The missing facts as a JSON list in name order (evaluated for undecided flags only)."""
    names: ColumnElement[str] = _text("")
    for name in sorted(set(fields)):
        has = node.missing.op("&", return_type=BigInteger())(_mask(bits[name])) != 0
        names = names + case((has, _text(f'"{name}",')), else_=_text(""))
    text = _text("[") + func.rtrim(names, ",") + _text("]")
    if dialect == "sqlite":
        return case((node.known, null()), else_=type_coerce(func.json(text), JSON()))
    return case((node.known, null()), else_=cast(text, JSON()))


def _due(
    rule: Rule, in_scope: ColumnElement[Any], as_of: date, surveyed_on: ColumnElement[Any]
) -> ColumnElement[Any]:
    recorded = func.coalesce(surveyed_on, _day(as_of))
    if rule.due == "deadline":
        return greatest(_day(rule.deadline), func.coalesce(in_scope, MIN))
    if rule.due == "threshold":
        return func.coalesce(in_scope, recorded)
    return greatest(func.coalesce(in_scope, MIN), recorded)


def rules_select(
    rules: list[Rule],
    pack: Pack,
    *,
    as_of: date,
    evaluated_at: datetime,
    dialect: str,
    scope: ColumnElement[bool],
) -> Select[Any]:
    """SELECT of asset_flags rows for rules of one category of one pack over the assets in
    `scope`: one pass over the assets computes every rule's condition (layered), then each asset
    is paired with each rule index and the rows whose rule holds, or cannot be decided, are kept."""
    (category,) = {r.category for r in rules}
    keep = ["id", "category", "region_code", "surveyed_on", "length_m", "capacity_tph", "status"]
    for rule in rules:
        keep += [f for f in fields_used(rule.when) if f not in keep]
    where = [Asset.category == category, Asset.status.in_(ACTIVE_STATUSES), scope]
    bits = field_bits([r.when for r in rules])
    src, roots = layered([r.when for r in rules], keep, where, bits)
    c = src.c
    columns: list[list[ColumnElement[Any]]] = []
    emits: list[ColumnElement[bool]] = []
    holds = [and_(n.known, n.start < n.end, n.end > _day(as_of)) for n in roots]
    dues = [
        _due(rule, case((n.start == MIN, null()), else_=n.start), as_of, c.surveyed_on)
        for rule, n in zip(rules, roots, strict=True)
    ]
    for k, (rule, n) in enumerate(zip(rules, roots, strict=True)):
        in_scope = case((n.start == MIN, null()), else_=n.start)
        # earliest_of_level in SQL: no other holding rule of this level is due before this one
        # (on the same day: has a lower rule id)
        beaten = [
            and_(
                holds[j],
                dues[j] < dues[k] if other.id > rule.id else dues[j] <= dues[k],
            )
            for j, other in enumerate(rules)
            if j != k and other.level == rule.level
        ]
        earliest = and_(n.known, *(not_(b) for b in beaten)) if rule.level in SEVERITY else false()
        columns.append(
            [
                literal(rule.id, String()),
                case((n.known, _text(rule.level)), else_=_text("unknown")),
                case((n.known, in_scope), else_=null()),
                case((n.known, dues[k]), else_=null()),
                _missing_json(n, dialect, fields_used(rule.when), bits),
                case((earliest, true()), else_=false()),
                literal(rule_key(rule.id), Integer()),
            ]
        )
        emits.append(or_(holds[k], not_(n.known)))
    common = [
        c.id,
        c.category,
        c.region_code,
        literal(pack.id, String()),
        literal(pack.version, String()),
        literal(category_key(category), SmallInteger()),
        cast(c.region_code, Integer()),
    ]
    tail = [
        _day(as_of),
        literal(evaluated_at),
        c.length_m,
        c.capacity_tph,
        c.status == "in_service",
    ]
    if len(rules) == 1:
        return select(*common, *columns[0], *tail).where(emits[0])
    ids = [literal_column(str(i), Integer()) for i in range(len(rules))]
    picks = union_all(*(select(i.label("k")) for i in ids)).subquery("rule_pick")
    chosen = picks.c.k

    def pick(values: list[ColumnElement[Any]]) -> ColumnElement[Any]:
        return case(*((chosen == i, v) for i, v in zip(ids, values, strict=True)))

    per_rule = [pick([row[j] for row in columns]) for j in range(len(columns[0]))]
    # Each asset row meets every rule index once. LEFT JOIN (to a table that always has rows)
    # pins the order in both databases: the level stack runs once, outside; an inner join let
    # SQLite put the rule indexes outside and re-run the stack per rule.
    return (
        select(*common, *per_rule, *tail)
        .select_from(src)
        .outerjoin(picks, true())
        .where(pick(emits))
    )
