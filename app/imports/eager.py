"""Applying a large first import while its workbook is still being parsed (PostgreSQL).

The staged path parses every row, then diffs and applies them: for a million-row survey the
database sat idle for the ~13 s of reading and parsing, then the parser for the ~8 s of writing.
When an import is mostly new rows (the ledger holds fewer assets than BULK_SHARE of the sheet's
rows), the rows are handed, a loaded buffer at a time, to a writer thread that owns the job's
connection, while the main thread parses the next rows. Everything stays in the job's one
transaction.

- Rows of a category the ledger had no asset of are all new: they are copied straight into
  assets (Stage.append), without the staging table and the diff.
- Other rows are loaded into the staging table, then diffed and applied a step of STEP_ROWS rows
  at a time (previews and change-log entries included).
- The flags of the new assets are written a step at a time as well (they are numbered above
  every asset before them); those of the assets the ledger had before, once at the end.

Before the first row: assets are locked and lose their secondary indexes (Stage.take_indexes_off)
and the flags are emptied for a rebuild (rules.service.begin_rebuild). After the last: the
indexes of both come back, and the flags' foreign key NOT VALID; the worker checks it and
refreshes the statistics once the job has committed (after_commit).

Measured on a million new LPG cylinders (bench/RESULTS-import.md, round 4, one evening): all
flags at the end 55.6 s, the new assets' flags per step 52.5 s, and copying rows of a new
category straight into assets 46.7 s. Readers of the ledger wait for the commit.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.assets.models import Asset
from app.audit.recorder import record_bulk_changes
from app.imports.staging import Group, Previews, Stage
from app.rules import service as rules_service

STEP_ROWS = 100_000
"""Rows of a group diffed and applied together: fewer steps cost fewer planned statements."""
FLAG_STEP_ROWS = 50_000
"""New assets whose flags are written together. The statements are built once and bound to
each step's ids, so a step costs little more than its rows; the last step is written after
the parse has ended, and a smaller one holds the commit less."""


class ApplyWhileParsing:
    """The writer thread and its steps; `start`, then rows come through Stage.sink, then
    `finish` (or `abort` when parsing failed)."""

    def __init__(
        self,
        session: Session,
        stage: Stage,
        batch_id: int,
        change_set: Any,
        now: datetime,
        today: date,
        preview_rows: int,
    ) -> None:
        self.session, self.stage, self.batch_id = session, stage, batch_id
        self.change_set, self.now, self.today = change_set, now, today
        self.preview_rows = preview_rows
        self.previews: Previews = {}
        self.counts = [0, 0, 0, 0]
        self.timings = {"apply": 0.0, "flags": 0.0}
        self._queue: queue.Queue[tuple[Group, list[tuple[Any, ...]]] | None] = queue.Queue(4)
        self._pending: dict[int, tuple[int, int, int]] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._run: rules_service.Run | None = None
        self._flags = 0
        self._ledger_top = 0
        """The highest asset id before the import: new assets are numbered above it."""
        self._top = 0
        """The highest asset id whose flags are written (or, up to _ledger_top, will be)."""
        self._unflagged: set[str] = set()
        """Categories of the new assets above _top."""
        self._packs: set[str] | None = set()
        """The rule packs of the new assets above _top (None: not known, any)."""
        self._waiting = 0
        self._ledger_categories: set[str] = set()
        self.after_commit: list[str] = []
        """Statements for the worker to run once the job has committed (rules_service.settle)."""

    def start(self) -> None:
        """Lock and strip the ledger and the flags (on the caller's thread), then start writing."""
        self.stage.index()
        self.stage.take_indexes_off()
        self._run = rules_service.begin_rebuild(self.session)
        self._ledger_top = self._top = self.session.scalar(select(func.max(Asset.id))) or 0
        self._ledger_categories = set(self.session.scalars(select(Asset.category).distinct()))
        self.stage.sink = self._put
        self._thread.start()

    def _put(self, group: Group, rows: list[tuple[Any, ...]]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((group, rows))

    def _work(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                group, rows = item
                if group.category not in self._ledger_categories:
                    self._append(group, rows)
                    continue
                self.stage.copy(group, rows)
                lo, hi, n = self._pending.get(group.id, (rows[0][0], 0, 0))
                lo, hi, n = min(lo, rows[0][0]), max(hi, rows[-1][0]), n + len(rows)
                if n >= STEP_ROWS:
                    self._step(group, (lo, hi))
                    self._pending.pop(group.id, None)
                else:
                    self._pending[group.id] = (lo, hi, n)
        except BaseException as exc:  # raised on the parsing thread
            self._error = exc
            while self._queue.get() is not None:
                pass

    def _step(self, group: Group, span: tuple[int, int]) -> None:
        started = time.perf_counter()
        stage = self.stage
        counts = stage.diff(group, self.previews, self.preview_rows, span)
        for i, count in enumerate(counts):
            self.counts[i] += count
        if counts[1]:
            record_bulk_changes(self.session, self.change_set, stage.updates(group, span))
        stage.apply(group, self.batch_id, self.now, self.today, counts, span)
        self.timings["apply"] += time.perf_counter() - started
        if counts[0]:
            self._created(group.category, counts[0], None)

    def _append(self, group: Group, rows: list[tuple[Any, ...]]) -> None:
        """Rows of a category the ledger had no asset of when it was locked: all of them are
        new, so they go straight into assets (Stage.append), counted and previewed as creates."""
        started = time.perf_counter()
        self.stage.append(group, rows, self.batch_id, self.now, self.today)
        n = len(rows)
        self.counts[0] += n
        group.counts = (group.counts[0] + n, *group.counts[1:])
        have = self.previews.setdefault("create", [])
        for row in rows[: max(0, self.preview_rows - len(have))]:
            staged = {"row_no": row[0], **dict(zip(group.fields, row[2:], strict=True))}
            have.append((group, staged, None))
        self.timings["apply"] += time.perf_counter() - started
        assert self._run is not None
        at = 2 + group.fields.index("region_code")
        provinces = {(row[at] or "")[:2] for row in rows}
        self._created(
            group.category, n, {self._run.registry.pack_for_region(p).id for p in provinces}
        )

    def _created(self, category: str, n: int, packs: set[str] | None) -> None:
        """n assets of `category` (under `packs`, when known) were added: write the new assets'
        flags a step at a time."""
        self._unflagged.add(category)
        self._packs = None if packs is None or self._packs is None else self._packs | packs
        self._waiting += n
        if self._waiting >= FLAG_STEP_ROWS:
            self._flag_new_assets()

    def _flag_new_assets(self) -> None:
        """Write the flags of the assets added since the last call (numbered above _top)."""
        if not self._unflagged:
            return
        started = time.perf_counter()
        top = self.session.scalar(select(func.max(Asset.id))) or 0
        assert self._run is not None
        self._flags += rules_service.insert_flags_by_ids(
            self.session, self._run, self._top + 1, top, set(self._unflagged), self._packs
        )
        self._top, self._waiting = top, 0
        self._unflagged.clear()
        self._packs = set()
        self.timings["flags"] += time.perf_counter() - started

    def _drain(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self.stage.sink = None
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Apply the last rows, put the ledger's indexes back, then write and index the whole
        ledger's flags."""
        self.stage.flush()
        self._drain()
        for gid, (lo, hi, _n) in list(self._pending.items()):
            self._step(self.stage.groups[gid], (lo, hi))
        self._pending.clear()
        self._flag_new_assets()
        started = time.perf_counter()
        self.stage.put_indexes_back()
        if self.counts[0] + self.counts[1]:
            # planner statistics for the grown ledger (autovacuum cannot see it before commit),
            # before the flags of the assets it had are written; with none, after the commit
            if self._ledger_top:
                self.session.execute(text("ANALYZE assets"))
            else:
                self.after_commit.append("ANALYZE assets")
        self.timings["apply"] += time.perf_counter() - started
        started = time.perf_counter()
        assert self._run is not None
        # the assets that were in the ledger before (updated or not); the new ones have theirs.
        # With none, no statement is built: building and compiling each pack's took ~1.3 s
        # between the asset and flag index builds of a million-row first import.
        flags = self._flags
        if self._ledger_top:
            flags += rules_service.insert_flags_by_ids(self.session, self._run, 0, self._ledger_top)
        rules_service.finish_rebuild(self.session, self._run, flags, settle_later=True)
        self.after_commit += rules_service.AFTER_REBUILD
        self.timings["flags"] += time.perf_counter() - started

    def abort(self) -> None:
        """Stop the writer after a parsing error (the caller rolls the transaction back)."""
        with contextlib.suppress(BaseException):  # the parsing error is the one reported
            self._drain()
