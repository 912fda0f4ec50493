"""Benchmark the change log's bulk path: one change set with N per-asset entries, as an import
commit writes them (record_bulk_changes, Core executemany), on BENCH_DATABASE_URL (default: a
scratch SQLite file). Also times the scoped change-list page and one asset's history afterwards.

    .venv/bin/python bench/bench_change_log.py --rows 100000
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/rr_bench_audit \
        .venv/bin/python bench/bench_change_log.py --rows 100000

Recorded 2026-11-29, 100,000 entries (half creates of 12 fields, half 2-field updates), medians
of 3 runs on 2 shared cores while other suites ran (load average 5; a quiet run was ~1.6x faster):

| database | write one change set | entries/s | scoped page of 50 | one asset's history |
|---|---|---|---|---|
| SQLite (executemany) | 3.6 s | 27.7k | 5.7 ms | 1.2 ms |
| PostgreSQL (COPY) | 5.8 s (2.7 s quiet) | 17.2k (37.6k quiet) | 5.6 ms | 1.8 ms |

On PostgreSQL, COPY took 3.4-3.8 s where Core executemany took 7.2-7.9 s in the same session,
hence the COPY path. About 0.6 s of each run is Python (diff + JSON-safe values).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from app.accounts.scope import Principal  # noqa: E402
from app.audit import queries  # noqa: E402
from app.audit.models import Change, ChangeSet  # noqa: E402
from app.audit.recorder import ChangeRow, open_change_set, record_bulk_changes  # noqa: E402
from app.db import make_engine, make_sessionmaker  # noqa: E402

DISTRICTS = ["410102", "410103", "410105", "440106", "440304", "310101"]
ACTOR = Principal(account_id=1, name="bench", role="admin")


def rows(n: int) -> list[ChangeRow]:
    """Half creates (12 fields), half updates (3 of 12 fields changed), like a re-import."""
    out: list[ChangeRow] = []
    for i in range(n):
        after = {
            "asset_code": f"GP{i:09d}",
            "category": "lpg_cylinder",
            "region_code": DISTRICTS[i % len(DISTRICTS)],
            "manufactured_on": date(2010 + i % 12, 1 + i % 12, 1),
            "standard": "GB 5842-2006",
            "design_life_years": 8,
            "last_inspection_on": date(2022, 1 + i % 12, 1),
            "inspection_result": "pass",
            "status": "in_service",
            "model": "YSP12",
            "filling_station": "城东充装站",
            "unit_cost": Decimal("0.0350"),
        }
        before = None if i % 2 else {**after, "status": "renewing", "model": "YSP35.5"}
        out.append(
            {
                "action": "create" if before is None else "update",
                "object_type": "asset",
                "object_id": i + 1,
                "region_code": str(after["region_code"]),
                "category": "lpg_cylinder",
                "before": before,
                "after": after,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        cfg = Config(str(ROOT / "alembic.ini"))
        cfg.attributes["database_url"] = url
        command.upgrade(cfg, "head")
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        data = rows(args.rows)
        timings = []
        for _ in range(args.runs):
            with engine.begin() as conn:
                conn.execute(delete(Change))
                conn.execute(delete(ChangeSet))
            started = time.perf_counter()
            with factory() as session, session.begin():
                change_set = open_change_set(session, ACTOR, kind="import", batch_id=1)
                written = record_bulk_changes(session, change_set, data)
            timings.append(time.perf_counter() - started)
        median = statistics.median(timings)
        print(f"{engine.dialect.name}: {written} entries in one change set, median {median:.2f} s")
        print(
            f"  {written / median:,.0f} entries/s (runs: {', '.join(f'{t:.2f}' for t in timings)})"
        )
        district = Principal(account_id=2, name="d", role="viewer", region_prefix="410102")
        with factory() as session:
            for label, call in (
                (
                    "scoped page of 50 (district)",
                    lambda: queries.list_changes(
                        session, district, queries.ChangeFilters(), limit=50
                    ),
                ),
                (
                    "one asset's history",
                    lambda: queries.object_history(
                        session, "asset", args.rows // 2, limit=50, cursor=None
                    ),
                ),
            ):
                started = time.perf_counter()
                for _ in range(20):
                    call()
                print(f"  {label}: {(time.perf_counter() - started) / 20 * 1000:.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
