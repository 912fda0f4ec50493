"""`python -m app plan --region 41 --first-year 2026 --last-year 2028 [--budget N] [--out F]`."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from pydantic import ValidationError

from app.accounts.scope import SYSTEM
from app.errors import DomainError
from app.plans.schemas import PlanCreate


def parse_budgets(values: list[str] | None, first: int, last: int) -> dict[str, Any] | None:
    """'5000' (every year), '2026=5000' (one year), '2026.gas_pipe=3000' (one year's category)."""
    if not values:
        return None
    out: dict[str, Any] = {}
    for value in values:
        key, sep, amount = value.partition("=")
        if not sep:
            out.update({str(y): key for y in range(first, last + 1)})
            continue
        year, _, category = key.partition(".")
        if category:
            slot = out.setdefault(year, {})
            if not isinstance(slot, dict):
                raise ValueError(f"--budget {value}: year {year} already has an overall budget")
            slot[category] = amount
        else:
            out[year] = amount
    return out


def _pairs(values: list[str] | None) -> dict[str, str] | None:
    """'key=value' arguments as a dict."""
    if not values:
        return None
    return dict(v.partition("=")[::2] for v in values)


def _request(args: argparse.Namespace) -> PlanCreate:
    """The command's options as a validated POST /plans body."""
    body = {
        "region": args.region,
        "name": args.name,
        "first_year": args.first_year,
        "last_year": args.last_year,
        "budgets": parse_budgets(args.budget, args.first_year, args.last_year),
        "categories": args.category,
        "include_encouraged": args.include_encouraged,
        "unit_costs": _pairs(args.unit_cost),
        "as_of": args.as_of,
    }
    return PlanCreate.model_validate({k: v for k, v in body.items() if v is not None})


def _print_summary(data: dict[str, Any]) -> None:
    """Lines, cost by year against budget, shortfall and deferred items."""
    print(f"plan {data['id']} v{data['version']} ({data['status']}): {data['name']}")
    print(f"  {data['line_count']} lines, {data['total_cost']:.2f} 万元")
    for y in data["years"]:
        budget = "no limit" if y["budget"] is None else f"budget {y['budget']:.2f}"
        gap = "" if y["gap"] is None else f", gap {y['gap']:.2f}"
        print(f"  {y['year']}: {y['count']} lines, {y['cost']:.2f} 万元 ({budget}{gap})")
    short = data["shortfall"]
    print(f"  shortfall: {short['count']} lines, {short['cost']:.2f} 万元")
    deferred = data["stats"]["deferred"]
    print(f"  deferred beyond {data['last_year']}: {deferred['count']} items")


def _plan(args: argparse.Namespace) -> int:
    """Make the plan (one transaction), print its summary, write the workbook if asked."""
    from app.cli import cli_session
    from app.plans import service
    from app.plans.export import export_plan
    from app.plans.queries import plan_view

    try:
        body = _request(args)
        with cli_session() as session:
            started = time.perf_counter()
            plan = service.create_plan(session, SYSTEM, body)
            scheduled = time.perf_counter() - started
            _print_summary(plan_view(session, SYSTEM, plan))
            print(f"  scheduled and stored in {scheduled:.1f} s")
            if args.out:
                started = time.perf_counter()
                export_plan(session, SYSTEM, plan, args.out)
                print(f"  workbook {args.out} in {time.perf_counter() - started:.1f} s")
    except (DomainError, ValidationError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else str(exc)
        print(f"error: {detail}", file=sys.stderr)
        return 2
    return 0


def register(sub: Any) -> None:
    """Add the `plan` command."""
    p = sub.add_parser("plan", help="make an annual renewal plan (and export its workbook)")
    p.add_argument("--region", help="region code prefix, e.g. 41 or 4101 (default: national)")
    p.add_argument("--first-year", type=int, required=True)
    p.add_argument("--last-year", type=int, required=True)
    p.add_argument(
        "--budget",
        action="append",
        help="万元: 5000 (every year), 2026=5000, or 2026.gas_pipe=3000; repeatable",
    )
    p.add_argument("--category", action="append", help="limit to a category; repeatable")
    p.add_argument("--include-encouraged", action="store_true")
    p.add_argument("--unit-cost", action="append", help="price override, e.g. elevator=45")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
    p.add_argument("--name")
    p.add_argument("--out", help="write the plan workbook (.xlsx) here")
    p.set_defaults(handler=_plan)
