"""Benchmark the rules engine on a generated ledger (issue #3): full evaluation, due-list pages,
stats and exports, on PostgreSQL and on a SQLite file.

    .venv/bin/python bench/bench_rules.py                         # both databases, 1M assets
    .venv/bin/python bench/bench_rules.py --db pg --n 1000000 --keep
    .venv/bin/python bench/bench_rules.py --db sqlite --n 1000000 --reuse --skip-eval
    .venv/bin/python bench/bench_rules.py --db pg --reuse --per-rule --explain

PostgreSQL: a scratch database `rr_bench_rules` on 127.0.0.1:5432 (user postgres, trust auth),
created with psql and dropped at the end unless --keep. SQLite: bench/out/rules_<N>.db (gitignored).
Both: `alembic upgrade head`, regions seeded, N assets from app.demo.generate_assets (COPY on
PostgreSQL, executemany on SQLite), ANALYZE, then

  * evaluate_ledger over every asset, --runs times (median; committed each time);
  * GET /api/v1/due (limit 50) per filter scenario and via next_cursor, --requests each (p50/p95),
    in-process with the FastAPI TestClient and auth disabled;
  * GET /api/v1/stats?region=41 (median);
  * GET /api/v1/due?format=xlsx and format=csv for a filter of ~100k assets, each in a fresh child
    process (wall time, peak RSS from ru_maxrss, rows).

Results are printed and written to bench/RESULTS-rules.md (--results to change; --no-write to skip).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS-rules.md"
sys.path.insert(0, str(ROOT))

PG_ADMIN = [
    "psql",
    "-h",
    "127.0.0.1",
    "-p",
    "5432",
    "-U",
    "postgres",
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
]
PG_DB = "rr_bench_rules"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"

# Targets of issue #3 (seconds, or MB for memory).
T_EVAL = 20.0
T_PAGE_P50 = 0.020
T_PAGE_P95 = 0.050
T_STATS = 0.5
T_XLSX = 15.0
T_XLSX_MB = 400.0

DUE_SCENARIOS: list[tuple[str, str]] = [
    ("none", ""),
    ("region=41", "region=41"),
    ("region=4101 + category=gas_pipe", "region=4101&category=gas_pipe"),
    ("category=elevator + due_by=2027-12-31", "category=elevator&due_by=2027-12-31"),
    ("overdue=true", "overdue=true"),
    ("level=encouraged", "level=encouraged"),
    ("rule=GAS-GREY-IRON", "rule=GAS-GREY-IRON"),
]
CURSOR_SCENARIOS = ["", "region=41", "category=elevator&due_by=2027-12-31", "overdue=true"]
"""Filters whose later pages are walked through next_cursor."""

EXPORT_CANDIDATES = [
    "region=4101",
    "region=41",
    "region=31",
    "region=13",
    "region=44",
    "region=14",
    "category=lpg_cylinder",
    "category=gas_pipe",
    "category=elevator",
    "region=41&category=gas_pipe",
    "region=41&category=elevator",
    "region=4401",
    "region=4403",
]
"""Filters considered for the ~100k-row export; the one closest to 100,000 assets is used."""


# --------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}Z] {msg}", flush=True)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def p50_p95(times: list[float]) -> str:
    return f"p50 {median(times) * 1e3:7.1f} ms  p95 {pct(times, 95) * 1e3:7.1f} ms"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def psql(sql: str, db: str = "postgres") -> str:
    res = subprocess.run(
        [*PG_ADMIN, "-d", db, "-At", "-c", sql], check=True, capture_output=True, text=True
    )
    return res.stdout.strip()


def sqlite_url(n: int) -> str:
    return f"sqlite:///{OUT / f'rules_{n}.db'}"


def url_for(kind: str, n: int) -> str:
    return PG_URL if kind == "pg" else sqlite_url(n)


def settings_for(url: str) -> Any:
    from app.config import AuthSettings, ImportSettings, Settings

    return Settings(
        database_url=url,
        env="test",
        auth=AuthSettings(enabled=False),
        imports=ImportSettings(inline_worker=False),
    )


# --------------------------------------------------------------------------- setup


def create_database(kind: str, n: int) -> None:
    if kind == "pg":
        psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        psql(f"CREATE DATABASE {PG_DB}")
    else:
        path = Path(sqlite_url(n).split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)


def drop_database(kind: str, n: int) -> None:
    if kind == "pg":
        psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    else:
        path = Path(sqlite_url(n).split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def migrate(url: str, attempts: int = 6) -> None:
    """alembic upgrade head; other engineers' migrations may be half-written, so retry a while."""
    from alembic import command
    from alembic.config import Config

    from app.config import ROOT as APP_ROOT

    for attempt in range(1, attempts + 1):
        try:
            cfg = Config(str(APP_ROOT / "alembic.ini"))
            cfg.attributes["database_url"] = url
            command.upgrade(cfg, "head")
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            log(f"alembic upgrade head failed ({exc!r}); retrying in 120 s")
            time.sleep(120)


def asset_columns() -> list[str]:
    from app.assets.models import Asset

    return [c.key for c in Asset.__table__.columns if c.key != "id"]


def asset_rows(n: int, seed: int) -> Iterator[dict[str, Any]]:
    from app.demo import generate_assets

    now = datetime.now(UTC)
    for row in generate_assets(n, seed):
        row.setdefault("created_at", now)
        row.setdefault("updated_at", now)
        yield row


def load_assets(kind: str, url: str, n: int, seed: int) -> float:
    """Bulk-load n generated assets; returns seconds."""
    cols = asset_columns()
    started = time.perf_counter()
    if kind == "pg":
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=" + PG_DB) as conn:
            with conn.cursor() as cur:
                stmt = f"COPY assets ({', '.join(cols)}) FROM STDIN"
                with cur.copy(stmt) as copy:
                    for row in asset_rows(n, seed):
                        copy.write_row(tuple(row.get(c) for c in cols))
            conn.commit()
    else:
        from sqlalchemy import Table, insert

        from app.assets.models import Asset
        from app.db import make_engine

        engine = make_engine(url)
        ins = insert(cast(Table, Asset.__table__))
        batch: list[dict[str, Any]] = []
        with engine.begin() as conn:
            for row in asset_rows(n, seed):
                batch.append({c: row.get(c) for c in cols})
                if len(batch) == 20_000:
                    conn.execute(ins, batch)
                    batch = []
            if batch:
                conn.execute(ins, batch)
        engine.dispose()
    return time.perf_counter() - started


def analyze(url: str) -> float:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    if url.startswith("sqlite"):
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def count_assets(url: str) -> int:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM assets")).scalar_one())
    except Exception:
        return -1
    finally:
        engine.dispose()


def setup(kind: str, n: int, seed: int) -> dict[str, float]:
    url = url_for(kind, n)
    log(f"{kind}: creating database")
    create_database(kind, n)
    started = time.perf_counter()
    migrate(url)
    from app.db import make_engine, make_sessionmaker
    from app.regions.service import seed_regions
    from app.rules.service import sync_rule_packs

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        seed_regions(session)
        sync_rule_packs(session)
    engine.dispose()
    migrate_s = time.perf_counter() - started
    log(f"{kind}: migrated and seeded in {migrate_s:.1f} s; loading {n:,} assets")
    load_s = load_assets(kind, url, n, seed)
    log(f"{kind}: loaded {n:,} assets in {load_s:.1f} s ({n / load_s:,.0f} rows/s)")
    analyze_s = analyze(url)
    log(f"{kind}: ANALYZE in {analyze_s:.1f} s")
    return {"migrate_s": migrate_s, "load_s": load_s, "analyze_s": analyze_s}


# --------------------------------------------------------------------------- evaluation


class StatementTimer:
    """Times each INSERT … SELECT of evaluate_ledger, keyed by (pack, rule)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        from app.rules.packs import get_registry

        reg = get_registry()
        self.packs = set(reg.packs)
        self.rules = {r for p in reg.packs.values() for r in p.rules}
        self.times: dict[str, float] = {}
        self.rows: dict[str, int] = {}
        self._t0 = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_a: Any) -> None:
        self._t0 = time.perf_counter()

    def _after(
        self, _conn: Any, cursor: Any, stmt: str, params: Any, _ctx: Any, _many: bool
    ) -> None:
        dt = time.perf_counter() - self._t0
        values = list(params.values()) if isinstance(params, dict) else list(params or [])
        head = stmt.lstrip().split(None, 1)[0].upper()
        if head == "INSERT" and "asset_flags" in stmt[:40]:
            pack = next((v for v in values if isinstance(v, str) and v in self.packs), "?")
            rule = next((v for v in values if isinstance(v, str) and v in self.rules), "?")
            key = f"{pack}/{rule}"
        else:
            m = re.search(r"\b(?:FROM|UPDATE|ANALYZE|INTO)\s+(\w+)", stmt[:200], re.IGNORECASE)
            key = f"{head} {m.group(1)}" if m else " ".join(stmt.split()[:2])
        self.times[key] = self.times.get(key, 0.0) + dt
        self.rows[key] = self.rows.get(key, 0) + max(getattr(cursor, "rowcount", 0) or 0, 0)


def vacuum_flags(url: str) -> float:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM asset_flags"))
    engine.dispose()
    return time.perf_counter() - started


def evaluate(url: str, runs: int, per_rule: bool, vacuum: bool) -> dict[str, Any]:
    from app.db import make_engine, make_sessionmaker
    from app.rules.service import evaluate_ledger

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    timer = StatementTimer(engine) if per_rule else None
    walls: list[float] = []
    inner: list[float] = []
    summary = None
    for run in range(runs):
        if run and vacuum:
            # autovacuum is off on the benchmark server: clear the previous run's dead flags
            # as autovacuum would between two evaluations (not timed)
            log(f"  VACUUM asset_flags before run {run + 1}: {vacuum_flags(url):.1f} s")
        if timer:
            timer.times.clear()
            timer.rows.clear()
        started = time.perf_counter()
        with factory() as session, session.begin():
            summary = evaluate_ledger(session)
        wall = time.perf_counter() - started
        walls.append(wall)
        inner.append(summary.seconds)
        log(f"  evaluate_ledger run {run + 1}: {wall:.1f} s incl. commit ({summary})")
    out: dict[str, Any] = {
        "walls": walls,
        "inner": inner,
        "median": median(walls),
        "flags": summary.flags if summary else 0,
        "assets": summary.assets if summary else 0,
    }
    if timer:
        top = sorted(timer.times.items(), key=lambda kv: -kv[1])
        out["per_rule"] = [(k, v, timer.rows.get(k, 0)) for k, v in top]
        per_pack: dict[str, float] = defaultdict(float)
        for k, v in timer.times.items():
            per_pack[k.split("/")[0] if "/" in k else k] += v
        out["per_pack"] = dict(per_pack)
    engine.dispose()
    return out


# --------------------------------------------------------------------------- HTTP


def make_client(url: str) -> Any:
    from fastapi.testclient import TestClient

    from app.main import create_app

    return TestClient(create_app(settings_for(url)), raise_server_exceptions=True)


def timed_get(client: Any, path: str) -> tuple[float, Any]:
    started = time.perf_counter()
    res = client.get(path)
    dt = time.perf_counter() - started
    if res.status_code != 200:
        raise RuntimeError(f"GET {path} -> {res.status_code}: {res.text[:300]}")
    return dt, res


def bench_due(client: Any, requests: int, rounds: int) -> dict[str, dict[str, Any]]:
    """p50/p95 per scenario over rounds × requests; rounds interleave the scenarios so that a
    burst of load on the shared machine does not land on one scenario only."""
    out: dict[str, dict[str, Any]] = {}
    for _ in range(rounds):
        for label, query in DUE_SCENARIOS:
            path = f"/api/v1/due?limit=50{'&' + query if query else ''}"
            for _ in range(3):
                timed_get(client, path)
            d = out.setdefault(label, {"times": [], "items": 0, "path": path})
            for _ in range(requests):
                dt, res = timed_get(client, path)
                d["times"].append(dt)
                d["items"] = len(res.json()["items"])
        for query in CURSOR_SCENARIOS:
            label = f"pages 2..{requests + 1} via next_cursor ({query or 'none'})"
            path = f"/api/v1/due?limit=50{'&' + query if query else ''}"
            _, res = timed_get(client, path)
            cursor = res.json()["next_cursor"]
            d = out.setdefault(label, {"times": [], "items": 0, "path": path + "&cursor=…"})
            pages = 0
            while cursor and pages < requests:
                dt, res = timed_get(client, f"{path}&cursor={cursor}")
                d["times"].append(dt)
                cursor = res.json()["next_cursor"]
                pages += 1
            d["items"] = pages
    for label, d in out.items():
        log(f"  due {label:<40} {p50_p95(d['times'])}  (n={len(d['times'])})")
    return out


def bench_stats(client: Any, requests: int) -> dict[str, dict[str, Any]]:
    out = {}
    for label, path in [
        ("stats region=41", "/api/v1/stats?region=41"),
        ("stats region=4101", "/api/v1/stats?region=4101"),
        ("stats national", "/api/v1/stats"),
    ]:
        timed_get(client, path)
        times = [timed_get(client, path)[0] for _ in range(requests)]
        out[label] = {"times": times, "path": path}
        log(f"  {label:<44} {p50_p95(times)}")
    return out


# --------------------------------------------------------------------------- exports


def due_counts(url: str, queries: list[str]) -> dict[str, int]:
    """Assets in the due list of each filter (the export's row count), counted in SQL."""
    from urllib.parse import parse_qs

    from sqlalchemy import distinct, func, select

    from app.accounts.scope import SYSTEM
    from app.db import make_engine, make_sessionmaker
    from app.kit.dates import today
    from app.rules.models import AssetFlag
    from app.rules.queries import DueFilters, _matching

    engine = make_engine(url)
    out = {}
    with make_sessionmaker(engine)() as session:
        for q in queries:
            args = {k: v[0] for k, v in parse_qs(q).items()}
            f = DueFilters(region=args.get("region"), category=args.get("category"))
            out[q] = int(
                session.scalar(
                    select(func.count(distinct(AssetFlag.asset_id))).where(
                        _matching(AssetFlag, SYSTEM, f, today())
                    )
                )
                or 0
            )
    engine.dispose()
    return out


def export_child(url: str, fmt: str, query: str) -> None:
    """Run in a fresh process: one export request, streamed to a file; prints JSON."""
    client = make_client(url)
    with client:
        base_rss = peak_rss_mb()
        path = OUT / f"export.{fmt}"
        started = time.perf_counter()
        first = None
        size = 0
        with (
            client.stream("GET", f"/api/v1/due?format={fmt}&{query}") as res,
            path.open("wb") as fh,
        ):
            if res.status_code != 200:
                raise RuntimeError(f"export -> {res.status_code}")
            for chunk in res.iter_bytes():
                if first is None:
                    first = time.perf_counter() - started
                fh.write(chunk)
                size += len(chunk)
        seconds = time.perf_counter() - started
        peak = peak_rss_mb()
    if fmt == "csv":
        with path.open("rb") as fh:
            rows = sum(1 for _ in fh) - 1
    else:
        rows = xlsx_rows(path)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "first_byte": first,
                "bytes": size,
                "rows": rows,
                "peak_mb": peak,
                "base_mb": base_rss,
            }
        )
    )


def xlsx_rows(path: Path) -> int:
    """Data rows of the first sheet, from its <dimension> (xlsxwriter writes it up front)."""
    with zipfile.ZipFile(path) as zf, zf.open("xl/worksheets/sheet1.xml") as fh:
        head = fh.read(4096).decode("utf-8", "replace")
    m = re.search(r'<dimension ref="[A-Z]+1:[A-Z]+(\d+)"', head)
    return int(m.group(1)) - 1 if m else -1


def bench_exports(url: str, n: int, runs: int, query: str | None) -> dict[str, Any]:
    if query is None:
        counts = due_counts(url, EXPORT_CANDIDATES)
        target = 100_000 * n / 1_000_000
        # the candidate closest to ~100k assets, preferring one not below it
        enough = {q: c for q, c in counts.items() if c >= 0.95 * target} or counts
        query = min(enough, key=lambda q: abs(enough[q] - target))
        log(f"  export filter {query!r}: {counts[query]:,} assets (candidates: {counts})")
    out: dict[str, Any] = {"query": query}
    for fmt in ("xlsx", "csv"):
        results = []
        for _ in range(runs):
            res = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--stage",
                    "export",
                    "--url",
                    url,
                    "--fmt",
                    fmt,
                    "--query",
                    query,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            results.append(json.loads(res.stdout.strip().splitlines()[-1]))
            r = results[-1]
            log(
                f"  export {fmt}: {r['rows']:,} rows {r['seconds']:.1f} s, "
                f"{r['bytes'] / 1e6:.1f} MB, "
                f"peak RSS {r['peak_mb']:.0f} MB (baseline {r['base_mb']:.0f} MB)"
            )
        out[fmt] = {
            "seconds": median([r["seconds"] for r in results]),
            "peak_mb": median([r["peak_mb"] for r in results]),
            "base_mb": median([r["base_mb"] for r in results]),
            "rows": results[-1]["rows"],
            "bytes": results[-1]["bytes"],
            "runs": results,
        }
    return out


# --------------------------------------------------------------------------- EXPLAIN


def explain(url: str, analyze_: bool = True) -> dict[str, str]:
    """The plan of each due-list scenario's page query (and the stats query for region=41)."""
    from urllib.parse import parse_qs

    from sqlalchemy import text

    from app.accounts.scope import SYSTEM
    from app.db import make_engine, make_sessionmaker
    from app.kit.dates import today
    from app.rules.queries import DueFilters, _representatives

    engine = make_engine(url)
    out = {}
    sqlite = url.startswith("sqlite")
    with make_sessionmaker(engine)() as session:
        for label, query in DUE_SCENARIOS:
            args = {k: v[0] for k, v in parse_qs(query).items()}
            f = DueFilters(
                region=args.get("region"),
                category=args.get("category"),
                levels=(args["level"],) if "level" in args else ("assess", "mandatory"),
                due_by=date.fromisoformat(args["due_by"]) if "due_by" in args else None,
                overdue=args.get("overdue") == "true",
                rule=args.get("rule"),
            )
            stmt = _representatives(SYSTEM, f, today(), "due_on").limit(51)
            sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
            prefix = (
                "EXPLAIN QUERY PLAN "
                if sqlite
                else ("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if analyze_ else "EXPLAIN ")
            )
            rows = session.execute(text(prefix + sql)).all()
            plan = "\n".join(str(r[-1]) for r in rows)
            if sqlite:
                started = time.perf_counter()
                session.execute(text(sql)).all()
                plan += f"\n(run time {1e3 * (time.perf_counter() - started):.1f} ms)"
            out[label] = plan
    engine.dispose()
    return out


# --------------------------------------------------------------------------- report


def fmt_ms(s: float) -> str:
    return f"{s * 1e3:.1f} ms"


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def report_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, target, measured, verdict) rows for one database."""
    rows = []
    ev = r.get("evaluate")
    if ev:
        rows.append(
            (
                f"evaluate_ledger, all {r['n']:,} assets ({ev['flags']:,} flags), "
                f"median of {len(ev['walls'])}",
                "≤ 20 s",
                f"{ev['median']:.1f} s (runs: {', '.join(f'{w:.1f}' for w in ev['walls'])})",
                verdict(ev["median"] <= T_EVAL),
            )
        )
    for label, d in (r.get("due") or {}).items():
        p50, p95 = median(d["times"]), pct(d["times"], 95)
        rows.append(
            (
                f"GET /due limit 50, {label} (n={len(d['times'])})",
                "p50 ≤ 20 ms, p95 ≤ 50 ms",
                f"p50 {fmt_ms(p50)}, p95 {fmt_ms(p95)}",
                verdict(p50 <= T_PAGE_P50 and p95 <= T_PAGE_P95),
            )
        )
    for label, d in (r.get("stats") or {}).items():
        m = median(d["times"])
        rows.append(
            (
                f"GET /{label.replace('stats ', 'stats?')} (n={len(d['times'])})",
                "≤ 500 ms" if label == "stats region=41" else "(info)",
                f"median {fmt_ms(m)}, p95 {fmt_ms(pct(d['times'], 95))}",
                verdict(m <= T_STATS) if label == "stats region=41" else "",
            )
        )
    ex = r.get("exports")
    if ex:
        x = ex["xlsx"]
        rows.append(
            (
                f"xlsx export `{ex['query']}`: {x['rows']:,} rows, {x['bytes'] / 1e6:.1f} MB",
                "≤ 15 s, peak RSS ≤ 400 MB",
                f"{x['seconds']:.1f} s, peak RSS {x['peak_mb']:.0f} MB "
                f"(process baseline {x['base_mb']:.0f} MB)",
                verdict(x["seconds"] <= T_XLSX and x["peak_mb"] <= T_XLSX_MB),
            )
        )
        c = ex["csv"]
        rows.append(
            (
                f"csv export `{ex['query']}`: {c['rows']:,} rows, {c['bytes'] / 1e6:.1f} MB",
                "(info)",
                f"{c['seconds']:.1f} s, peak RSS {c['peak_mb']:.0f} MB",
                "",
            )
        )
    return rows


def summary_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """Targets with the PostgreSQL and SQLite figures side by side."""
    kinds = list(results)
    names = {"pg": "PostgreSQL", "sqlite": "SQLite"}
    table: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        for measure, target, measured, verdict in report_rows(results[kind]):
            row = table.setdefault(measure, {"target": target})
            row[kind] = f"{measured} {verdict}".strip()
    head = "| measure | target | " + " | ".join(names.get(k, k) for k in kinds) + " |"
    lines = ["## Summary", "", head, "|---|---|" + "---|" * len(kinds)]
    for measure, row in table.items():
        cells = " | ".join(row.get(k, "") for k in kinds)
        lines.append(f"| {measure} | {row['target']} | {cells} |")
    return [*lines, ""]


def write_results(results: dict[str, dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    lines = [
        "# Rules engine benchmark (issue #3)",
        "",
        f"Generated by `bench/bench_rules.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Machine: {os.cpu_count()} shared cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}; shared with "
        f"other jobs (load average {os.getloadavg()[0]:.1f} when written), so figures are medians.",
        "",
    ]
    lines += summary_table(results)
    for kind, r in results.items():
        lines += [
            f"## {'PostgreSQL' if kind == 'pg' else 'SQLite (file, WAL)'}: {r['n']:,} assets",
            "",
        ]
        if r.get("setup"):
            s = r["setup"]
            lines.append(
                f"Setup: migrate+seed {s['migrate_s']:.1f} s, load {s['load_s']:.1f} s "
                f"({r['n'] / s['load_s']:,.0f} rows/s), ANALYZE {s['analyze_s']:.1f} s."
            )
            lines.append("")
        lines += ["| measure | target | measured | verdict |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in report_rows(r)]
        lines.append("")
        ev = r.get("evaluate") or {}
        if ev.get("per_pack"):
            lines += ["Time per pack (last run):", ""]
            lines += [
                f"- {k}: {v:.2f} s"
                for k, v in sorted(ev["per_pack"].items(), key=lambda kv: -kv[1])
            ]
            lines += ["", "Slowest statements (last run):", ""]
            lines += [f"- {k}: {v:.2f} s, {rows:,} rows" for k, v, rows in ev["per_rule"][:12]]
            lines.append("")
        if r.get("explain"):
            lines += ["<details><summary>Due-list plans</summary>", ""]
            for label, plan in r["explain"].items():
                lines += [f"**{label}**", "", "```", plan, "```", ""]
            lines += ["</details>", ""]
    if args.notes and Path(args.notes).exists():
        lines += [Path(args.notes).read_text(encoding="utf-8").rstrip(), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    log(f"wrote {path}")


# --------------------------------------------------------------------------- main


def run_kind(kind: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    url = url_for(kind, n)
    r: dict[str, Any] = {"n": n, "url": url}
    existing = count_assets(url) if args.reuse else -1
    if existing == n:
        log(f"{kind}: reusing database with {n:,} assets")
    else:
        r["setup"] = setup(kind, n, args.seed)
    if not args.skip_eval:
        log(f"{kind}: evaluate_ledger × {args.runs}")
        r["evaluate"] = evaluate(
            url, args.runs, args.per_rule, vacuum=kind == "pg" and not args.no_vacuum
        )
        if not args.no_analyze_after_eval:
            log(f"{kind}: ANALYZE after evaluation {analyze(url):.1f} s")
    if not args.skip_http:
        client = make_client(url)
        with client:
            log(f"{kind}: due list, {args.requests} requests per scenario")
            r["due"] = bench_due(client, args.requests, args.rounds)
            log(f"{kind}: stats")
            r["stats"] = bench_stats(client, max(5, args.requests * args.rounds // 8))
    if not args.skip_export:
        log(f"{kind}: exports (fresh child process each)")
        r["exports"] = bench_exports(url, n, args.export_runs, args.export_query)
    if args.explain:
        r["explain"] = explain(url)
    return r


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["pg", "sqlite", "both"], default="both")
    parser.add_argument("--n", type=int, default=1_000_000, help="assets (default 1M)")
    parser.add_argument("--sqlite-n", type=int, help="assets for SQLite (default: --n)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--runs", type=int, default=3, help="evaluate_ledger runs (median)")
    parser.add_argument("--requests", type=int, default=40, help="requests per scenario and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the due scenarios")
    parser.add_argument("--export-runs", type=int, default=3, help="export runs (median)")
    parser.add_argument("--export-query", help="filter of the export (default: closest to 100k)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--reuse", action="store_true", help="reuse a database that has N assets")
    parser.add_argument("--per-rule", action="store_true", help="time each INSERT … SELECT")
    parser.add_argument("--explain", action="store_true", help="record due-list query plans")
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--no-analyze-after-eval", action="store_true")
    parser.add_argument(
        "--no-vacuum", action="store_true", help="PostgreSQL: no VACUUM between evaluations"
    )
    parser.add_argument("--merge", nargs="+", help="write the results from saved --json files")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--notes", help="markdown file appended to the results (analysis)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--json", help="also dump raw results to this file")
    parser.add_argument("--stage", choices=["export"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--fmt", help=argparse.SUPPRESS)
    parser.add_argument("--query", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.stage == "export":
        export_child(args.url, args.fmt, args.query)
        return 0
    if args.merge:
        merged: dict[str, dict[str, Any]] = {}
        for name in args.merge:
            merged.update(json.loads(Path(name).read_text(encoding="utf-8")))
        write_results(merged, args, Path(args.results))
        return 0
    kinds = ["pg", "sqlite"] if args.db == "both" else [args.db]
    results: dict[str, dict[str, Any]] = {}
    try:
        for kind in kinds:
            n = args.sqlite_n if kind == "sqlite" and args.sqlite_n else args.n
            results[kind] = run_kind(kind, n, args)
    finally:
        if not args.keep:
            for kind in kinds:
                n = args.sqlite_n if kind == "sqlite" and args.sqlite_n else args.n
                drop_database(kind, n)
    print()
    for kind, r in results.items():
        print(f"== {kind}: {r['n']:,} assets")
        for a, b, c, d in report_rows(r):
            print(f"  {a:<78} {b:<26} {c:<50} {d}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, default=str, indent=1), encoding="utf-8")
    if not args.no_write:
        write_results(results, args, Path(args.results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
