"""Memory of the real server under the hostile corpus: every case of tests/imports/hostile.py (the
named cases, the sized ones at the sizes the issue names, and bit-flipped copies) is uploaded to
`python -m app serve` running as a subprocess, as a dry run and, when that validates, committed;
each batch is polled to its end while a thread samples the server's RSS.

    .venv/bin/python bench/bench_hostile.py                     # SQLite, 200 flips
    .venv/bin/python bench/bench_hostile.py --db pg --flips 50  # a scratch PostgreSQL database
    .venv/bin/python bench/bench_hostile.py --only near_read_budget --only many_sheets
    .venv/bin/python bench/bench_hostile.py --runs 3            # median of 3 whole-set wall times

The server gets a fresh database (a temporary SQLite file, or `rr_bench_hostile_<pid>` created and
dropped on 127.0.0.1:5432), the demo ledger and its admin token, and a temporary upload folder.
Idle RSS is read once the server answers; each case's peak is the server's VmHWM (reset before
the case through /proc/<pid>/clear_refs) or, where that cannot be reset, the highest VmRSS the
50 ms sampler saw. The server and its children (a worker, if one were started) are summed.

Exits non-zero when an upload answered 5xx, a batch failed with "internal error", a batch did not
finish, or the peak above idle reached --limit-mb (500).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.imports.hostile import CASES, SIZED, flipped  # noqa: E402

FINAL = {"validated", "committed", "failed"}
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"
SERVE = (
    "import sys; from pathlib import Path; from app.imports import files; "
    "files.STORAGE = Path(sys.argv[1]); from app.cli import main; "
    "sys.exit(main(['serve', '--port', sys.argv[2]]))"
)
"""`python -m app serve` with the upload folder moved to a temporary one."""


# --- memory of the server ----------------------------------------------------------------------


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) // 1024  # kB → MB
    except OSError:
        pass
    return out


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                found += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """The server and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


class Sampler(threading.Thread):
    """Samples the RSS of the server's process tree every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def rss(self) -> int:
        return sum(_status(p).get("VmRSS", 0) for p in tree(self.pid))

    def run(self) -> None:
        while not self.stopped.is_set():
            value = self.rss()
            with self.lock:
                self.peak = max(self.peak, value)
            time.sleep(self.every)

    def reset(self) -> int:
        """Start a new case: the current RSS; resets the kernel's high-water marks too."""
        for p in tree(self.pid):
            try:
                with open(f"/proc/{p}/clear_refs", "w") as fh:
                    fh.write("5")
            except OSError:
                pass
        now = self.rss()
        with self.lock:
            self.peak = now
        return now

    def case_peak(self) -> int:
        """The highest RSS since reset: the kernel's high-water marks, or what was sampled."""
        hwm = sum(_status(p).get("VmHWM", 0) for p in tree(self.pid))
        with self.lock:
            return max(self.peak, hwm)


# --- the server --------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    token: str
    proc: subprocess.Popen[bytes]
    workdir: Path
    database: str
    log: Path

    def request(
        self, method: str, path: str, body: bytes | None = None, ctype: str = ""
    ) -> tuple[int, Any]:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if ctype:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, {"detail": raw[:300].decode("utf-8", "replace")}

    def upload(self, name: str, data: bytes, dry_run: bool) -> tuple[int, Any]:
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="dry_run"\r\n\r\n'
            f"{str(dry_run).lower()}\r\n--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}.xlsx"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        body = head + data + f"\r\n--{boundary}--\r\n".encode()
        return self.request(
            "POST", "/api/v1/imports", body, f"multipart/form-data; boundary={boundary}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql],
        check=True,
        capture_output=True,
    )


def start_server(db: str, demo_count: int) -> Server:
    workdir = Path(tempfile.mkdtemp(prefix="rr-hostile-"))
    if db == "pg":
        database = f"rr_bench_hostile_{os.getpid()}"
        psql(f"DROP DATABASE IF EXISTS {database}")
        psql(f"CREATE DATABASE {database}")
        url = PG + database
    else:
        database = ""
        url = f"sqlite:///{workdir / 'registry.db'}"
    env = {**os.environ, "APP_DATABASE_URL": url}
    demo = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--count", str(demo_count)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = next(
        line.rsplit(" ", 1)[1]
        for line in demo.stdout.splitlines()
        if line.startswith("demo admin token")
    )
    port = free_port()
    log = workdir / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(workdir / "imports"), str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", token, proc, workdir, database, log)
    deadline = time.monotonic() + 120
    while True:
        try:
            if server.request("GET", "/api/v1/health")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return server


def drop(server: Server) -> None:
    server.stop()
    if server.database:
        psql(f"DROP DATABASE IF EXISTS {server.database}")
    shutil.rmtree(server.workdir, ignore_errors=True)


# --- the cases ---------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    size: int
    upload: int = 0
    outcome: str = ""
    reason: str = ""
    commit: str = ""
    seconds: float = 0.0
    start_mb: int = 0
    """RSS above idle when the case started (what earlier cases left allocated)."""
    peak_mb: int = 0
    problems: list[str] = field(default_factory=list)


def cases(flips: int, only: list[str], scale: float) -> Iterator[tuple[str, Any]]:
    for name, make in CASES.items():
        if not only or name in only:
            yield name, make
    for name, sized in SIZED.items():
        if not only or name in only:
            yield name, (lambda sized=sized: sized(scale))
    if not only or "flipped" in only:
        for name, data in flipped(22, flips):
            yield name, (lambda data=data: data)


def wait(server: Server, batch_id: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = server.request("GET", f"/api/v1/imports/{batch_id}")
        if status == 200 and body["status"] in FINAL:
            return body  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            return {"status": "timeout", "error": f"not finished after {timeout:.0f} s"}
        time.sleep(0.05)


def _short(text: str | None, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def run_case(
    server: Server, sampler: Sampler, idle: int, name: str, data: bytes, timeout: float
) -> Result:
    result = Result(name, len(data))
    result.start_mb = sampler.reset() - idle
    started = time.perf_counter()
    status, body = server.upload(name, data, dry_run=True)
    result.upload = status
    if status >= 500:
        result.problems.append(f"upload answered {status}: {_short(str(body))}")
    if status == 202:
        batch = wait(server, body["id"], timeout)
        result.outcome = batch["status"]
        result.reason = _short(batch.get("error"))
        if batch["status"] == "validated":
            c = batch.get("counts", {})
            result.reason = f"{c.get('created', 0)} new, {c.get('rejected', 0)} rejected"
            cstatus, _ = server.request("POST", f"/api/v1/imports/{body['id']}/commit")
            if cstatus >= 500:
                result.problems.append(f"commit answered {cstatus}")
            if cstatus == 202:
                final = wait(server, body["id"], timeout)
                result.commit = final["status"]
                if final["status"] == "failed":
                    result.commit += f": {_short(final.get('error'), 60)}"
                batch = final
            else:
                result.commit = f"{cstatus}"
        if batch["status"] == "timeout":
            result.problems.append(batch["error"])
        if (batch.get("error") or "").startswith("internal error"):
            result.problems.append(f"internal error: {_short(batch['error'])}")
    elif isinstance(body, dict):
        result.outcome = str(body.get("reason") or "")
        result.reason = _short(str(body.get("detail") or ""))
    result.seconds = time.perf_counter() - started
    result.peak_mb = sampler.case_peak() - idle
    if server.proc.poll() is not None:
        result.problems.append(f"server exited with {server.proc.returncode}")
    return result


def run_set(args: argparse.Namespace) -> tuple[int, int, float, list[Result]]:
    """One server, every case; (idle MB, overall peak above idle, seconds from each upload to its
    batch's end summed over the cases, results)."""
    server = start_server(args.db, args.demo_count)
    try:
        sampler = Sampler(server.proc.pid)
        # idle: the server up, authenticated once, its startup allocations settled
        server.request("GET", "/api/v1/imports")
        time.sleep(2)
        idle = sampler.rss()
        sampler.start()
        results = []
        wall = 0.0
        for name, make in cases(args.flips, args.only, args.scale):
            data = make()  # generating a case is not timed
            result = run_case(server, sampler, idle, name, data, args.timeout)
            wall += result.seconds
            results.append(result)
            if not name.startswith("flipped") or result.problems or args.verbose:
                print(
                    f"  {name:<38} {result.size / 1e6:8.2f} MB {result.upload} "
                    f"{result.outcome:<15} {result.seconds:6.2f} s {result.start_mb:5d} → "
                    f"{result.peak_mb:5d} MB  "
                    f"{result.commit:<10} {result.reason}",
                    flush=True,
                )
            for problem in result.problems:
                print(f"    PROBLEM: {problem}", flush=True)
            if server.proc.poll() is not None:
                break
        sampler.stopped.set()
        peak = max((r.peak_mb for r in results), default=0)
        return idle, peak, wall, results
    finally:
        drop(server)


def table(results: list[Result]) -> str:
    lines = [
        "| case | size | HTTP | batch / reason | commit | wall s | RSS above idle at start → "
        "peak, MB | detail |",
        "|---|---:|---:|---|---|---:|---:|---|",
    ]
    flips = [r for r in results if r.name.startswith("flipped")]
    for r in results:
        if r.name.startswith("flipped"):
            continue
        detail = r.reason.replace("|", "\\|")
        lines.append(
            f"| {r.name} | {_size(r.size)} | {r.upload} | {r.outcome} | {r.commit} | "
            f"{r.seconds:.2f} | {r.start_mb} → **{r.peak_mb}** | {detail} |"
        )
    if flips:
        by: dict[str, int] = {}
        for r in flips:
            key = f"{r.upload} {r.outcome}".strip() + (f" → {r.commit}" if r.commit else "")
            by[key] = by.get(key, 0) + 1
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))
        lines.append(
            f"| {len(flips)} bit-flipped copies | {_size(flips[0].size)} | | {outcomes} | | "
            f"{sum(r.seconds for r in flips):.2f} (all) | {max(r.peak_mb for r in flips)} (max) | |"
        )
    return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} KB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--flips", type=int, default=200, help="bit-flipped copies (seed 22)")
    parser.add_argument(
        "--only", action="append", default=[], help="a case name (repeatable; 'flipped': flips)"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="size of the sized cases")
    parser.add_argument("--runs", type=int, default=1, help="whole-set runs (median wall time)")
    parser.add_argument("--limit-mb", type=int, default=500, help="peak above idle must stay under")
    parser.add_argument("--demo-count", type=int, default=3000, help="demo ledger size")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per batch")
    parser.add_argument("--markdown", type=Path, help="write the last run's table here")
    parser.add_argument("--verbose", action="store_true", help="print every flipped copy")
    args = parser.parse_args()
    known = {*CASES, *SIZED, "flipped"}
    unknown = [n for n in args.only if n not in known]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    walls, peaks, failed = [], [], False
    results: list[Result] = []
    idle = 0
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs} ({args.db}):", flush=True)
        idle, peak, wall, results = run_set(args)
        problems = [(r.name, p) for r in results for p in r.problems]
        walls.append(wall)
        peaks.append(peak)
        worst = max(results, key=lambda r: r.peak_mb) if results else None
        print(
            f"run {run + 1}: {len(results)} cases in {wall:.1f} s; idle RSS {idle} MB, "
            f"peak above idle {peak} MB ({worst.name if worst else '-'}); "
            f"{len(problems)} problem(s)",
            flush=True,
        )
        failed = failed or bool(problems) or peak >= args.limit_mb
    print(
        f"wall time: median {statistics.median(walls):.1f} s of {args.runs} "
        f"({', '.join(f'{w:.1f}' for w in walls)}); peak above idle: max {max(peaks)} MB "
        f"({', '.join(map(str, peaks))}); limit {args.limit_mb} MB"
    )
    if args.markdown:
        args.markdown.write_text(table(results) + "\n")
    if failed:
        print("FAILED: a 5xx, an internal error, an unfinished batch or the memory limit")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
