"""Bulk writes of plans: projects and lines of a schedule (Core executemany), version copies
(one INSERT … SELECT per table)."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any, cast

from sqlalchemy import BigInteger, Table, and_, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from app.plans.calc import Schedule
from app.plans.candidates import LineFacts
from app.plans.grouping import ProjectDraft, project_key
from app.plans.models import Plan, PlanLine, PlanProject
from app.regions.models import Region

CHUNK = 5000
LINES = cast(Table, PlanLine.__table__)
PROJECTS = cast(Table, PlanProject.__table__)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while 100,000s of acyclic objects are built.

    Its generation scans over the growing candidate lists otherwise cost ~20 % of a big plan.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def region_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Short names of regions (中原区) by code, in one query per 900 codes."""
    items = sorted(set(codes))
    out: dict[str, str] = {}
    for i in range(0, len(items), 900):
        stmt = select(Region.code, Region.name).where(Region.code.in_(items[i : i + 900]))
        out.update({row.code: row.name for row in session.execute(stmt)})
    return out


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Consecutive lists of up to CHUNK rows."""
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def insert_projects(
    session: Session, plan_id: int, drafts: Iterable[ProjectDraft]
) -> dict[str, int]:
    """Insert projects; returns their ids by key."""
    rows = [{"plan_id": plan_id, **draft_values(d)} for d in drafts]
    for chunk in _chunks(iter(rows)):
        session.execute(insert(PROJECTS), chunk)
    stmt = select(PlanProject.key, PlanProject.id).where(PlanProject.plan_id == plan_id)
    return {row.key: row.id for row in session.execute(stmt)}


def draft_values(d: ProjectDraft) -> dict[str, Any]:
    """A project draft as a row."""
    return {
        "key": d.key,
        "year": d.year,
        "category": d.category,
        "region_code": d.region_code,
        "label": d.label,
        "name": d.name,
        "implementation_subject": d.implementation_subject,
        "responsible_unit": d.responsible_unit,
        "funding_source": d.funding_source,
        "start_month": d.start_month,
        "finish_month": d.finish_month,
    }


LINE_FIELDS = (
    "plan_id", "project_id", "rank", "asset_id", "asset_code", "category", "region_code",
    "address", "year", "level", "pack_id", "rule_ids", "in_scope_on", "due_on", "beyond_budget",
    "quantity", "unit_cost", "amount", "cost_source", "quantity_assumed", "work",
    "contingent_amount", "advisory",
)  # fmt: skip


def insert_lines(
    session: Session,
    plan_id: int,
    schedule: Schedule,
    project_ids: dict[str, int],
) -> int:
    """Insert the schedule's lines (positional rows in LINE_FIELDS order) in bulk."""

    def rows() -> Iterator[tuple[Any, ...]]:
        """One positional row per placement, in LINE_FIELDS order."""
        for p in schedule.placements:
            c = p.candidate
            f: LineFacts = c.payload
            project = project_ids[project_key(p.year, c.category, c.region_code, c.group)]
            yield (
                plan_id, project, p.rank, c.asset_id, f.asset_code, c.category, c.region_code,
                f.address, p.year, c.level, f.pack_id, f.rule_ids, c.in_scope_on, c.due_on,
                p.beyond_budget, f.quantity, f.unit_cost, c.amount, f.cost_source,
                f.quantity_assumed, f.work, f.contingent, f.advisory,
            )  # fmt: skip

    return bulk_insert(session, LINES, LINE_FIELDS, rows())


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """Insert positional rows in bulk in the session's transaction: COPY on PostgreSQL, plain
    DBAPI executemany elsewhere."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _copy(conn, table, columns, rows)
    return _executemany(conn, table, columns, rows)


def _copy(conn: Any, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """psycopg COPY … FROM STDIN (psycopg adapts Decimal, date and bool itself)."""
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    n = 0
    with conn.connection.dbapi_connection.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _executemany(
    conn: Any, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """DBAPI executemany a chunk at a time, skipping SQLAlchemy's per-row parameter compilation
    (the bulk path's main cost); values still pass through each column type's own bind
    processor (SQLite: Decimal → float, date → ISO text)."""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    active = [(i, f) for i, f in enumerate(procs) if f is not None]
    n = 0
    it = iter(rows)
    while chunk := list(islice(it, CHUNK)):
        if active:  # column by column: transposing is cheap, per-row copies are not
            cols: list[Any] = list(zip(*chunk, strict=True))
            for i, proc in active:
                cols[i] = [None if v is None else proc(v) for v in cols[i]]
            chunk = list(zip(*cols, strict=True))
        conn.exec_driver_sql(sql, chunk)
        n += len(chunk)
    return n


def copy_plan(session: Session, plan: Plan, created_by: str) -> Plan:
    """A new draft version of `plan`: header, projects and lines copied inside the database."""
    latest = session.scalar(select(func.max(Plan.version)).where(Plan.series_id == plan.series_id))
    new = Plan(
        series_id=plan.series_id,
        version=(latest or plan.version) + 1,
        previous_id=plan.id,
        name=plan.name,
        status="draft",
        region_prefix=plan.region_prefix,
        category=plan.category,
        first_year=plan.first_year,
        last_year=plan.last_year,
        as_of=plan.as_of,
        parameters=plan.parameters,
        packs=plan.packs,
        stats=plan.stats,
        created_by=created_by,
    )
    session.add(new)
    session.flush()
    _copy_rows(session, plan.id, new.id)
    return new


def _copy_rows(session: Session, old_id: int, new_id_value: int) -> None:
    """Projects, then lines re-pointed to the copied projects (matched by key), in SQL."""
    new_id = literal(new_id_value, BigInteger())
    pcols = [c for c in PROJECTS.c if c.name not in ("id", "plan_id")]
    session.execute(
        insert(PROJECTS).from_select(
            ["plan_id", *[c.name for c in pcols]],
            select(new_id, *pcols).where(PROJECTS.c.plan_id == old_id),
        )
    )
    old_p, new_p = aliased(PlanProject), aliased(PlanProject)
    lcols = [c for c in LINES.c if c.name not in ("id", "plan_id", "project_id")]
    source = (
        select(new_id, new_p.id, *lcols)
        .select_from(LINES)
        .join(old_p, old_p.id == LINES.c.project_id)
        .join(new_p, and_(new_p.plan_id == new_id_value, new_p.key == old_p.key))
        .where(LINES.c.plan_id == old_id)
    )
    session.execute(
        insert(LINES).from_select(["plan_id", "project_id", *[c.name for c in lcols]], source)
    )
