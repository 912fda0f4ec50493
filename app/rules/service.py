"""Write side of rules: keep stored flags current for changed assets, the ledger, or a pack."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKeyConstraint,
    Insert,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateTable, DropTable

from app.accounts.scope import region_prefix_clause
from app.assets.models import Asset
from app.audit.recorder import open_change_set, record_change
from app.db import utcnow
from app.kit.bulk import foreign_key, indexes_off, indexes_on
from app.kit.dates import today
from app.rules.compile import rules_select
from app.rules.evaluate import Flag, earliest_of_level, evaluate_asset
from app.rules.models import AssetFlag, RulePackRecord
from app.rules.packs import Pack, Registry, Rule, get_registry

log = logging.getLogger(__name__)

FLAG_COLUMNS = (
    "asset_id",
    "category",
    "region_code",
    "pack_id",
    "pack_version",
    "category_key",
    "region_key",
    "rule_id",
    "level",
    "in_scope_on",
    "due_on",
    "missing",
    "earliest",
    "rule_key",
    "as_of",
    "evaluated_at",
    "length_m",
    "capacity_tph",
    "in_service",
)


@dataclass(frozen=True)
class EvaluationSummary:
    """What an evaluation wrote."""

    as_of: date
    assets: int
    flags: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"evaluated {self.assets} assets as of {self.as_of}: {self.flags} flags "
            f"in {self.seconds:.1f} s"
        )


def facts_of(asset: Asset) -> dict[str, Any]:
    """Every column value of an asset, by field name (what rules read)."""
    return {c.key: getattr(asset, c.key) for c in Asset.__table__.columns}


def flag_row(
    asset: Asset, pack_id: str, pack_version: str, flag: Flag, as_of: date, earliest: bool
) -> dict[str, Any]:
    """A flag's row (its region, category and rule keys come from the column defaults)."""
    return {
        "asset_id": asset.id,
        "category": asset.category,
        "region_code": asset.region_code,
        "pack_id": pack_id,
        "pack_version": pack_version,
        "rule_id": flag.rule.id,
        "level": flag.level,
        "in_scope_on": flag.in_scope_on,
        "due_on": flag.due_on,
        "missing": flag.missing,
        "earliest": earliest,
        "as_of": as_of,
        "evaluated_at": utcnow(),
        "length_m": asset.length_m,
        "capacity_tph": asset.capacity_tph,
        "in_service": asset.status == "in_service",
    }


def refresh_asset_flags(
    session: Session, assets: Sequence[Asset], *, as_of: date | None = None
) -> None:
    """Recompute the stored flags of a few assets with the Python evaluator."""
    if not assets:
        return
    as_of = as_of or today()
    registry = get_registry()
    session.flush()
    ids = [a.id for a in assets]
    session.execute(delete(AssetFlag).where(AssetFlag.asset_id.in_(ids)))
    rows = []
    for asset in assets:
        pack = registry.pack_for_region(asset.region_code)
        flags = evaluate_asset(pack, asset.category, facts_of(asset), as_of)
        first = earliest_of_level(flags)
        rows += [
            flag_row(asset, pack.id, pack.version, f, as_of, f.rule.id in first) for f in flags
        ]
    if rows:
        session.execute(insert(AssetFlag), rows)
    session.flush()


def _pack_scope(pack: Pack, provinces: list[str]) -> ColumnElement[bool]:
    """The assets a pack applies to (its provinces; CN: every province without a pack), as ranges
    on region_code so that ix_assets_category_region_code_id narrows each rule's scan."""
    if pack.provinces:
        return or_(*(region_prefix_clause(Asset.region_code, p) for p in pack.provinces))
    if provinces:
        return and_(*(not_(region_prefix_clause(Asset.region_code, p)) for p in provinces))
    return true()


def _flag_table() -> Table:
    return AssetFlag.metadata.tables[AssetFlag.__tablename__]


def _flag_fk() -> ForeignKeyConstraint:
    return foreign_key(_flag_table(), "assets")


def _empty_flags_for_rebuild(session: Session, dialect: str) -> None:
    """Empty asset_flags for a whole-ledger evaluation and take its secondary indexes (and, on
    PostgreSQL, the foreign key) off, so that a million flag rows are appended to a bare heap
    and the indexes are built once afterwards (_finish_rebuild), in the same transaction.

    Maintaining seven indexes and a foreign-key check per inserted row cost more than the rules
    themselves (bench/RESULTS-rules.md). The DDL is transactional on both databases: a failed
    evaluation rolls back to the previous flags with their indexes. Readers of the due list, and
    on PostgreSQL writers of assets, wait for the commit (asset_flags is locked exclusively while
    it is rebuilt).

    SQLite: DELETE without WHERE visits every row when foreign keys are on (no truncate
    optimisation for a child table), so the table is dropped and created again instead."""
    table = _flag_table()
    if dialect == "sqlite":
        # pysqlite opens its transaction at the first INSERT/UPDATE/DELETE, not before DDL: a
        # no-op DELETE makes sure the DROP below is inside it (and rolls back with it).
        session.execute(delete(AssetFlag).where(false()))
        session.execute(DropTable(table))
        session.execute(CreateTable(table))
        return
    # Dropping and re-adding the foreign key lock assets (SHARE ROW EXCLUSIVE): take that lock
    # first, before asset_flags, so an asset edit in flight (holding assets, about to rewrite
    # its flags) finishes before the rebuild starts instead of deadlocking with it.
    session.execute(text("LOCK TABLE assets IN SHARE ROW EXCLUSIVE MODE"))
    session.execute(text("TRUNCATE asset_flags"))
    indexes_off(session, table, _flag_fk())


def _finish_rebuild(session: Session, dialect: str, *, validate: bool = True) -> None:
    # SQLite re-created the table with its foreign key (_empty_flags_for_rebuild)
    postgres = dialect != "sqlite"
    indexes_on(session, _flag_table(), _flag_fk() if postgres and validate else None)
    if postgres and not validate:
        add = AddConstraint(_flag_fk()).compile(dialect=session.get_bind().dialect)
        session.execute(text(f"{add} NOT VALID"))


FLAG_FK_NAME = str(_flag_fk().name)
AFTER_REBUILD = (
    f"ALTER TABLE asset_flags VALIDATE CONSTRAINT {FLAG_FK_NAME}",
    "ANALYZE asset_flags",
)
"""What `finish_rebuild(settle_later=True)` leaves for after the commit (PostgreSQL)."""


def settle(engine: Engine, statements: Sequence[str]) -> None:
    """Run, each in its own transaction, what a bulk write left for after its commit: checking a
    foreign key added NOT VALID (SHARE UPDATE EXCLUSIVE: the due list and asset edits go on)
    and refreshing planner statistics."""
    with engine.connect() as connection:
        for sql in statements:
            with connection.begin():
                connection.execute(text(sql))


def settle_leftovers(engine: Engine) -> None:
    """Validate the flags' foreign key if a worker stopped between a commit and its settle."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        pending = connection.scalar(
            text("SELECT NOT convalidated FROM pg_constraint WHERE conname = :name"),
            {"name": FLAG_FK_NAME},
        )
    if pending:
        log.warning("validating %s, left unchecked by an interrupted import", FLAG_FK_NAME)
        settle(engine, AFTER_REBUILD)


REBUILD_MIN_ASSETS = 10_000
REBUILD_SHARE = 0.25
"""Above this share of the ledger, a partial evaluation rebuilds all flags instead: deleting and
re-inserting rows under six live indexes costs more per row than re-evaluating everything into a
bare table and indexing once (a first import of a million assets into an empty ledger)."""


def _mostly(session: Session, where: ColumnElement[bool]) -> bool:
    session.flush()
    total = session.scalar(select(func.count()).select_from(Asset)) or 0
    if total < REBUILD_MIN_ASSETS:
        return False
    matching = session.scalar(select(func.count()).select_from(Asset).where(where)) or 0
    return matching >= REBUILD_SHARE * total


@dataclass(frozen=True)
class Run:
    """One evaluation: its date, its rule packs and the moment stamped on its flags."""

    as_of: date
    registry: Registry
    dialect: str
    evaluated_at: Any
    started: float
    by_ids: dict[frozenset[str] | None, list[tuple[str, Insert]]] = field(
        default_factory=dict, compare=False
    )
    """insert_flags_by_ids' statements (with their pack's id), built once per set of categories."""


def _begin(session: Session, as_of: date | None, registry: Registry | None) -> Run:
    session.flush()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # JIT compiling the rules' large expressions costs more (up to 3 s per statement) than
        # it saves; the status aggregate has a million groups.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    return Run(as_of or today(), registry or get_registry(), dialect, utcnow(), time.perf_counter())


def begin_rebuild(
    session: Session, *, as_of: date | None = None, registry: Registry | None = None
) -> Run:
    """Empty the flags and take their indexes off, for `insert_flags` over every asset in one or
    more parts and `finish_rebuild` (what evaluate_ledger does for the whole ledger at once)."""
    run = _begin(session, as_of, registry)
    _empty_flags_for_rebuild(session, run.dialect)
    return run


def insert_flags(
    session: Session,
    run: Run,
    scope: ColumnElement[bool],
    categories: set[str] | None = None,
) -> int:
    """Write the flags of the assets in `scope` (one INSERT … SELECT per pack and category, of
    `categories` when given); their previous flags must be gone. Returns the number written."""
    inserts = [stmt for _pack, stmt in _flag_inserts(run, scope, categories)]
    return _execute_inserts(session, inserts, {})


def insert_flags_by_ids(
    session: Session,
    run: Run,
    lo: int,
    hi: int,
    categories: set[str] | None = None,
    packs: set[str] | None = None,
) -> int:
    """insert_flags for the assets whose id is in [lo, hi], with the statements built once per run
    and set of categories and the ids bound: an import writing its new assets' flags a step at a
    time spent ~2 s of CPU (holding the GIL its parser needs) building and compiling the same
    large statements again for each of its steps.

    packs: the ids of the only packs the assets can fall under (Registry.pack_for_region), when
    the caller knows them; each pack's statement scans the whole id range, so a district's survey
    (one province) is flagged by one statement per category instead of one per pack."""
    key = frozenset(categories) if categories is not None else None
    if key not in run.by_ids:
        ids = Asset.id.between(
            bindparam("flag_id_lo", type_=BigInteger), bindparam("flag_id_hi", type_=BigInteger)
        )
        run.by_ids[key] = _flag_inserts(run, ids, categories)
    inserts = [stmt for pack, stmt in run.by_ids[key] if packs is None or pack in packs]
    return _execute_inserts(session, inserts, {"flag_id_lo": lo, "flag_id_hi": hi})


def _flag_inserts(
    run: Run, scope: ColumnElement[bool], categories: set[str] | None
) -> list[tuple[str, Insert]]:
    provinces = sorted(run.registry.by_province)
    table = _flag_table()
    target = [table.c[c] for c in FLAG_COLUMNS]
    inserts: list[tuple[str, Insert]] = []
    for pack in run.registry.packs.values():
        pack_scope = _pack_scope(pack, provinces) & scope
        by_category: dict[str, list[Rule]] = {}
        for rule in pack.rules.values():
            if categories is None or rule.category in categories:
                by_category.setdefault(rule.category, []).append(rule)
        for rules in by_category.values():
            stmt = rules_select(
                rules,
                pack,
                as_of=run.as_of,
                evaluated_at=run.evaluated_at,
                dialect=run.dialect,
                scope=pack_scope,
            )
            write = insert(table).from_select(target, stmt)
            inserts.append((pack.id, write.execution_options(preserve_rowcount=True)))
    return inserts


def _execute_inserts(session: Session, inserts: list[Insert], params: dict[str, Any]) -> int:
    flags = 0
    for stmt in inserts:
        result = session.execute(stmt, params)
        flags += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    return flags


def finish_rebuild(
    session: Session, run: Run, flags: int, *, settle_later: bool = False
) -> EvaluationSummary:
    """Index the rebuilt flags (and re-add their foreign key) and give the planner statistics.

    settle_later (PostgreSQL): re-add the foreign key NOT VALID and leave checking it and the
    statistics (AFTER_REBUILD) to the caller, after its commit. It is still enforced for every
    row written from then on, and the rows of the rebuild were read from assets in the same
    transaction; checking them held the ledger's commit 1.2–1.7 s for 3.7 million flags
    (bench/RESULTS-import.md)."""
    later = settle_later and run.dialect == "postgresql"
    _finish_rebuild(session, run.dialect, validate=not later)
    if not later:
        # planner statistics for the rewritten table (the due list, stats, partial evaluations)
        session.execute(text("ANALYZE asset_flags"))
    return _summary(session, run, true(), flags)


def _summary(
    session: Session, run: Run, scope: ColumnElement[bool], flags: int
) -> EvaluationSummary:
    assets = session.scalar(select(func.count()).select_from(Asset).where(scope)) or 0
    summary = EvaluationSummary(run.as_of, assets, flags, time.perf_counter() - run.started)
    log.info("%s", summary)
    return summary


def evaluate_ledger(
    session: Session,
    *,
    as_of: date | None = None,
    where: ColumnElement[bool] | None = None,
    registry: Registry | None = None,
) -> EvaluationSummary:
    """Recompute stored flags in the database (one INSERT … SELECT per pack and category) for
    the assets matching `where`: all assets when omitted, or when the matching assets are a
    large share of a large ledger (REBUILD_SHARE)."""
    if where is not None and _mostly(session, where):
        where = None
    if where is None:
        run = begin_rebuild(session, as_of=as_of, registry=registry)
        return finish_rebuild(session, run, insert_flags(session, run, true()))
    run = _begin(session, as_of, registry)
    session.execute(delete(AssetFlag).where(AssetFlag.asset_id.in_(select(Asset.id).where(where))))
    return _summary(session, run, where, insert_flags(session, run, where))


def sync_rule_packs(session: Session, registry: Registry | None = None) -> list[str]:
    """Record the loaded pack versions (and the load in the change log); re-evaluate the
    ledger when any pack changed."""
    registry = registry or get_registry()
    stored = {r.id: r for r in session.scalars(select(RulePackRecord))}
    changed = [
        p for p in registry.packs.values() if p.id not in stored or stored[p.id].sha256 != p.sha256
    ]
    removed = [stored[i] for i in set(stored) - set(registry.packs)]
    if not changed and not removed:
        return []
    open_change_set(session, kind="rule_pack_load")
    for pack in changed:
        record = stored.get(pack.id)
        before = _pack_snapshot(record) if record else None
        values = {
            "version": pack.version,
            "name": pack.name,
            "effective_on": pack.effective_on,
            "sha256": pack.sha256,
        }
        if record is None:
            session.add(RulePackRecord(id=pack.id, loaded_at=utcnow(), **values))
        else:
            for key, value in {**values, "loaded_at": utcnow()}.items():
                setattr(record, key, value)
        record_change(
            session,
            action="load" if before else "create",
            object_type="rule_pack",
            object_id=pack.id,
            region_code=pack.provinces[0] if pack.provinces else "",
            before=before,
            after=values,
        )
    for record in removed:
        record_change(
            session,
            action="delete",
            object_type="rule_pack",
            object_id=record.id,
            region_code="",
            before=_pack_snapshot(record),
            after=None,
        )
        session.delete(record)
    session.flush()
    if session.scalar(select(Asset.id).limit(1)) is not None:
        evaluate_ledger(session, registry=registry)
    return [p.id for p in changed] + [r.id for r in removed]


def _pack_snapshot(record: RulePackRecord) -> dict[str, Any]:
    return {
        "version": record.version,
        "name": record.name,
        "effective_on": record.effective_on,
        "sha256": record.sha256,
    }
