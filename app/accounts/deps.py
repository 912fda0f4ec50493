"""Authentication: bearer token → Principal, with a limit on failed attempts."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from app.accounts.models import Account, ApiToken
from app.accounts.scope import SYSTEM, Principal
from app.accounts.service import hash_token
from app.config import get_settings
from app.db import DbSession, utcnow
from app.errors import TooManyRequests, Unauthorized


class FailureLimiter:
    """Counts failed token checks per client address in a sliding one-minute window."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._events[key]
        while q and now - q[0] > 60:
            q.popleft()
        return q

    def blocked(self, key: str, limit: int) -> bool:
        with self._lock:
            return len(self._trim(key, time.monotonic())) >= limit

    def fail(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._trim(key, now).append(now)


limiter = FailureLimiter()


def get_principal(request: Request, session: DbSession) -> Principal:
    """Resolve the caller from `Authorization: Bearer <token>`; 401 when missing or invalid."""
    settings = get_settings()
    if not settings.auth.enabled:
        return SYSTEM
    client = request.client.host if request.client else "unknown"
    if limiter.blocked(client, settings.auth.max_failures_per_minute):
        raise TooManyRequests("too many failed authentication attempts; retry in a minute")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        limiter.fail(client)
        raise Unauthorized("missing bearer token")
    row = session.execute(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == hash_token(token.strip()))
    ).first()
    if row is None or row[0].revoked_at is not None or not row[1].active:
        limiter.fail(client)
        raise Unauthorized("invalid or revoked token")
    api_token, account = row
    api_token.last_used_at = utcnow()
    request.state.actor = account.name
    return Principal(
        account_id=account.id,
        name=account.name,
        role=account.role,
        region_prefix=account.region_prefix,
        category=account.category,
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
