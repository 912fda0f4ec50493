"""Account and token use cases."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, ApiToken
from app.accounts.scope import ROLES
from app.assets.spec import CATEGORIES
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound

TOKEN_PREFIX = "rr_"


def hash_token(token: str) -> str:
    """SHA-256 of a token; tokens are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_account(
    session: Session, *, name: str, role: str, region_prefix: str = "", category: str | None = None
) -> Account:
    """Register an account; region_prefix '' means national."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    if region_prefix and (not region_prefix.isdigit() or len(region_prefix) not in (2, 4, 6)):
        raise Invalid("region must be a 2, 4 or 6 digit code prefix", field="region_prefix")
    if category is not None and category not in CATEGORIES:
        raise Invalid(f"unknown category '{category}'", field="category")
    if session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"account '{name}' already exists")
    account = Account(name=name, role=role, region_prefix=region_prefix, category=category)
    session.add(account)
    session.flush()
    return account


def issue_token(session: Session, account: Account) -> str:
    """Create a token for the account and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=account.id, token_hash=hash_token(token), prefix=token[:10]))
    session.flush()
    return token


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token at once; later requests with it are 401."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()
    return token
