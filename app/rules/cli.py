"""`python -m app evaluate [--as-of DATE] [--region PREFIX]`: recompute stored flags."""

from __future__ import annotations

import argparse
from datetime import date

from app.accounts.scope import region_prefix_clause
from app.assets.models import Asset


def _evaluate(args: argparse.Namespace) -> int:
    from app.cli import cli_session
    from app.rules.service import evaluate_ledger, sync_rule_packs

    with cli_session() as session:
        sync_rule_packs(session)
        where = region_prefix_clause(Asset.region_code, args.region) if args.region else None
        summary = evaluate_ledger(session, as_of=args.as_of, where=where)
    print(summary)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("evaluate", help="re-evaluate the ledger against the rule packs")
    p.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="evaluation date (default: today, China time)",
    )
    p.add_argument("--region", help="only assets under this region code prefix")
    p.set_defaults(handler=_evaluate)
