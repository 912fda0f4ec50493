"""Account and token use cases; each change is recorded in the change log."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import cache as token_cache
from app.accounts.models import Account, ApiToken
from app.accounts.queries import get_account, get_token
from app.accounts.scope import ROLES, SYSTEM, Principal, ensure_can_manage
from app.assets.spec import CATEGORIES
from app.audit.recorder import record_change
from app.db import utcnow
from app.errors import Conflict, Forbidden, Invalid
from app.regions.queries import region_exists

TOKEN_PREFIX = "rr_"
ACCOUNT_FIELDS = ("name", "role", "region_prefix", "category", "active")


def hash_token(token: str) -> str:
    """SHA-256 of a token; tokens are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def _snapshot(account: Account) -> dict[str, Any]:
    return {f: getattr(account, f) for f in ACCOUNT_FIELDS}


def _record(
    session: Session,
    principal: Principal,
    account: Account,
    token: ApiToken | None = None,
    **change: Any,
) -> None:
    """Log a change of the account (or of one of its tokens) in the account's own scope."""
    record_change(
        session,
        object_type="account" if token is None else "api_token",
        object_id=account.id if token is None else token.id,
        region_code=account.region_prefix,
        category=account.category,
        actor=principal,
        **change,
    )


def _validate_scope(session: Session, region_prefix: str, category: str | None) -> None:
    if region_prefix and (not region_prefix.isdigit() or len(region_prefix) not in (2, 4, 6)):
        raise Invalid(
            f"管辖区划 {region_prefix} 无效:应为 2、4 或 6 位数字的行政区划代码前缀",
            field="region_prefix",
        )
    if region_prefix and not region_exists(session, region_prefix.ljust(6, "0")):
        raise Invalid(f"未知的行政区划 {region_prefix}", field="region_prefix")
    if category is not None and category not in CATEGORIES:
        raise Invalid(f"未知的设备类别 {category}(可选: {', '.join(CATEGORIES)})", field="category")


def create_account(
    session: Session,
    *,
    name: str,
    role: str,
    region_prefix: str = "",
    category: str | None = None,
    principal: Principal = SYSTEM,
) -> Account:
    """Register an account; region_prefix '' means national. Only inside the creator's scope."""
    if role not in ROLES:
        raise Invalid(f"角色 {role} 无效(可选: {', '.join(ROLES)})", field="role")
    _validate_scope(session, region_prefix, category)
    ensure_can_manage(principal, region_prefix, category)
    if session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"账号 {name} 已存在,请换一个名称", field="name")
    account = Account(
        name=name, role=role, region_prefix=region_prefix, category=category, active=True
    )
    session.add(account)
    session.flush()
    _record(session, principal, account, action="create", after=_snapshot(account))
    return account


def update_account(
    session: Session,
    principal: Principal,
    account_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
) -> Account:
    """Change an account's role or active flag; an admin cannot demote or disable itself."""
    account = get_account(session, principal, account_id)
    ensure_can_manage(principal, account.region_prefix, account.category)
    if role is not None and role not in ROLES:
        raise Invalid(f"角色 {role} 无效(可选: {', '.join(ROLES)})", field="role")
    new_role = account.role if role is None else role
    new_active = account.active if active is None else active
    if account.id == principal.account_id and (new_role != "admin" or not new_active):
        raise Forbidden("不能降低自己账号的角色,也不能停用自己的账号;请由其他管理员办理")
    before = _snapshot(account)
    account.role, account.active = new_role, new_active
    token_cache.forget_all()
    session.flush()
    _record(session, principal, account, action="update", before=before, after=_snapshot(account))
    return account


def _mint(session: Session, principal: Principal, account: Account) -> tuple[ApiToken, str]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(account_id=account.id, token_hash=hash_token(token), prefix=token[:10])
    session.add(row)
    session.flush()
    after = {"account_id": account.id, "account": account.name, "prefix": row.prefix}
    _record(session, principal, account, row, action="create", after=after)
    return row, token


def issue_token(session: Session, account: Account, *, principal: Principal = SYSTEM) -> str:
    """Create a token for the account and return it; only its hash is stored."""
    return _mint(session, principal, account)[1]


def create_token(session: Session, principal: Principal, account_id: int) -> tuple[ApiToken, str]:
    """Issue a token for an account inside the caller's scope; the token is returned once."""
    account = get_account(session, principal, account_id)
    ensure_can_manage(principal, account.region_prefix, account.category)
    return _mint(session, principal, account)


def revoke_token(session: Session, token_id: int, *, principal: Principal = SYSTEM) -> ApiToken:
    """Revoke a token at once; later requests with it are 401. Revoking twice is a no-op."""
    token, account = get_token(session, principal, token_id)
    ensure_can_manage(principal, account.region_prefix, account.category)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token_cache.forget_all()
        session.flush()
        change = {"before": {"revoked_at": None}, "after": {"revoked_at": token.revoked_at}}
        _record(session, principal, account, token, action="revoke", **change)
    return token
