"""Running one import job: parse and validate the stored workbook, diff it against the ledger in a
staging table, and (unless a dry run) apply it, all in the job's one transaction."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from app.accounts.scope import Principal
from app.assets.models import Asset
from app.audit.recorder import open_change_set, record_bulk_changes, record_change
from app.db import utcnow
from app.errors import TooLarge
from app.imports.eager import ApplyWhileParsing
from app.imports.guard import ScopeGuard
from app.imports.models import ImportBatch, ImportRow
from app.imports.parse import Plan, plan_workbook, sheet_rows
from app.imports.regions import RegionIndex
from app.imports.rows import MAX_CELL_CHARS, Accepted, Rejected, RowMapper
from app.imports.staging import Group, Previews, Stage
from app.kit.dates import today as kit_today
from app.kit.xlsx import DEFAULT_READ_MB, open_book
from app.rules import service as rules_service

PREVIEW_ROWS = 50
"""Rows kept per action (create/update/unchanged) as a preview; rejected rows are all kept."""
ERRORS_SHOWN = 20


@dataclass
class Outcome:
    """What a job found and did."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0
    """Changed rows left as the ledger has them (a reversal or a later change; Stage._guarded)."""
    rejected: int = 0
    skipped: int = 0
    applied: bool = False
    warnings: list[str] = field(default_factory=list)
    sheets: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    after_commit: list[str] = field(default_factory=list)
    """Statements the worker runs after the job's commit (rules_service.settle)."""


def run_job(
    session: Session,
    batch: ImportBatch,
    path: Path,
    principal: Principal,
    tick: Callable[[int], None],
    max_rows: int,
    max_read_mb: int = DEFAULT_READ_MB,
) -> Outcome:
    """Parse, stage, diff and (unless dry run or refused) apply one batch; flushes, never commits.

    Nothing in the ledger database is written before `_lock` (SQLite: progress updates from
    another connection must not wait on this transaction); the batch row is changed last.
    """
    out = Outcome()
    started = time.perf_counter()
    plan = plan_workbook(path, batch.category, max_rows)
    out.warnings = list(plan.warnings)
    out.sheets = [_sheet_info(lay) for lay in plan.layouts]
    regions = RegionIndex.load(session)
    stage = Stage(session.connection(), batch.id)
    stage.overwrite = bool(batch.overwrite)
    out.timings["read"] = 0.0
    if _apply_while_parsing(session, batch, plan, principal, stage):
        return _run_eager(
            session, batch, path, principal, tick, plan, regions, stage, out, max_read_mb
        )
    rejects = _parse_into(session, stage, plan, path, regions, principal, tick, out, max_read_mb)
    stage.finish()
    read = out.timings.get("read", 0.0)
    out.timings["parse"] = time.perf_counter() - started - stage.load_seconds - read
    out.timings["stage"] = stage.load_seconds
    _lock(session, batch.id)
    t = time.perf_counter()
    previews = _diff(stage, out)
    out.warnings += kept_warnings(out.kept, previews)
    out.timings["diff"] = time.perf_counter() - t
    out.rejected = len(rejects)
    refused = batch.mode == "all_or_nothing" and out.rejected > 0
    if not batch.dry_run and not refused:
        _apply(session, stage, batch.id, principal, out)
        _record(session, principal, batch.id, out)
    t = time.perf_counter()
    _store_rows(session, batch.id, rejects, previews, stage)
    stage.drop()
    out.timings["store"] = time.perf_counter() - t
    return out


def _apply_while_parsing(
    session: Session, batch: ImportBatch, plan: Plan, principal: Principal, stage: Stage
) -> bool:
    """A committing import of mostly new rows by an uploader without a scope, on PostgreSQL,
    of BULK_MIN_ROWS or more: the ledger holds fewer assets than BULK_SHARE of its rows."""
    if not stage.postgres or batch.dry_run or batch.mode == "all_or_nothing":
        return False
    if principal.region_prefix or principal.category or plan.rows_estimate < BULK_MIN_ROWS:
        return False
    ledger = session.scalar(select(func.count()).select_from(Asset)) or 0
    return ledger < BULK_SHARE * plan.rows_estimate


def _run_eager(
    session: Session,
    batch: ImportBatch,
    path: Path,
    principal: Principal,
    tick: Callable[[int], None],
    plan: Plan,
    regions: RegionIndex,
    stage: Stage,
    out: Outcome,
    max_read_mb: int,
) -> Outcome:
    """The job with ApplyWhileParsing: rows are applied while parsing goes on, the flags after."""
    started = time.perf_counter()
    change_set = open_change_set(session, principal, kind="import", batch_id=batch.id)
    writer = ApplyWhileParsing(
        session, stage, batch.id, change_set, utcnow(), kit_today(), PREVIEW_ROWS
    )
    writer.start()
    try:
        rejects = _parse_into(
            session, stage, plan, path, regions, principal, tick, out, max_read_mb
        )
        parsed = time.perf_counter()
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    out.created, out.updated, out.unchanged, out.kept = writer.counts
    out.warnings += kept_warnings(out.kept, writer.previews)
    out.rejected = len(rejects)
    out.applied = True
    out.after_commit = writer.after_commit
    _record(session, principal, batch.id, out)
    read = out.timings.get("read", 0.0)
    out.timings["parse"] = parsed - started - read
    out.timings["stage"] = stage.load_seconds
    out.timings |= writer.timings
    out.timings["finish"] = time.perf_counter() - parsed
    t = time.perf_counter()
    _store_rows(session, batch.id, rejects, writer.previews, stage)
    stage.drop()
    out.timings["store"] = time.perf_counter() - t
    return out


def _parse_into(
    session: Session,
    stage: Stage,
    plan: Plan,
    path: Path,
    regions: RegionIndex,
    principal: Principal,
    tick: Callable[[int], None],
    out: Outcome,
    max_read_mb: int,
) -> list[Rejected]:
    seen: dict[str, dict[str, tuple[str, int]]] = {}
    rejects: list[Rejected] = []
    guard = ScopeGuard(session, principal)
    done = 0
    with open_book(path, max_read_mb) as open_sheet:
        for lay in plan.layouts:
            sheet = open_sheet(lay.sheet)
            if done + sheet.total_rows - lay.header_row - 1 > plan.max_rows:
                raise TooLarge(f"工作簿的数据超过 {plan.max_rows} 行的上限;请拆分成几个工作簿上传")
            mapper = RowMapper(lay, regions, principal, seen)
            groups: dict[str, Group] = {}
            ticker = partial(_offset_tick, tick, done)
            for result, first_col, cells in sheet_rows(sheet, mapper, ticker, sheet.uncached):
                if result is None:
                    out.skipped += 1
                    continue
                out.rows += 1
                if isinstance(result, Rejected):
                    rejects.append(result)
                elif not guard.active:
                    _stage(stage, groups, mapper, lay.sheet, result)
                elif guard.add(result, first_col, cells):
                    _stage_checked(stage, groups, mapper, lay.sheet, guard, rejects)
            _stage_checked(stage, groups, mapper, lay.sheet, guard, rejects)
            out.warnings.extend(mapper.warnings())
            # reading a large sheet overlaps parsing it: its time is what the parser waited
            out.timings["read"] = out.timings.get("read", 0.0) + sheet.load_seconds
            done += max(0, sheet.total_rows - lay.header_row - 1)
            tick(done)
            sheet.close()
    return rejects


def _stage(
    stage: Stage, groups: dict[str, Group], mapper: RowMapper, sheet: str, row: Accepted
) -> None:
    group = groups.get(row.category)
    if group is None:
        fields = ["region_code", *(f.spec.name for f in mapper.plan(row.category))]
        group = groups[row.category] = stage.group(sheet, row.category, fields)
    stage.add(group, row.row, row.values)


def _stage_checked(
    stage: Stage,
    groups: dict[str, Group],
    mapper: RowMapper,
    sheet: str,
    guard: ScopeGuard,
    rejects: list[Rejected],
) -> None:
    """Stage the guard's queued rows; those keyed like another scope's asset are rejected."""
    for row in guard.drain(mapper):
        if isinstance(row, Rejected):
            rejects.append(row)
        else:
            _stage(stage, groups, mapper, sheet, row)


def _offset_tick(tick: Callable[[int], None], offset: int, done: int) -> None:
    tick(offset + done)


def _sheet_info(lay: Any) -> dict[str, Any]:
    return {
        "name": lay.sheet,
        "header_row": lay.header_row + 1,
        "category": lay.category,
        "headers": {str(c): h for c, h in sorted(lay.headers.items())},
        "columns": {c.header: [s.name for s in c.specs] for c in lay.columns},
        "ignored": lay.ignored,
    }


def _lock(session: Session, batch_id: int) -> None:
    """Take the write lock first (SQLite), so the diff and the apply see one ledger state."""
    session.execute(
        update(ImportBatch).where(ImportBatch.id == batch_id).values(heartbeat_at=utcnow())
    )


def _diff(stage: Stage, out: Outcome) -> Previews:
    previews: Previews = {}
    for group in stage.groups.values():
        counts = stage.diff(group, previews, PREVIEW_ROWS)
        out.created += counts[0]
        out.updated += counts[1]
        out.unchanged += counts[2]
        out.kept += counts[3]
    return previews


def kept_warnings(kept: int, previews: Previews) -> list[str]:
    """The batch's warning about kept rows, naming the first of them."""
    if not kept:
        return []
    rows = [f"{g.sheet}!{staged['row_no']}" for g, staged, _ in previews.get("keep", [])[:10]]
    more = "等" if kept > len(rows) else ""
    return [
        f"{kept} 行未按表更新，台账保持原样：表中为“在用”而台账已更新或报废，或台账在本表普查日期"
        f"之后已有改动（{'、'.join(rows)}{more}；逐行原因见 action=keep 的行）。"
        "确认表中内容更新，请提交时选择覆盖（overwrite=true）。"
    ]


ANALYZE_AFTER = 50_000
"""Rows created or updated by one import above which the ledger's statistics are refreshed."""
BULK_MIN_ROWS = 10_000
BULK_SHARE = 0.25
"""An import that creates at least BULK_MIN_ROWS assets and at least this share of the ledger
it lands in writes them without the ledger's secondary indexes (Stage.take_indexes_off)."""


def _bulk(session: Session, out: Outcome) -> bool:
    if out.created < BULK_MIN_ROWS:
        return False
    ledger = session.scalar(select(func.count()).select_from(Asset)) or 0
    return out.created >= BULK_SHARE * (ledger + out.created)


def _apply(
    session: Session, stage: Stage, batch_id: int, principal: Principal, out: Outcome
) -> None:
    t = time.perf_counter()
    now, today = utcnow(), kit_today()
    # one change set for the commit: an entry per updated asset (its history shows what the
    # import changed) and the commit's summary (_record). Created assets are not logged one by
    # one (a first survey of a million rows); their batch is on each of them (last_batch_id).
    change_set = open_change_set(session, principal, kind="import", batch_id=batch_id)
    for group in stage.groups.values():
        if group.counts[1]:
            record_bulk_changes(session, change_set, stage.updates(group))
    if _bulk(session, out):
        stage.take_indexes_off()
    for group in stage.groups.values():
        stage.apply(group, batch_id, now, today, group.counts)
    stage.put_indexes_back()
    if out.created + out.updated >= ANALYZE_AFTER and session.get_bind().dialect.name != "sqlite":
        # planner statistics for the grown ledger, before the flag evaluation reads it
        # (autovacuum cannot see the rows until commit; ANALYZE here samples them)
        session.execute(text("ANALYZE assets"))
    out.timings["apply"] = time.perf_counter() - t
    t = time.perf_counter()
    if out.created or out.updated:
        rules_service.evaluate_ledger(session, where=Asset.last_batch_id == batch_id)
    out.timings["flags"] = time.perf_counter() - t
    out.applied = True


def _record(session: Session, principal: Principal, batch_id: int, out: Outcome) -> None:
    """The commit's summary entry, in the change set _apply opened."""
    counts = {k: getattr(out, k) for k in ("created", "updated", "unchanged", "rejected")}
    record_change(
        session,
        action="commit",
        object_type="import_batch",
        object_id=batch_id,
        region_code=principal.region_prefix,
        after=counts,
    )


def _store_rows(
    session: Session,
    batch_id: int,
    rejects: list[Rejected],
    previews: Previews,
    stage: Stage,
) -> None:
    rows: list[dict[str, Any]] = [
        {
            "batch_id": batch_id,
            "sheet": r.sheet,
            "row": r.row,
            "action": "reject",
            "category": r.category,
            "asset_code": (r.asset_code or "")[:64] or None,
            "values": {
                "first_col": r.first_col,
                "cells": [jsonable(v) for v in _trimmed(r.values)],
            },
            "errors": [{**e, "row": r.row} for e in r.errors],
        }
        for r in rejects
    ]
    for action, items in previews.items():
        for group, staged, current in items:
            rows.append(_preview_row(batch_id, action, group, staged, current))
    for i in range(0, len(rows), 5000):
        session.execute(insert(ImportRow), rows[i : i + 5000])


def _trimmed(values: list[Any]) -> list[Any]:
    """A row's cells without the blank ones after its last value (a stray cell far to the right
    would otherwise store thousands of empty cells with every rejected row)."""
    end = len(values)
    while end and (values[end - 1] is None or values[end - 1] == ""):
        end -= 1
    return values[:end]


def _preview_row(
    batch_id: int, action: str, group: Group, staged: dict[str, Any], current: Any
) -> dict[str, Any]:
    values = {k: plain(v) for k, v in staged.items() if k != "row_no" and v is not None}
    if action == "keep" and current is not None:
        values["kept"] = kept_reason(staged, current)
    if action in ("update", "keep") and current is not None:
        values["changes"] = {
            f: [plain(current[f]), plain(staged[f])]
            for f in group.fields
            if staged[f] is not None and _differs(staged[f], current[f])
        }
    return {
        "batch_id": batch_id,
        "sheet": group.sheet,
        "row": staged["row_no"],
        "action": action,
        "category": group.category,
        "asset_code": staged["asset_code"],
        "values": values,
        "errors": None,
    }


STATUS_LABELS = {"renewed": "已更新", "retired": "已报废"}


def kept_reason(staged: dict[str, Any], current: dict[str, Any]) -> str:
    """Why a row was kept, in the uploader's words."""
    status = current.get("status")
    if staged.get("status") == "in_service" and status in STATUS_LABELS:
        return f"台账中该设备状态为“{STATUS_LABELS[status]}”，表中为“在用”：不改回在用"
    changed = current.get("_changed_on")
    return (
        f"台账中该设备于 {changed} 有改动，晚于本表普查日期 {staged.get('surveyed_on')}："
        "保留台账中的内容"
    )


def _differs(new: Any, old: Any) -> bool:
    try:
        return bool(new != old) and float(new) != float(old)
    except (TypeError, ValueError):
        return bool(new != old)


def plain(value: Any) -> Any:
    """A field value as JSON: dates as ISO text, decimals as plain numbers in text."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def jsonable(value: Any) -> Any:
    """A raw cell as JSON that keeps dates apart from text: {"date": "2005-03-01"}."""
    if isinstance(value, str):
        # Excel holds at most 32,767 characters in a cell; a longer text (a hostile file's, of
        # megabytes) is kept cut to that, as the error workbook could not hold more
        return value if len(value) <= MAX_CELL_CHARS else value[:MAX_CELL_CHARS]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        # JSON has no NaN or Infinity (PostgreSQL refuses them): an overflowing number such as
        # 1e999 is kept as the text a reader gave it
        return value if math.isfinite(value) else (None if value != value else str(value))
    if hasattr(value, "isoformat"):
        return {"date": value.isoformat()} if hasattr(value, "year") else str(value)
    return str(value)
