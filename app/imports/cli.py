"""`python -m app import FILE` (with a progress bar on stderr) and `python -m app worker`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.accounts.scope import SYSTEM
from app.assets.spec import CATEGORIES
from app.config import get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import DomainError
from app.imports import service, worker
from app.imports.models import MODES, ImportBatch


def _bar(done: int, total: int, started: float) -> None:
    """A one-line progress bar on stderr."""
    total = max(total, done, 1)
    width = 30
    filled = int(width * done / total)
    rate = done / max(time.perf_counter() - started, 1e-6)
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} rows {rate:,.0f}/s"
    )
    sys.stderr.flush()


def _queue(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory() as s, s.begin(), Path(args.file).open("rb") as fh:
        batch = service.upload_batch(
            s,
            SYSTEM,
            fh,
            Path(args.file).name,
            get_settings().imports,
            dry_run=args.dry_run,
            category=args.category,
            mode=args.mode,
            overwrite=args.overwrite,
        )
        return batch.id


def _import(args: argparse.Namespace) -> int:
    engine = make_engine(get_settings().database_url)
    factory = make_sessionmaker(engine)
    try:
        try:
            batch_id = _queue(factory, args)
        except DomainError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
        started = time.perf_counter()
        if worker.claim_next(factory, batch_id) is None:
            print(f"import {batch_id} queued; a worker will run it", file=sys.stderr)
            return 0
        worker.run_batch(factory, batch_id, lambda done, total: _bar(done, total, started))
        sys.stderr.write("\n")
        with factory() as s:
            return _report(s.get_one(ImportBatch, batch_id), time.perf_counter() - started)
    finally:
        engine.dispose()


def _report(batch: ImportBatch, seconds: float) -> int:
    print(
        f"import {batch.id}: {batch.status} in {seconds:.1f} s — rows {batch.rows_total:,}, "
        f"created {batch.created:,}, updated {batch.updated:,}, unchanged {batch.unchanged:,}, "
        f"kept {batch.kept:,}, rejected {batch.rejected:,}, skipped {batch.skipped:,}"
    )
    for warning in batch.warnings:
        print(f"warning: {warning}")
    if batch.error:
        print(f"error: {batch.error}")
    if batch.rejected:
        print(f"rejected rows: GET /api/v1/imports/{batch.id}/errors.xlsx")
    return 0 if batch.status in ("validated", "committed") else 1


def _worker(args: argparse.Namespace) -> int:
    engine = make_engine(get_settings().database_url)
    factory = make_sessionmaker(engine)
    try:
        keep_days = get_settings().imports.dry_run_keep_days
        if args.once:
            worker.recover(factory)
            print(f"ran {worker.run_pending(factory)} import batches")
            expired = worker.purge_stale(factory, keep_days)
            print(f"expired {len(expired)} dry runs not committed within {keep_days} days")
            return 0
        from app.rules.tasks import DailyRefresh

        runner = worker.Worker(factory, keep_days)
        runner.start()
        refresher = DailyRefresh(factory).start()
        stop = threading.Event()
        # SIGTERM (docker stop, `serve --workers` shutting down) stops as Ctrl-C does: the job
        # running is left as it is and resumed by the next worker (worker.recover)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print("import worker and daily flag refresh running; Ctrl-C stops them", file=sys.stderr)
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        refresher.stop()
        runner.stop()
        return 0
    finally:
        engine.dispose()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `import` and `worker` to `python -m app`."""
    p = sub.add_parser("import", help="import a survey workbook (.xlsx) into the ledger")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="validate and report only")
    p.add_argument("--category", choices=sorted(CATEGORIES))
    p.add_argument("--mode", choices=MODES, default="partial")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="also apply rows that would move a renewed or retired asset back to in service, "
        "or overwrite a change made after the sheet's survey date (kept otherwise)",
    )
    p.set_defaults(handler=_import)
    p = sub.add_parser("worker", help="run queued import jobs")
    p.add_argument("--once", action="store_true", help="run what is queued, then exit")
    p.set_defaults(handler=_worker)
