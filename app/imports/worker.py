"""Import workers: claim queued batches, run them, and recover batches whose worker died.

The inline worker is a thread of the server process (settings.imports.inline_worker);
`python -m app worker` runs a standalone one. Claiming is `FOR UPDATE SKIP LOCKED` on
PostgreSQL and a guarded UPDATE on SQLite, so any number of workers can share the queue.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, case, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import Account
from app.accounts.scope import SYSTEM, Principal
from app.config import Settings, get_settings
from app.db import utcnow
from app.errors import DomainError
from app.imports import files
from app.imports.jobs import ERRORS_SHOWN, Outcome, run_job
from app.imports.models import ImportBatch, ImportRow
from app.kit.timestamps import as_utc
from app.rules import service as rules_service

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0
STALE_AFTER = timedelta(minutes=15)
"""A running batch whose heartbeat is older than this is taken as abandoned."""
HOST = socket.gethostname()


def worker_id() -> str:
    """host:pid:thread of the running worker (tells recovery whether it is still alive)."""
    return f"{HOST}:{os.getpid()}:{threading.get_ident()}"


def claim_next(factory: sessionmaker[Session], batch_id: int | None = None) -> int | None:
    """Mark the oldest queued batch (or the given one) running and return its id."""
    with factory() as s, s.begin():
        stmt = select(ImportBatch.id).where(ImportBatch.status == "queued")
        if batch_id is not None:
            stmt = stmt.where(ImportBatch.id == batch_id)
        stmt = stmt.order_by(ImportBatch.id).limit(1)
        if s.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        found = s.scalar(stmt)
        if found is None:
            return None
        now = utcnow()
        claimed = s.execute(
            update(ImportBatch)
            .where(ImportBatch.id == found, ImportBatch.status == "queued")
            .values(status="running", worker=worker_id(), started_at=now, heartbeat_at=now)
        )
        return found if claimed.rowcount == 1 else None  # type: ignore[attr-defined]


def _principal(session: Session, batch: ImportBatch) -> Principal:
    """The uploader as they are now (a revoked or demoted account cannot finish an import)."""
    if batch.account_id is None:
        return SYSTEM
    account = session.get(Account, batch.account_id)
    if account is None or not account.active or account.role not in ("admin", "editor"):
        raise DomainError("上传人的账号已停用或已无导入权限,导入未完成;请由有权限的账号重新上传")
    return Principal(
        account.id, account.name, account.role, account.region_prefix, account.category
    )


def run_batch(
    factory: sessionmaker[Session],
    batch_id: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> Outcome | None:
    """Run a claimed batch in one transaction; on any error the ledger is untouched and the batch
    is marked failed."""
    settings = get_settings().imports

    def tick(done: int) -> None:
        """Progress and heartbeat, in their own short transaction."""
        with factory() as s, s.begin():
            s.execute(
                update(ImportBatch)
                .where(ImportBatch.id == batch_id)
                .values(
                    rows_done=done,
                    # the total is an estimate from the sheets' dimensions: a sheet longer than
                    # it said raises it, so progress never passes 100 %
                    rows_total=case(
                        (ImportBatch.rows_total < done, done), else_=ImportBatch.rows_total
                    ),
                    heartbeat_at=utcnow(),
                )
            )
        if on_progress is not None:
            on_progress(done, total)

    total = 0
    try:
        with factory() as s, s.begin():
            batch = s.get_one(ImportBatch, batch_id)
            total = batch.rows_total
            principal = _principal(s, batch)
            out = run_job(
                s,
                batch,
                files.path_of(batch),
                principal,
                tick,
                settings.max_rows,
                settings.max_read_mb,
            )
            _finish(batch, out)
    except DomainError as exc:
        _fail(factory, batch_id, exc.detail)
        return None
    except Exception as exc:
        log.exception("import batch %s failed", batch_id)
        _fail(factory, batch_id, f"服务器内部错误,导入未完成: {type(exc).__name__}: {exc}")
        return None
    if batch.status != "validated":
        files.remove(batch_id)
    if out.after_commit:
        _settle(factory, batch_id, out)
    return out


def _settle(factory: sessionmaker[Session], batch_id: int, out: Outcome) -> None:
    """After the commit (the batch is already committed for its readers): what the job left for
    then. A failure here changes nothing the import wrote; the next worker start retries it."""
    started = time.perf_counter()
    try:
        with factory() as s:
            engine = s.get_bind()
        assert isinstance(engine, Engine)
        rules_service.settle(engine, out.after_commit)
    except Exception:
        log.exception("settling import batch %s", batch_id)
    out.timings["settle"] = time.perf_counter() - started


def _finish(batch: ImportBatch, out: Outcome) -> None:
    """Record the outcome on the batch (inside the job's transaction)."""
    batch.rows_done = batch.rows_total = out.rows
    batch.created, batch.updated, batch.unchanged = out.created, out.updated, out.unchanged
    batch.kept = out.kept
    batch.rejected, batch.skipped = out.rejected, out.skipped
    batch.warnings = out.warnings
    batch.sheets = out.sheets
    batch.finished_at = utcnow()
    if out.applied:
        batch.status = "committed"
    elif batch.dry_run:
        batch.status = "validated"
    else:
        batch.status = "failed"
        batch.error = (
            f"有 {out.rejected} 行被拒绝,且导入方式为全部或全不(mode=all_or_nothing):"
            "未写入任何数据;请下载 errors.xlsx,改正这些行后重新上传"
        )


def _fail(factory: sessionmaker[Session], batch_id: int, message: str) -> None:
    with factory() as s, s.begin():
        s.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(status="failed", error=message[:2000], finished_at=utcnow())
        )
    files.remove(batch_id)


def recover(factory: sessionmaker[Session]) -> int:
    """Mark failed the running batches whose worker is gone (dead local pid or stale heartbeat),
    and finish settling a committed import whose worker stopped before (_settle)."""
    now = utcnow()
    failed = 0
    with factory() as s, s.begin():
        engine = s.get_bind()
        for batch in s.scalars(select(ImportBatch).where(ImportBatch.status == "running")):
            beat = as_utc(batch.heartbeat_at or now)
            if _alive(batch.worker) and beat > now - STALE_AFTER:
                continue
            batch.status, batch.finished_at = "failed", now
            batch.error = (
                "interrupted: the worker stopped (restart or crash); the ledger is unchanged"
            )
            failed += 1
    assert isinstance(engine, Engine)
    rules_service.settle_leftovers(engine)
    return failed


def _alive(worker: str | None) -> bool:
    """Whether the process that claimed a batch still runs (unknown for other hosts: assume so)."""
    host, _, rest = (worker or "").partition(":")
    pid = rest.partition(":")[0]
    if host != HOST or not pid.isdigit():
        return True
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


LIVE_STATUSES = ("queued", "running", "validated")
LEFTOVER_AGE = timedelta(hours=1)
PURGE_EVERY = timedelta(hours=1)


def purge_stale(factory: sessionmaker[Session], keep_days: int) -> list[int]:
    """Expire dry runs nobody committed within `keep_days` (their workbook is deleted, the batch
    is marked failed with the reason, a later commit is a 409), and delete stored files that no
    batch will read again. Returns the expired batch ids."""
    cutoff = utcnow() - timedelta(days=keep_days)
    with factory() as s, s.begin():
        # one conditional UPDATE: a dry run whose commit was requested meanwhile is no longer
        # `validated` and is left alone
        expired = sorted(
            s.scalars(
                update(ImportBatch)
                .where(ImportBatch.status == "validated", ImportBatch.finished_at < cutoff)
                .values(
                    status="failed",
                    error=f"试导入已过期:{keep_days} 天内未提交;如需导入,请重新上传该工作簿",
                )
                .returning(ImportBatch.id)
            )
        )
        live = set(s.scalars(select(ImportBatch.id).where(ImportBatch.status.in_(LIVE_STATUSES))))
    for batch_id in expired:
        files.remove(batch_id)
    for path in files.leftovers(live, LEFTOVER_AGE):
        files.delete(path)
    if expired:
        log.info("expired %d uncommitted dry runs: %s", len(expired), expired)
    return expired


def _libc() -> Any:
    with contextlib.suppress(OSError):
        return ctypes.CDLL("libc.so.6")
    return None


M_MMAP_THRESHOLD = -3
"""mallopt's parameter (glibc malloc.h)."""


def tune_allocator() -> None:
    """Blocks of 1 MB or more come straight from the system and go back to it when freed.

    glibc raises its mmap threshold each time such a block is freed (up to 32 MB), after which a
    job's large texts and calamine's buffers are carved from the heap and stay there: the server
    ended a job of long strings 150 MB above idle and the next such job peaked 420 MB above that.
    A fixed threshold keeps them out of the heap (workers call this once)."""
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)


def release_memory() -> None:
    """Hand the memory a finished job freed back to the system (glibc keeps freed blocks in its
    arenas: after a 76 MB workbook of long strings the server stayed 400 MB above idle, and the
    next job's peak stacked on that)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.malloc_trim(0)


def run_pending(factory: sessionmaker[Session]) -> int:
    """Run queued batches until none is left (tests, `python -m app worker --once`)."""
    ran = 0
    while (batch_id := claim_next(factory)) is not None:
        run_batch(factory, batch_id)
        ran += 1
    return ran


class Worker:
    """A background thread that runs queued batches; `wake()` after enqueuing one."""

    def __init__(self, factory: sessionmaker[Session], keep_days: int = 7) -> None:
        self.factory = factory
        self.keep_days = keep_days
        self._purged_at = utcnow() - PURGE_EVERY
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="import-worker", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        tune_allocator()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current batch and wait for it."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def wake(self) -> None:
        """Look for queued batches now instead of at the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                recover(self.factory)
                if run_pending(self.factory):
                    release_memory()
                if utcnow() - self._purged_at >= PURGE_EVERY:
                    self._purged_at = utcnow()
                    purge_stale(self.factory, self.keep_days)
            except Exception:
                log.exception("import worker loop error")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()


def start_import_worker(factory: sessionmaker[Session], settings: Settings) -> Worker | None:
    """Start the inline worker thread when the settings ask for one."""
    if not settings.imports.inline_worker:
        return None
    worker = Worker(factory, settings.imports.dry_run_keep_days)
    worker.start()
    return worker


def first_errors(session: Session, batch_id: int) -> list[dict[str, object]]:
    """The first rejected rows' errors, flattened, for the batch summary."""
    rows = session.scalars(
        select(ImportRow.errors)
        .where(ImportRow.batch_id == batch_id, ImportRow.action == "reject")
        .order_by(ImportRow.id)
        .limit(ERRORS_SHOWN)
    )
    out: list[dict[str, object]] = []
    for errors in rows:
        out.extend({k: v for k, v in e.items() if k != "col"} for e in errors or [])
    return out[:ERRORS_SHOWN]
