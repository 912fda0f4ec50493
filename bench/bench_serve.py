"""Load benchmark: the served API at 1, 8 and 32 clients, over loopback, bounded in time.

Starts `python -m app serve --workers N` on a free port against the database named by
BENCH_DATABASE_URL (default: a scratch SQLite file with the demo ledger), then, for each URL and
client count, runs the clients for `--seconds` and reports requests/s, p50/p95/p99 latency and
errors (any status but 200).

    .venv/bin/python bench/bench_serve.py                          # demo ledger, 1 worker
    .venv/bin/python bench/bench_serve.py --workers 2 --clients 1 8 32 --seconds 10
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/rr_bench_rules \\
        .venv/bin/python bench/bench_serve.py --workers 2          # e.g. bench_rules --keep's 1M

The load generator shares the machine with the server: figures are for comparing builds on the
same machine, run in pairs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
URLS = (
    "/api/v1/due?limit=50",
    "/api/v1/due?limit=50&region=41&category=gas_pipe",
    "/api/v1/assets?limit=50",
    "/api/v1/stats?region=41",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=8.0, help="per URL and client count")
    parser.add_argument("--urls", nargs="+", default=list(URLS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rr-serve-") as tmp:
        url, token = prepare(Path(tmp))
        port = free_port()
        env = {
            **os.environ,
            "APP_DATABASE_URL": url,
            "APP_ENV": "development",
            "APP_IMPORTS__STORAGE_DIR": str(Path(tmp) / "imports"),
        }
        command = ["serve", "--port", str(port), "--workers", str(args.workers)]
        server = subprocess.Popen(
            [sys.executable, "-m", "app", *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(base, server)
            print(f"workers {args.workers}, {args.seconds:.0f} s per run, database {url[:40]}")
            print(f"{'url':<52} {'clients':>7} {'req/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} err")
            for path in args.urls:
                for clients in args.clients:
                    rate, lat, errors = load(base + path, token, clients, args.seconds)
                    p50, p95, p99 = (percentile(lat, q) for q in (50, 95, 99))
                    print(
                        f"{path:<52} {clients:>7} {rate:>8.0f} {p50:>6.1f}ms {p95:>6.1f}ms "
                        f"{p99:>6.1f}ms {errors}",
                        flush=True,
                    )
        finally:
            server.terminate()
            server.wait(60)
    return 0


def prepare(tmp: Path) -> tuple[str, str]:
    """The database URL and an admin token: the given database, or a demo ledger."""
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'serve.db'}"
    os.environ["APP_DATABASE_URL"] = url
    os.environ.setdefault("APP_ENV", "development")
    sys.path.insert(0, str(ROOT))
    from app.cli import main as cli
    from app.config import get_settings

    get_settings.cache_clear()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if "BENCH_DATABASE_URL" in os.environ:
            assert cli(["migrate"]) == 0
            assert cli(["accounts", "add", f"bench-{os.getpid()}", "--role", "admin"]) == 0
        else:
            assert cli(["demo", "--count", "3000"]) == 0
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the CLI logs at INFO
    found = re.search(r"(rr_[A-Za-z0-9_-]+)", out.getvalue())
    assert found is not None, out.getvalue()
    return url, found.group(1)


def load(url: str, token: str, clients: int, seconds: float) -> tuple[float, list[float], int]:
    """Closed-loop clients for `seconds`: (requests/s, latencies in ms, errors)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        mine: list[float] = []
        bad = 0
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            c.get(url)  # connect and warm up
            while time.monotonic() < stop:
                started = time.perf_counter()
                status = c.get(url).status_code
                mine.append((time.perf_counter() - started) * 1000)
                bad += status != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.monotonic() - started), latencies, errors


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise SystemExit("the server did not come up")


if __name__ == "__main__":
    raise SystemExit(main())
