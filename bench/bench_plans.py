"""Benchmark annual renewal plans at scale: schedule + store a plan over N due assets, then export
its workbook, on BENCH_DATABASE_URL (default: var/bench/plans.db, SQLite).

    .venv/bin/python bench/bench_plans.py setup --assets 200000     # ledger + flags, bulk inserts
    .venv/bin/python bench/bench_plans.py run --runs 3               # fresh process per stage
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/rr_bench_plans \
        .venv/bin/python bench/bench_plans.py setup --assets 200000

`setup` inserts N assets (app.demo.generate_assets) and gives every one of them one required flag
of its province's pack (mandatory or assess, 20 % coming into scope in 2027-2028, overdue gas pipes)
plus an encouraged flag for 10 %, with Core executemany. `run` times, each in a fresh process,
`POST /plans`'s service call (load flags, schedule, group, store lines, commit) and the export,
and prints medians and peak RSS. Results: bench/RESULTS-plans.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from app.accounts.scope import SYSTEM  # noqa: E402
from app.assets.models import Asset  # noqa: E402
from app.db import make_engine, make_sessionmaker  # noqa: E402
from app.demo import generate_assets  # noqa: E402
from app.plans.schemas import PlanCreate  # noqa: E402
from app.rules.models import AssetFlag  # noqa: E402
from app.rules.packs import get_registry  # noqa: E402

DEFAULT_URL = f"sqlite:///{ROOT / 'var' / 'bench' / 'plans.db'}"
SKIP = {"id", "created_at", "updated_at", "renewed_on", "last_batch_id"}
BUDGET = 1_200_000
"""万元 per year: about a third of the generated need, so the scheduler moves and reports."""


def url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """User + system CPU of this process (the machine is shared: wall time varies with load)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def chunks(rows: Iterator[dict[str, Any]], size: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def migrate(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from app.regions.service import seed_regions

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = db_url
    command.upgrade(cfg, "head")
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session, session.begin():
        seed_regions(session)
    engine.dispose()


def flag_rows(assets: list[tuple[int, str, str]], seed: int) -> Iterator[dict[str, Any]]:
    """One required flag per asset (its pack's rule), an encouraged one for 10 %."""
    rng = random.Random(seed)
    registry = get_registry()
    for asset_id, category, region in assets:
        pack = registry.pack_for_region(region)
        rules = pack.rules_for(category)
        required = [r for r in rules if r.level in ("mandatory", "assess")]
        rule = rng.choice(required)
        in_scope = date(rng.randint(2005, 2025), rng.randint(1, 12), 1)
        if rng.random() < 0.2:
            in_scope = date(rng.choice((2027, 2028)), rng.randint(1, 12), 1)
        due = rule.deadline if rule.due == "deadline" else in_scope
        yield _flag(
            asset_id, category, region, pack, rule.id, rule.level, in_scope, max(due, in_scope)
        )
        optional = [r for r in rules if r.level == "encouraged"]
        if optional and rng.random() < 0.1:
            extra = rng.choice(optional)
            yield _flag(asset_id, category, region, pack, extra.id, "encouraged", in_scope,
                        max(extra.deadline, in_scope))  # fmt: skip


def _flag(
    asset_id: int, category: str, region: str, pack: Any, rule_id: str, level: str,
    in_scope: date, due: date,
) -> dict[str, Any]:  # fmt: skip
    return {
        "asset_id": asset_id, "category": category, "region_code": region, "pack_id": pack.id,
        "pack_version": pack.version, "rule_id": rule_id, "level": level,
        "in_scope_on": in_scope, "due_on": due, "reason": "bench", "facts": {},
        "missing": None, "as_of": date(2026, 11, 22),
    }  # fmt: skip


def setup(n: int, seed: int) -> None:
    db_url = url()
    if db_url.startswith("sqlite"):
        Path(db_url.split("///", 1)[1]).unlink(missing_ok=True)
    migrate(db_url)
    engine = make_engine(db_url)
    started = time.perf_counter()
    columns = [c.key for c in Asset.__table__.columns if c.key not in SKIP]
    with make_sessionmaker(engine)() as session, session.begin():
        generated = ({c: r.get(c) for c in columns} for r in generate_assets(n, seed))
        for chunk in chunks(generated):
            session.execute(insert(Asset), chunk)
        assets = [tuple(r) for r in session.execute(
            select(Asset.id, Asset.category, Asset.region_code).order_by(Asset.id))]  # fmt: skip
        flags = 0
        for chunk in chunks(flag_rows(assets, seed)):  # type: ignore[arg-type]
            session.execute(insert(AssetFlag), chunk)
            flags += len(chunk)
    engine.dispose()
    print(f"setup: {n} assets, {flags} flags in {time.perf_counter() - started:.1f} s ({db_url})")


def _timed(module: Any, name: str, times: dict[str, float]) -> None:
    """Wrap module.name so its duration is recorded (phase breakdown of create_plan)."""
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), cpu_s()
        try:
            return original(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - started
            times[f"{name} cpu"] = times.get(f"{name} cpu", 0.0) + cpu_s() - cpu

    setattr(module, name, wrapper)


def schedule() -> dict[str, Any]:
    from app.plans import service

    times: dict[str, float] = {}
    for name in ("load_candidates", "schedule_plan", "insert_projects", "insert_lines"):
        _timed(service, name, times)
    body = PlanCreate(region="", first_year=2026, last_year=2028, as_of=date(2026, 11, 22),
                      budgets={str(y): BUDGET for y in (2026, 2027, 2028)})  # fmt: skip
    engine = make_engine(url())
    started, cpu = time.perf_counter(), cpu_s()
    with make_sessionmaker(engine)() as session, session.begin():
        plan = service.create_plan(session, SYSTEM, body)
        plan_id, lines = plan.id, plan.stats["candidates"]
    total = time.perf_counter() - started
    engine.dispose()
    return {"seconds": total, "cpu": cpu_s() - cpu, "plan_id": plan_id, "candidates": lines,
            "phases": times, "peak_mb": peak_mb()}  # fmt: skip


def export(plan_id: int) -> dict[str, Any]:
    from app.plans.export import export_plan
    from app.plans.models import Plan

    engine = make_engine(url())
    with tempfile.TemporaryDirectory() as tmp, make_sessionmaker(engine)() as session:
        path = Path(tmp) / "plan.xlsx"
        plan = session.get_one(Plan, plan_id)
        started, cpu = time.perf_counter(), cpu_s()
        export_plan(session, SYSTEM, plan, str(path))
        seconds, cpu = time.perf_counter() - started, cpu_s() - cpu
        size = path.stat().st_size
    engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "mb": size / 2**20, "peak_mb": peak_mb()}


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(runs: int) -> None:
    scheds = [_child("_schedule") for _ in range(runs)]
    exports = [_child("_export", str(s["plan_id"])) for s in scheds]
    for s in scheds:
        phases = ", ".join(f"{k} {v:.2f}" for k, v in s["phases"].items())
        print(f"schedule+store: {s['seconds']:.2f} s, cpu {s['cpu']:.2f} s ({phases}); "
              f"peak {s['peak_mb']:.0f} MB")  # fmt: skip
    for e in exports:
        print(f"export: {e['seconds']:.2f} s, cpu {e['cpu']:.2f} s, {e['mb']:.1f} MB; "
              f"peak {e['peak_mb']:.0f} MB")  # fmt: skip
    med = statistics.median
    print(f"candidates (lines): {scheds[0]['candidates']}")
    print(f"median schedule+store {med(s['seconds'] for s in scheds):.2f} s "
          f"(cpu {med(s['cpu'] for s in scheds):.2f} s), "
          f"peak {max(s['peak_mb'] for s in scheds):.0f} MB")  # fmt: skip
    print(f"median export {med(e['seconds'] for e in exports):.2f} s "
          f"(cpu {med(e['cpu'] for e in exports):.2f} s), "
          f"peak {max(e['peak_mb'] for e in exports):.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("setup")
    p.add_argument("--assets", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=2026)
    p = sub.add_parser("run")
    p.add_argument("--runs", type=int, default=3)
    sub.add_parser("_schedule")
    p = sub.add_parser("_export")
    p.add_argument("plan_id", type=int)
    args = parser.parse_args()
    if args.cmd == "setup":
        setup(args.assets, args.seed)
    elif args.cmd == "run":
        run(args.runs)
    elif args.cmd == "_schedule":
        print(json.dumps(schedule()))
    else:
        print(json.dumps(export(args.plan_id)))


if __name__ == "__main__":
    main()
