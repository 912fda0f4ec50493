"""Bulk paths: valid rows go into a temporary staging table, are diffed against the ledger in SQL,
and are applied with one UPDATE … FROM and one INSERT … SELECT per (sheet, category) group.

PostgreSQL loads the staging table with COPY (psycopg 3); SQLite with a Core executemany. No
`.returning()` on the bulk path. A row is `unchanged` when none of the columns the sheet carries
differs (IS DISTINCT FROM); an unchanged row is never written, so its updated_at and
last_batch_id stay as they were. Blank `status` and `surveyed_on` keep the ledger's value.

A changed row is `keep` (the ledger's asset is left as it is) unless the uploader chose to
overwrite, when the sheet would move a renewed or retired asset back to 在用, or when the asset
changed after the sheet's 普查日期: the asset's change date is its own survey date when an
import wrote it last (its updated_at is not after that batch finished), else the day of its
updated_at in China.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.assets.models import Asset
from app.assets.spec import ALL_FIELDS
from app.audit.recorder import ChangeRow
from app.imports.models import ImportBatch
from app.kit.bulk import foreign_key, indexes_off, indexes_on

CHUNK = 20_000
ACTIONS = ("create", "update", "unchanged", "keep")
KEPT_SHOWN = 1000
"""Kept rows stored with a batch (each is a warning the uploader should read)."""
PG_TYPES = {
    "VARCHAR": "varchar",
    "TEXT": "text",
    "NUMERIC": "numeric",
    "DATE": "date",
    "INTEGER": "int4",
    "BIGINT": "int8",
    "BOOLEAN": "bool",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}
KEYS = ("category", "asset_code")
KEEP_IF_BLANK = ("status", "surveyed_on")
DONE = ("renewed", "retired")
"""Statuses an import does not move back to in_service unless told to overwrite."""
ASSETS: Table = Asset.__table__  # type: ignore[assignment]
Span = tuple[int, int] | None
"""Rows first..last (sheet row numbers) of a group, or all of them."""
Previews = dict[str, list[tuple["Group", dict[str, Any], Any]]]
"""Per action, the first (group, staged row, current row) triples."""


@dataclass
class Group:
    """Rows of one sheet and one category share the columns they carry."""

    id: int
    sheet: str
    category: str
    fields: list[str]
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)
    """(create, update, unchanged, keep) found by the diff."""


class Stage:
    """A temporary table on the job's connection holding the batch's valid rows."""

    def __init__(self, conn: Connection, batch_id: int) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.name = f"import_stage_{batch_id}"
        self.table = Table(
            self.name,
            MetaData(),
            Column("row_no", Integer),
            Column("grp", Integer),
            *(Column(f.name, ASSETS.c[f.name].type) for f in ALL_FIELDS),
            prefixes=["TEMPORARY"],
        )
        self.groups: dict[int, Group] = {}
        self.sink: Callable[[Group, list[tuple[Any, ...]]], None] | None = None
        """When set, full buffers go to it (ApplyWhileParsing loads them) instead of COPY here."""
        self._indexed = False
        self.bulk = False
        """Set by `take_indexes_off`: new rows are appended to a ledger without its secondary
        indexes and region foreign key (PostgreSQL), which are rebuilt once afterwards."""
        self._buffers: dict[int, list[tuple[Any, ...]]] = {}
        self.load_seconds = 0.0
        self.overwrite = False
        """The uploader chose to overwrite: no row is kept (see the module's note on `keep`)."""
        self.drop()
        self.table.create(conn)

    def drop(self) -> None:
        """Remove the staging table (it would otherwise live as long as the pooled connection)."""
        self.conn.execute(text(f"DROP TABLE IF EXISTS {self.name}"))

    def group(self, sheet: str, category: str, fields: list[str]) -> Group:
        """The group of a (sheet, category), created on first use."""
        for g in self.groups.values():
            if g.sheet == sheet and g.category == category:
                return g
        g = Group(
            len(self.groups) + 1, sheet, category, [*KEYS, *(f for f in fields if f not in KEYS)]
        )
        self.groups[g.id] = g
        self._buffers[g.id] = []
        return g

    def add(self, group: Group, row_no: int, values: dict[str, Any]) -> None:
        """Buffer one valid row; a full buffer is loaded at once."""
        buf = self._buffers[group.id]
        buf.append((row_no, group.id, *map(values.get, group.fields)))
        if len(buf) >= CHUNK:
            self._flush(group)

    def flush(self) -> None:
        """Load (or hand to the sink) every buffered row."""
        for g in self.groups.values():
            self._flush(g)

    def finish(self) -> None:
        """Flush every buffer and give the planner statistics."""
        self.flush()
        self.index()
        if self.postgres:
            self.conn.execute(text(f"ANALYZE {self.name}"))

    def index(self) -> None:
        """Index the staged rows by group and row (before loading them, for spans of rows)."""
        if not self._indexed:
            self.conn.execute(
                text(f"CREATE INDEX {self.name}_grp_row ON {self.name} (grp, row_no)")
            )
            self._indexed = True

    def _flush(self, group: Group) -> None:
        rows = self._buffers[group.id]
        if not rows:
            return
        if self.sink is not None:
            self._buffers[group.id] = []
            self.sink(group, rows)
            return
        self.copy(group, rows)
        rows.clear()

    def copy(self, group: Group, rows: list[tuple[Any, ...]]) -> None:
        """Load buffered rows of a group into the staging table."""
        started = time.perf_counter()
        names = ["row_no", "grp", *group.fields]
        if self.postgres:
            cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            sql = f"COPY {self.name} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
            with cursor.copy(sql) as copy:
                copy.set_types([self._pg_type(n) for n in names])
                for row in rows:
                    copy.write_row(row)
        else:
            self._sqlite_insert(names, rows)
        self.load_seconds += time.perf_counter() - started

    def _sqlite_insert(self, names: list[str], rows: list[tuple[Any, ...]]) -> None:
        """executemany on the driver, with values stored as SQLAlchemy stores them on SQLite."""
        dialect = self.conn.dialect
        processors = [
            self.table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        ]
        convert = [(i, p) for i, p in enumerate(processors) if p is not None]
        if convert:
            rows = [_processed(row, convert) for row in rows]
        marks = ", ".join("?" * len(names))
        sql = f"INSERT INTO {self.name} ({', '.join(names)}) VALUES ({marks})"
        self.conn.exec_driver_sql(sql, rows)

    def _pg_type(self, name: str, table: Table | None = None) -> str:
        """The PostgreSQL type name of a staging (or `table`'s) column, for binary COPY."""
        compiled = (
            (table if table is not None else self.table).c[name].type.compile(self.conn.dialect)
        )
        return PG_TYPES[compiled.split("(")[0].upper()]

    def append(
        self,
        group: Group,
        rows: list[tuple[Any, ...]],
        batch_id: int,
        now: datetime,
        today: date,
    ) -> None:
        """Copy buffered rows of a group straight into assets, as `apply` inserts new rows (a
        blank status is in service, a blank survey date is today), stamped with the batch.

        Only for rows that are all new: their category had no assets when the ledger was locked
        (PostgreSQL, take_indexes_off), and the parser rejects a code repeated in the file. The
        staging table, its index and the diff are skipped: 1 write per row instead of 3."""
        fields = list(group.fields)
        blanks = (("status", "in_service"), ("surveyed_on", today))
        fills = [(fields.index(f), v) for f, v in blanks if f in fields]
        added = [(f, v) for f, v in blanks if f not in fields]
        names = [*fields, *(f for f, _ in added), "created_at", "updated_at", "last_batch_id"]
        tail = (*(v for _, v in added), now, now, batch_id)
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        sql = f"COPY assets ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
        at = [i + 2 for i, _ in fills]
        with cursor.copy(sql) as copy:
            copy.set_types([self._pg_type(n, ASSETS) for n in names])
            write = copy.write_row
            for row in rows:
                for i in at:
                    if row[i] is None:
                        filled = list(row[2:])
                        for j, v in fills:
                            if filled[j] is None:
                                filled[j] = v
                        write((*filled, *tail))
                        break
                else:
                    write((*row[2:], *tail))

    # --- diff -------------------------------------------------------------------------------

    def _distinct(self, group: Group, cur: Any) -> ColumnElement[bool]:
        s = self.table.c
        terms = [
            (func.coalesce(s[f], cur.c[f]) if f in KEEP_IF_BLANK else s[f]).is_distinct_from(
                cur.c[f]
            )
            for f in group.fields
            if f not in KEYS
        ]
        return or_(false(), *terms)

    def _guarded(self, group: Group, cur: Any) -> ColumnElement[bool]:
        """Rows whose change would reverse a renewal or overwrite a later change (never NULL)."""
        s = self.table.c
        terms: list[ColumnElement[bool]] = []
        if self.overwrite:
            return false()
        if "status" in group.fields:
            terms.append(
                and_(s.status.is_not(None), s.status == "in_service", cur.c.status.in_(DONE))
            )
        if "surveyed_on" in group.fields:
            later = case((s.surveyed_on < self.changed_on(cur), True), else_=False)
            terms.append(and_(s.surveyed_on.is_not(None), later))
        return or_(false(), *terms)

    def changed_on(self, cur: Any) -> ColumnElement[Any]:
        """The date the ledger's row last changed (see the module's note)."""
        finished = (
            select(ImportBatch.finished_at)
            .where(ImportBatch.id == cur.c.last_batch_id)
            .scalar_subquery()
        )
        if self.postgres:
            day = func.date(func.timezone("Asia/Shanghai", cur.c.updated_at))
        else:
            day = func.date(cur.c.updated_at, "+8 hours")
        by_import = and_(finished.is_not(None), cur.c.updated_at <= finished)
        return case((by_import, cur.c.surveyed_on), else_=day)

    def _match(self, cur: Any) -> ColumnElement[bool]:
        s = self.table.c
        return and_(cur.c.category == s.category, cur.c.asset_code == s.asset_code)

    def _rows(self, group: Group, span: Span) -> ColumnElement[bool]:
        """The staged rows of a group (of rows first..last of its sheet, with a span)."""
        s = self.table.c
        if span is None:
            return s.grp == group.id
        return and_(s.grp == group.id, s.row_no.between(*span))

    def counts(self, group: Group, span: Span = None) -> tuple[int, int, int, int]:
        """(create, update, unchanged, keep) of a group, against the ledger as it is now."""
        cur = ASSETS.alias("cur")
        distinct = self._distinct(group, cur)
        guarded = self._guarded(group, cur)
        changed = and_(cur.c.id.is_not(None), distinct)
        stmt = (
            select(
                func.count(),
                func.sum(case((cur.c.id.is_(None), 1), else_=0)),
                func.sum(case((changed, 1), else_=0)),
                func.sum(case((and_(changed, guarded), 1), else_=0)),
            )
            .select_from(self.table.outerjoin(cur, self._match(cur)))
            .where(self._rows(group, span))
        )
        total, created, changing, kept = self.conn.execute(stmt).one()
        created, changing, kept = int(created or 0), int(changing or 0), int(kept or 0)
        return created, changing - kept, int(total) - created - changing, kept

    def diff(
        self, group: Group, previews: Previews, limit: int, span: Span = None
    ) -> tuple[int, int, int, int]:
        """Count a group's (or a span's) creates, updates, unchanged and kept rows, add them to
        the group's counts, and fill the previews up to `limit` rows per action (in sheet order;
        kept rows up to KEPT_SHOWN, since the uploader must see each of them)."""
        counts = self.counts(group, span)
        group.counts = (
            group.counts[0] + counts[0],
            group.counts[1] + counts[1],
            group.counts[2] + counts[2],
            group.counts[3] + counts[3],
        )
        for action, count in zip(ACTIONS, counts, strict=True):
            have = previews.setdefault(action, [])
            most = KEPT_SHOWN if action == "keep" else limit
            if count and len(have) < most:
                pairs = self.preview(group, action, most - len(have), span)
                have.extend((group, staged, current) for staged, current in pairs)
        return counts

    def preview(
        self, group: Group, action: str, limit: int, span: Span = None
    ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Up to `limit` (staged, current) row pairs of one action, in sheet order."""
        cur = ASSETS.alias("cur")
        s = self.table
        cols = [s.c.row_no, *(s.c[f] for f in group.fields)]
        extra: list[Any] = []
        if action == "create":
            stmt = select(*cols).where(~exists().where(self._match(cur)))
        else:
            distinct = self._distinct(group, cur)
            guarded = self._guarded(group, cur)
            cond = {
                "update": and_(distinct, ~guarded),
                "keep": and_(distinct, guarded),
                "unchanged": ~distinct,
            }[action]
            if action == "keep":
                extra = [cur.c.status.label("now_status"), self.changed_on(cur).label("changed_on")]
            stmt = select(*cols, *(cur.c[f].label(f"cur_{f}") for f in group.fields), *extra)
            stmt = stmt.join_from(s, cur, self._match(cur)).where(cond)
        stmt = stmt.where(self._rows(group, span)).order_by(s.c.row_no).limit(limit)
        out = []
        for row in self.conn.execute(stmt).mappings():
            staged = {"row_no": row["row_no"], **{f: row[f] for f in group.fields}}
            current = {f: row[f"cur_{f}"] for f in group.fields} if action != "create" else None
            if current is not None and extra:
                current["status"] = row["now_status"]
                current["_changed_on"] = as_date(row["changed_on"])
            out.append((staged, current))
        return out

    # --- apply ------------------------------------------------------------------------------

    def updates(self, group: Group, span: Span = None) -> Iterator[ChangeRow]:
        """The change-log entries of the rows the UPDATE of `apply` will change: each asset's
        values of the group's columns before and after (the log keeps the changed fields)."""
        s = self.table.c
        cur = ASSETS
        fields = [f for f in group.fields if f not in KEYS]
        stmt = select(
            cur.c.id,
            cur.c.category,
            *(cur.c[f].label(f"old_{f}") for f in fields),
            *(s[f].label(f"new_{f}") for f in fields),
        ).where(
            self._match(cur),
            self._rows(group, span),
            self._distinct(group, cur),
            ~self._guarded(group, cur),
        )
        for row in self.conn.execute(stmt.execution_options(yield_per=CHUNK)):
            m = row._mapping
            before = {f: m[f"old_{f}"] for f in fields}
            after = {
                f: before[f] if f in KEEP_IF_BLANK and m[f"new_{f}"] is None else m[f"new_{f}"]
                for f in fields
            }
            yield {
                "action": "update",
                "object_type": "asset",
                "object_id": row.id,
                "region_code": after.get("region_code") or before.get("region_code") or "",
                "category": row.category,
                "before": before,
                "after": after,
            }

    def apply(
        self,
        group: Group,
        batch_id: int,
        now: datetime,
        today: date,
        counts: tuple[int, int, int, int],
        span: Span = None,
    ) -> None:
        """Update the changed rows (but the kept ones) and insert the new ones of a group,
        stamping the batch.

        `counts` (created, updated, unchanged, kept) from the diff in this transaction skip
        statements with nothing to do (a re-import of an unchanged file runs neither).
        """
        s = self.table.c
        cur = ASSETS
        values: dict[str, Any] = {
            f: func.coalesce(s[f], cur.c[f]) if f in KEEP_IF_BLANK else s[f]
            for f in group.fields
            if f not in KEYS
        }
        stamp_now = literal(now, DateTime(timezone=True))
        values |= {"last_batch_id": batch_id, "updated_at": stamp_now}
        if counts[1]:
            self.conn.execute(
                update(cur)
                .where(
                    self._match(cur),
                    self._rows(group, span),
                    self._distinct(group, cur),
                    ~self._guarded(group, cur),
                )
                .values(values)
            )
        if counts[0] and self.bulk and counts[0] == sum(counts[:3]):
            # every row is new (the diff saw no match, and the ledger is locked since): append
            self.conn.execute(self._insert(group, batch_id, stamp_now, today, span, fresh=True))
        elif counts[0] and self.bulk:
            # A nested-loop anti-join would rescan the heap this INSERT grows (the ledger's
            # statistics may still say it is empty): hash the ledger once instead.
            self.conn.execute(text("SET LOCAL enable_nestloop = off"))
            self.conn.execute(self._insert(group, batch_id, stamp_now, today, span))
            self.conn.execute(text("SET LOCAL enable_nestloop = on"))
        elif counts[0]:
            self.conn.execute(self._insert(group, batch_id, stamp_now, today, span))

    # --- bulk path (PostgreSQL) --------------------------------------------------------------

    def take_indexes_off(self) -> None:
        """Before writing a large share of the ledger: lock assets, drop its five secondary
        indexes and its region foreign key; `put_indexes_back` rebuilds them in this transaction.

        Measured on a million new LPG cylinders (bench/RESULTS-import.md): INSERT with ON
        CONFLICT under every index and the per-row foreign-key check 13.5 s; into the table with
        its unique index alone 3.1 s, then 3.3 s to build the five indexes and 0.1 s to check
        the foreign key in one join. The region codes were already checked while parsing.
        Readers of the ledger wait for the commit (ACCESS EXCLUSIVE, which DROP INDEX needs);
        the flag evaluation that follows such an import locks the flags the same way."""
        if not self.postgres:
            return
        self.conn.execute(text("LOCK TABLE assets IN ACCESS EXCLUSIVE MODE"))
        indexes_off(self.conn, ASSETS, foreign_key(ASSETS, "regions"))
        self.bulk = True

    def put_indexes_back(self) -> None:
        if not self.bulk:
            return
        indexes_on(self.conn, ASSETS, foreign_key(ASSETS, "regions"))
        self.bulk = False

    def _insert(
        self,
        group: Group,
        batch_id: int,
        stamp_now: Any,
        today: date,
        span: Span,
        fresh: bool = False,
    ) -> Any:
        s = self.table.c
        exprs: dict[str, Any] = {f: s[f] for f in group.fields}
        exprs["status"] = func.coalesce(exprs.get("status", literal(None)), "in_service")
        exprs["surveyed_on"] = func.coalesce(
            exprs.get("surveyed_on", literal(None, Date())), literal(today, Date())
        )
        exprs |= {"created_at": stamp_now, "updated_at": stamp_now, "last_batch_id": batch_id}
        sel = select(*(literal_or(v).label(k) for k, v in exprs.items())).where(
            self._rows(group, span)
        )
        if fresh:
            return ASSETS.insert().from_select(list(exprs), sel)
        if self.bulk:
            # the ledger is locked: no one else inserts, so an anti-join finds the new rows
            # (ON CONFLICT's speculative insertion costs 1.6 s more per million rows)
            cur = ASSETS.alias("cur")
            sel = sel.where(~exists().where(self._match(cur)))
            return ASSETS.insert().from_select(list(exprs), sel)
        # rows of existing codes were handled by the UPDATE: skip them by the unique index
        # (no anti-join, whose plan depends on the ledger's statistics)
        dialect_insert = pg_insert if self.postgres else sqlite_insert
        stmt = dialect_insert(ASSETS).from_select(list(exprs), sel)
        return stmt.on_conflict_do_nothing(index_elements=list(KEYS))


def _processed(row: tuple[Any, ...], convert: list[tuple[int, Any]]) -> tuple[Any, ...]:
    values = list(row)
    for i, process in convert:
        if values[i] is not None:
            values[i] = process(values[i])
    return tuple(values)


def literal_or(value: Any) -> Any:
    """A SQL expression as is, a Python value as a bound literal."""
    return value if hasattr(value, "label") else literal(value)


def as_date(value: Any) -> date | None:
    """A date column read back (SQLite's date() answers text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
