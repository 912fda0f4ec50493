"""`python -m app accounts add|list|tokens|revoke`."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from app.accounts import service
from app.accounts.models import Account, ApiToken


def _add(args: argparse.Namespace) -> int:
    from app.cli import cli_session

    with cli_session() as session:
        account = service.create_account(
            session,
            name=args.name,
            role=args.role,
            region_prefix=args.region or "",
            category=args.category,
        )
        token = service.issue_token(session, account)
    scope = account.region_prefix or "national"
    if account.category:
        scope += f"/{account.category}"
    print(f"account {account.name} (id {account.id}, {account.role}, scope {scope})")
    print(f"token (shown once): {token}")
    return 0


def _list(_args: argparse.Namespace) -> int:
    from app.cli import cli_session

    with cli_session() as session:
        for a in session.scalars(select(Account).order_by(Account.id)):
            tokens = session.scalars(select(ApiToken).where(ApiToken.account_id == a.id)).all()
            active = [t for t in tokens if t.revoked_at is None]
            print(
                f"{a.id}\t{a.name}\t{a.role}\t{a.region_prefix or 'national'}\t"
                f"{a.category or '-'}\ttokens: " + ", ".join(f"{t.id}:{t.prefix}…" for t in active)
            )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from app.cli import cli_session

    with cli_session() as session:
        service.revoke_token(session, args.token_id)
    print(f"token {args.token_id} revoked")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("accounts", help="manage accounts and API tokens")
    acc = p.add_subparsers(dest="accounts_command", required=True)
    a = acc.add_parser("add", help="create an account and print its token once")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=["admin", "editor", "viewer"])
    a.add_argument("--region", help="region code prefix (omit for national)")
    a.add_argument("--category", help="restrict to one equipment category")
    a.set_defaults(handler=_add)
    acc.add_parser("list", help="list accounts and active tokens").set_defaults(handler=_list)
    r = acc.add_parser("revoke", help="revoke a token by id")
    r.add_argument("token_id", type=int)
    r.set_defaults(handler=_revoke)
