"""Applying a large first import while its workbook is still being parsed (PostgreSQL).

The staged path parses every row, then diffs and applies them: for a million-row survey the
database sat idle for the ~13 s of reading and parsing, then the parser for the ~8 s of writing.
When an import is mostly new rows (the ledger holds fewer assets than BULK_SHARE of the sheet's
rows), the rows are handed, a loaded buffer at a time, to a writer thread that owns the job's
connection: it loads them into the staging table, then diffs and applies each step of STEP_ROWS
rows (previews and change-log entries included) while the main thread parses the next rows.
Everything stays in the job's one transaction.

Before the first row: assets are locked and lose their secondary indexes (Stage.take_indexes_off)
and the flags are emptied for a rebuild (rules.service.begin_rebuild). After the last: the
indexes come back and the whole ledger's flags are written and indexed at once. Writing the
flags step by step as well was measured slower (62 s against 51 s for a million rows): on two
cores the rules' statements and the parser then compete for the same CPU, and each step plans
its statements again. Readers of the ledger wait for the commit.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from datetime import date, datetime
from typing import Any

from sqlalchemy import text, true
from sqlalchemy.orm import Session

from app.audit.recorder import record_bulk_changes
from app.imports.staging import Group, Previews, Stage
from app.rules import service as rules_service

STEP_ROWS = 100_000
"""Rows of a group diffed and applied together: fewer steps cost fewer planned statements."""


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
        self.counts = [0, 0, 0]
        self.timings = {"apply": 0.0, "flags": 0.0}
        self._queue: queue.Queue[tuple[Group, list[tuple[Any, ...]]] | None] = queue.Queue(4)
        self._pending: dict[int, tuple[int, int, int]] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._run: rules_service.Run | None = None

    def start(self) -> None:
        """Lock and strip the ledger and the flags (on the caller's thread), then start writing."""
        self.stage.index()
        self.stage.take_indexes_off()
        self._run = rules_service.begin_rebuild(self.session)
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
        started = time.perf_counter()
        self.stage.put_indexes_back()
        if self.counts[0] + self.counts[1]:
            # planner statistics for the grown ledger (autovacuum cannot see it before commit)
            self.session.execute(text("ANALYZE assets"))
        self.timings["apply"] += time.perf_counter() - started
        started = time.perf_counter()
        assert self._run is not None
        flags = rules_service.insert_flags(self.session, self._run, true())
        rules_service.finish_rebuild(self.session, self._run, flags)
        self.timings["flags"] += time.perf_counter() - started

    def abort(self) -> None:
        """Stop the writer after a parsing error (the caller rolls the transaction back)."""
        with contextlib.suppress(BaseException):  # the parsing error is the one reported
            self._drain()
