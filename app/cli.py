"""Command line: `python -m app serve|migrate|seed|demo|accounts|evaluate|import|plan|…`.

Each domain may add its own commands in `app/<domain>/cli.py` with `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
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

    migrate()
    # the client address is the peer's; X-Forwarded-For counts only from
    # APP_HTTP__TRUSTED_PROXIES (app/accounts/deps.py), never from whoever sends it
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        proxy_headers=False,
    )
    return 0


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
        summary = load_demo(session, count=args.count, seed=args.seed)
    print(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="migrate, then serve the API with uvicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(handler=_serve)
    sub.add_parser("migrate", help="alembic upgrade head + reference data").set_defaults(
        handler=_migrate
    )
    sub.add_parser("seed", help="load regions and rule packs").set_defaults(handler=_seed)
    p = sub.add_parser("demo", help="load a reproducible demo ledger and print a demo admin token")
    p.add_argument("--count", type=int, default=3000)
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
