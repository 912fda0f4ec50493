"""`python -m app accounts add|list|tokens|revoke`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import select

from app.accounts import service
from app.accounts.models import Account, ApiToken
from app.accounts.scope import scope_label
from app.errors import DomainError, NotFound

Handler = Callable[[argparse.Namespace], int]


def _guard(handler: Handler) -> Handler:
    """Print a service error as one line on stderr (exit 2) instead of a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except DomainError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2

    return run


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
    scope = scope_label(account.region_prefix, account.category)
    print(f"account {account.name} (id {account.id}, {account.role}, scope {scope})")
    print(f"token (shown once): {token}")
    return 0


def _list(_args: argparse.Namespace) -> int:
    from app.cli import cli_session

    with cli_session() as session:
        active: dict[int, list[str]] = {}
        for t in session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))):
            active.setdefault(t.account_id, []).append(f"{t.id}:{t.prefix}…")
        for a in session.scalars(select(Account).order_by(Account.id)):
            state = "" if a.active else "\tINACTIVE"
            print(
                f"{a.id}\t{a.name}\t{a.role}\t{scope_label(a.region_prefix, a.category)}\t"
                f"tokens: {', '.join(active.get(a.id, [])) or '-'}{state}"
            )
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from app.cli import cli_session

    with cli_session() as session:
        account = session.scalar(select(Account).where(Account.name == args.name))
        if account is None:
            raise NotFound(f"账号 {args.name} 不存在")
        for t in session.scalars(
            select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id)
        ):
            print(
                f"{t.id}\t{t.prefix}…\tcreated {t.created_at:%Y-%m-%d %H:%M}\t"
                f"last used {t.last_used_at or '-'}\trevoked {t.revoked_at or '-'}"
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
    a.set_defaults(handler=_guard(_add))
    acc.add_parser("list", help="list accounts and active tokens").set_defaults(
        handler=_guard(_list)
    )
    t = acc.add_parser("tokens", help="list an account's tokens (never the token itself)")
    t.add_argument("name")
    t.set_defaults(handler=_guard(_tokens))
    r = acc.add_parser("revoke", help="revoke a token by id")
    r.add_argument("token_id", type=int)
    r.set_defaults(handler=_guard(_revoke))
