"""Read side of accounts: scoped lookups and listings for account administration."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, ApiToken
from app.accounts.scope import Principal, scoped
from app.errors import NotFound
from app.kit.pagination import decode_id, encode_cursor


def get_account(session: Session, principal: Principal, account_id: int) -> Account:
    """An account whose scope lies inside the caller's; any other is a 404."""
    stmt = scoped(
        select(Account).where(Account.id == account_id),
        principal,
        Account.region_prefix,
        Account.category,
    )
    account = session.scalar(stmt)
    if account is None:
        raise NotFound(f"账号 {account_id} 不存在或不在您的管辖范围内")
    return account


def list_accounts(
    session: Session, principal: Principal, *, limit: int, cursor: str | None = None
) -> tuple[Sequence[Account], str | None]:
    """A keyset page (by id) of the accounts inside the caller's scope."""
    stmt = scoped(select(Account), principal, Account.region_prefix, Account.category)
    if cursor:
        stmt = stmt.where(Account.id > decode_id(cursor))
    rows = session.scalars(stmt.order_by(Account.id).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor([rows[limit - 1].id])


def list_tokens(session: Session, principal: Principal, account_id: int) -> Sequence[ApiToken]:
    """An account's tokens, oldest first (hashes never leave this module's callers)."""
    account = get_account(session, principal, account_id)
    return session.scalars(
        select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id)
    ).all()


def get_token(session: Session, principal: Principal, token_id: int) -> tuple[ApiToken, Account]:
    """A token with its account, if the account lies inside the caller's scope; else a 404."""
    stmt = scoped(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.id == token_id),
        principal,
        Account.region_prefix,
        Account.category,
    )
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"令牌 {token_id} 不存在或不在您的管辖范围内")
    return row[0], row[1]
