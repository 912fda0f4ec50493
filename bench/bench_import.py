"""Benchmark the survey import end to end: generate a workbook, then parse, validate, stage, upsert
and evaluate flags on the database named by BENCH_DATABASE_URL (default: a scratch SQLite file).

    .venv/bin/python bench/bench_import.py --rows 200000                      # SQLite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/rr_bench_import \
        .venv/bin/python bench/bench_import.py --rows 1000000 --runs 3
    .venv/bin/python bench/bench_import.py --rows 200000 --readers              # reader comparison
    … --one-province                  # a district's survey: every row under one rule pack

Each run imports the file, re-imports it unchanged, then imports a copy with every 10th row edited
(updates with their change-log entries), each in a fresh process; it prints rows/s per stage and
peak RSS.
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
import time
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADERS = [
    "钢瓶编号",
    "行政区划代码",
    "地址",
    "产权单位",
    "使用单位",
    "出厂日期",
    "执行标准",
    "设计使用年限(年)",
    "最近检验日期",
    "检验结论",
    "状态",
    "型号",
    "相态",
    "电子识读标志",
    "充装站",
    "普查日期",
]
DISTRICTS = ["410102", "410103", "410105", "130102", "310101", "140105", "440103", "110105"]
HENAN = ["410102", "410103", "410105", "410104", "410108"]
"""--one-province: a district-level survey, every row under one rule pack (HA)."""
STATIONS = ["城东充装站", "城西充装站", "南郊充装站", "北站充装站", "高新区充装站"]
STREETS = ["建设路", "人民路", "解放路", "中山路", "文化路", "花园路", "经三路", "农业路"]


def generate(
    rows: int, path: Path, seed: int = 7, edit_every: int = 0, districts: list[str] | None = None
) -> None:
    """A realistic single-sheet LPG-cylinder survey: title row, Chinese headers, mixed values.
    With `edit_every`, every n-th row's 使用单位 differs (a resubmitted, corrected survey)."""
    districts = districts or DISTRICTS
    import xlsxwriter

    rng = random.Random(seed)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("液化石油气钢瓶")
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, ["XX区液化石油气钢瓶普查台账（2026年）"])
    ws.write_row(1, 0, HEADERS)
    base = date(1995, 1, 1)
    for i in range(rows):
        made = base + timedelta(days=rng.randrange(0, 30 * 365))
        inspected = made + timedelta(days=rng.randrange(0, 3000))
        ws.write_string(i + 2, 0, f"GP{i:09d}")
        ws.write_string(i + 2, 1, rng.choice(districts))
        ws.write_string(i + 2, 2, f"{rng.choice(STREETS)}{rng.randrange(1, 300)}号")
        ws.write_string(i + 2, 3, "某燃气有限公司")
        user = f"用户{rng.randrange(1, 5000)}"
        ws.write_string(i + 2, 4, f"{user}（更正）" if edit_every and i % edit_every == 0 else user)
        ws.write_datetime(i + 2, 5, made, datefmt)
        ws.write_string(i + 2, 6, rng.choice(["GB 5842-2006", "GB 5842-1996", "GB/T 5842-2022"]))
        ws.write_number(i + 2, 7, rng.choice([8, 8, 8, 15]))
        ws.write_datetime(i + 2, 8, inspected, datefmt)
        ws.write_string(i + 2, 9, rng.choice(["合格", "合格", "合格", "不合格"]))
        ws.write_string(i + 2, 10, "在用")
        ws.write_string(i + 2, 11, rng.choice(["YSP12", "YSP35.5", "YSP118", "YSP-5"]))
        ws.write_string(i + 2, 12, rng.choice(["气相", "液相", "气液双相"]))
        ws.write_string(i + 2, 13, rng.choice(["是", "否"]))
        ws.write_string(i + 2, 14, rng.choice(STATIONS))
        ws.write_datetime(i + 2, 15, date(2026, 10, 1), datefmt)
    wb.close()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_readers(path: Path) -> None:
    """Rows/s and peak RSS of each reader (rows not kept), each in a fresh process."""
    code = (
        "import sys,time,resource\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from app.kit.xlsx import iter_sheet_rows\n"
        "t=time.perf_counter(); n=0\n"
        "for _ in iter_sheet_rows(sys.argv[2], '液化石油气钢瓶', engine=sys.argv[3]): n+=1\n"
        "dt=time.perf_counter()-t\n"
        "rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024\n"
        "print(f'{sys.argv[3]:>9}: {n:,} rows {dt:6.1f} s {n/dt:>9,.0f} rows/s "
        "peak RSS {rss:,.0f} MB')"
    )
    for reader in ("calamine", "openpyxl"):
        subprocess.run([sys.executable, "-c", code, str(ROOT), str(path), reader], check=True)


def run_import(path: Path, url: str) -> None:
    """One end-to-end import into `url` (migrated, regions seeded), printing the stage timings."""
    from app.accounts.scope import SYSTEM
    from app.config import get_settings
    from app.db import make_engine, make_sessionmaker
    from app.imports import files, service, worker

    files.STORAGE = OUT / "imports"
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    started = time.perf_counter()
    with factory() as s, s.begin(), path.open("rb") as fh:
        batch = service.upload_batch(
            s, SYSTEM, fh, path.name, get_settings().imports, dry_run=False
        )
    upload = time.perf_counter() - started
    assert worker.claim_next(factory, batch.id) == batch.id
    out = worker.run_batch(factory, batch.id)
    total = time.perf_counter() - started
    assert out is not None, "import failed"
    timings = {"upload": upload, **out.timings}
    # the batch is committed, and the ledger readable, before the worker settles (worker._settle)
    committed = total - out.timings.get("settle", 0.0)
    for stage, seconds in timings.items():
        rate = out.rows / seconds if seconds else 0
        print(f"  {stage:<8} {seconds:6.1f} s  {rate:>10,.0f} rows/s")
    print(f"  committed {committed:5.1f} s")
    print(
        f"  total    {total:6.1f} s  {out.rows / total:>10,.0f} rows/s   created {out.created:,} "
        f"updated {out.updated:,} unchanged {out.unchanged:,} rejected {out.rejected:,}   "
        f"peak RSS {peak_rss_mb():,.0f} MB"
    )
    print(
        json.dumps(
            {
                **{k: round(v, 2) for k, v in timings.items()},
                "committed": round(committed, 2),
                "total": round(total, 2),
                "peak_rss_mb": round(peak_rss_mb()),
            }
        )
    )
    engine.dispose()


def prepare_db(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from app.db import make_engine, make_sessionmaker
    from app.regions.service import seed_regions

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s, s.begin():
        seed_regions(s)
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--readers", action="store_true", help="compare xlsx readers only")
    parser.add_argument(
        "--no-flags",
        action="store_true",
        help="skip evaluate_ledger (the rules engine's own stage) to time the import's stages",
    )
    parser.add_argument(
        "--first-only",
        action="store_true",
        help="time the first import only (no re-import, no edited copy): for A/B comparisons",
    )
    parser.add_argument(
        "--one-province",
        action="store_true",
        help="districts of one province only (Henan), as a district's survey is",
    )
    parser.add_argument("--stage", choices=["import"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    kind = "lpg_henan" if args.one_province else "lpg"
    districts = HENAN if args.one_province else DISTRICTS
    path = OUT / f"{kind}_{args.rows}.xlsx"
    if not path.exists():
        t = time.perf_counter()
        generate(args.rows, path, districts=districts)
        size = path.stat().st_size / 1e6
        print(f"generated {path.name}: {size:.1f} MB in {time.perf_counter() - t:.0f} s")
    if args.readers:
        bench_readers(path)
        return 0
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{OUT / 'import_bench.db'}"
    if args.stage == "import":
        if args.no_flags:
            from app.rules import service as rules_service

            rules_service.evaluate_ledger = lambda *a, **k: None  # type: ignore[assignment]
        run_import(Path(args.file), url)
        return 0
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)
    prepare_db(url)
    edited = OUT / f"{kind}_{args.rows}_edited.xlsx"
    if not edited.exists():
        generate(args.rows, edited, edit_every=10, districts=districts)
    files = {"first import": path, "re-import (unchanged)": path, "every 10th row edited": edited}
    if args.first_only:
        files = {"first import": path}
    results: dict[str, list[dict[str, float]]] = {label: [] for label in files}
    for run in range(args.runs):
        reset(url)
        for label, file in files.items():
            print(f"run {run + 1}: {label}, {args.rows:,} rows, {url.split(':')[0]}", flush=True)
            done = subprocess.run(
                [sys.executable, __file__, "--stage", "import", "--file", str(file)]
                + ["--rows", str(args.rows)]
                + (["--no-flags"] if args.no_flags else []),
                check=True,
                env={**os.environ, "BENCH_DATABASE_URL": url},
                capture_output=True,
                text=True,
            )
            print(done.stdout, end="", flush=True)
            results[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    for label, runs in results.items():
        print(f"median of {len(runs)}: {label}")
        for key in runs[0]:
            print(f"  {key:<10} {statistics.median(r[key] for r in runs):10.1f}")
    return 0


def reset(url: str) -> None:
    """An empty ledger (and no batches) before each run."""
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        for table in ("asset_flags", "assets", "import_rows", "import_batches"):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    if url.startswith("sqlite"):
        with make_engine(url).connect() as conn:
            conn.exec_driver_sql("VACUUM")
    else:
        with make_engine(url).connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE assets"
            )


if __name__ == "__main__":
    sys.exit(main())
