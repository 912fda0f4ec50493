"""Command line: `python -m app serve|migrate|seed|demo|accounts|evaluate|import|plan|…`.

Each domain may add its own commands in `app/<domain>/cli.py` with `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.config import ROOT, get_settings
from app.db import make_engine, make_sessionmaker

DOMAIN_CLIS = (
    "app.accounts.cli",
    "app.rules.cli",
    "app.imports.cli",
    "app.plans.cli",
    "app.audit.cli",
)

Handler = Callable[[argparse.Namespace], int]


@contextmanager
def cli_session() -> Iterator[Session]:
    """One transaction for a CLI command: committed on success, rolled back on error."""
    engine = make_engine(get_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        engine.dispose()


def migrate() -> None:
    """Bring the schema to head, then load the shipped reference data (regions, rule packs)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = get_settings().database_url
    command.upgrade(cfg, "head")
    seed()


def seed() -> None:
    """Load regions and rule packs (idempotent)."""
    from app.regions.service import seed_regions

    with cli_session() as session:
        seed_regions(session)
        try:
            rules_service = importlib.import_module("app.rules.service")
        except ImportError:  # pragma: no cover
            return
        sync = getattr(rules_service, "sync_rule_packs", None)
        if sync is not None:
            sync(session)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    # alembic's INFO lines would push the demo token (printed just before by `make run`) off
    # the screen; serve says which revision it runs instead
    logging.getLogger("alembic").setLevel(logging.WARNING)
    migrate()
    print(f"database schema at revision {schema_revision()}", flush=True)
    workers = args.workers or default_workers()
    url = base_url(args.host, args.port)
    print(
        f"serving {url} with {workers} process{'es' if workers > 1 else ''}"
        f"  (API docs: {url}/docs, stop with Ctrl-C)",
        flush=True,
    )
    background = None
    if workers > 1:
        # the import worker and the daily refresh run once, in their own process, not in each
        # HTTP process (the HTTP processes read these settings when they start)
        os.environ["APP_IMPORTS__INLINE_WORKER"] = "false"
        os.environ["APP_DAILY_REFRESH"] = "false"
        background = subprocess.Popen([sys.executable, "-m", "app", "worker"])
    try:
        # the client address is the peer's; X-Forwarded-For counts only from
        # APP_HTTP__TRUSTED_PROXIES (app/accounts/deps.py), never from whoever sends it
        uvicorn.run(
            "app.main:app_factory",
            factory=True,
            host=args.host,
            port=args.port,
            workers=workers,
            http="app.serving:NoDelayH11Protocol",
            proxy_headers=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    finally:
        if background is not None:
            background.terminate()  # SIGTERM: the worker stops after its current step
            try:
                background.wait(GRACEFUL_SECONDS)
            except subprocess.TimeoutExpired:
                background.kill()
    return 0


GRACEFUL_SECONDS = 30
"""How long a stopping server lets in-flight requests (and the import worker) finish."""


def schema_revision() -> str:
    """The database's alembic revision (after migrate: the head)."""
    from sqlalchemy import text

    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        engine.dispose()


def default_workers() -> int:
    """HTTP processes by default: one per core in production, one otherwise."""
    if get_settings().env == "production":
        return max(1, os.cpu_count() or 1)
    return 1


def _migrate(_args: argparse.Namespace) -> int:
    migrate()
    print("schema at head; regions and rule packs loaded")
    return 0


def _seed(_args: argparse.Namespace) -> int:
    seed()
    print("regions and rule packs loaded")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from app.demo import load_demo

    migrate()
    with cli_session() as session:
        summary = load_demo(
            session, count=args.count, seed=args.seed, base_url=base_url(args.host, args.port)
        )
    print(summary)
    return 0


def base_url(host: str, port: int) -> str:
    """The address people type for a bound host (0.0.0.0 serves on every address)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="设备更新台账服务 Renewal Registry: serve the API, load the demo ledger, "
        "import survey workbooks, manage accounts and tokens, re-evaluate flags and build "
        "renewal plans.",
        epilog="Run `python -m app COMMAND --help` for a command's options. Settings come from "
        "APP_* environment variables (README: Configuration); the default database is "
        "var/registry.db (SQLite).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "serve", help="bring the database up to date, then serve the API and its docs"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="HTTP processes (default: one per core with APP_ENV=production, else 1); with more "
        "than one, imports and the daily flag refresh run in one separate worker process",
    )
    p.set_defaults(handler=_serve)
    sub.add_parser(
        "migrate", help="bring the database schema up to date and load regions and rule packs"
    ).set_defaults(handler=_migrate)
    sub.add_parser("seed", help="load regions and rule packs").set_defaults(handler=_seed)
    p = sub.add_parser("demo", help="load a reproducible demo ledger and print a demo admin token")
    p.add_argument("--count", type=int, default=3000, help="assets in the demo ledger")
    p.add_argument("--host", default="127.0.0.1", help="where `serve` will listen (for the URL)")
    p.add_argument("--port", type=int, default=8000, help="the port `serve` will listen on")
    p.add_argument("--seed", type=int, default=2024)
    p.set_defaults(handler=_demo)
    for name in DOMAIN_CLIS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
