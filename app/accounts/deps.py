"""Authentication: bearer token → Principal, with a limit on failed attempts.

The principal and the request's change reason are bound to the session, so every change the
request records names its actor (see app/audit/recorder.py). The token itself is never logged.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import cache as token_cache
from app.accounts.models import Account, ApiToken
from app.accounts.scope import SYSTEM, Principal, ensure_role
from app.accounts.service import hash_token
from app.audit.deps import change_reason
from app.audit.recorder import bind_actor
from app.config import Settings, get_settings
from app.db import DbSession, utcnow
from app.errors import TooManyRequests, Unauthorized

LAST_USED_RESOLUTION = timedelta(minutes=5)
"""last_used_at is written at most this often per token, so reads do not become writes."""


class FailureLimiter:
    """Counts failed token checks per client address in a sliding one-minute window."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> int:
        """Drop events older than a minute (and quiet clients); the count left."""
        q = self._events.get(key)
        if q is None:
            return 0
        while q and now - q[0] > 60:
            q.popleft()
        if not q:
            del self._events[key]
        return len(q)

    def blocked(self, key: str, limit: int) -> bool:
        with self._lock:
            return self._trim(key, time.monotonic()) >= limit

    def fail(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._trim(key, now)
            self._events[key].append(now)


_limiter_lock = threading.Lock()


def failure_limiter(app: FastAPI) -> FailureLimiter:
    """The app's limiter (one per app instance, made on first use)."""
    with _limiter_lock:
        limiter: FailureLimiter | None = getattr(app.state, "auth_failures", None)
        if limiter is None:
            limiter = app.state.auth_failures = FailureLimiter()
        return limiter


def _touch(token: ApiToken) -> None:
    """Record use of the token, at most once per LAST_USED_RESOLUTION."""
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    if last is None or now - last >= LAST_USED_RESOLUTION:
        token.last_used_at = now


def _authenticate(session: Session, token_hash: str) -> Account | None:
    """The active account of a valid, unrevoked token (by its hash), else None."""
    row = session.execute(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == token_hash)
    ).first()
    if row is None or row[0].revoked_at is not None or not row[1].active:
        return None
    _touch(row[0])
    return row[1]


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def get_principal(request: Request, session: DbSession) -> Principal:
    """Resolve the caller from `Authorization: Bearer <token>`; 401 when missing or invalid.

    A valid token always passes. Failed attempts are counted per client address and per
    presented token prefix; past the limit, further failed attempts get 429 (with Retry-After)
    instead of 401, so a guesser learns nothing more, while nobody can lock out a valid token by
    failing on its behalf (from its address, or by forging that address)."""
    settings = getattr(request.app.state, "settings", None) or get_settings()
    principal = _resolve(request, session, settings) if settings.auth.enabled else SYSTEM
    request.state.actor = principal.name
    bind_actor(session, principal, change_reason(request))
    return principal


def _resolve(request: Request, session: Session, settings: Settings) -> Principal:
    """The principal of the request's token: from the token cache, else looked up (and then
    cached); a missing or invalid token is counted by the limiter and refused."""
    token = _bearer(request)
    token_hash = hash_token(token) if token else ""
    if token:
        cached = token_cache.lookup(token_hash)
        if cached is not None:
            return cached
    account = _authenticate(session, token_hash) if token else None
    if account is None:
        limiter = failure_limiter(request.app)
        keys = [f"client:{client_address(request, settings.http.trusted_proxies)}"]
        if token:
            keys.append(f"token:{token[:TOKEN_PREFIX]}")
        limit = settings.auth.max_failures_per_minute
        if any(limiter.blocked(key, limit) for key in keys):
            raise TooManyRequests("认证失败次数过多,请一分钟后再试")
        for key in keys:
            limiter.fail(key)
        raise Unauthorized(
            "身份令牌无效或已被吊销,请向管理员申请新的令牌"
            if token
            else "缺少身份令牌,请在请求头中提供 Authorization: Bearer <令牌>"
        )
    principal = Principal(
        account_id=account.id,
        name=account.name,
        role=account.role,
        region_prefix=account.region_prefix,
        category=account.category,
    )
    token_cache.remember(token_hash, principal, settings.auth.token_cache_seconds)
    return principal


TOKEN_PREFIX = 12
"""Characters of a presented token that key its failure count (never a whole token)."""


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The caller's address: the peer, or, when the peer is a configured trusted proxy, the last
    address in X-Forwarded-For that is not one of them (anyone else's header is ignored)."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop
    return peer


def _trusted(address: str, proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in proxies)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_admin(principal: CurrentPrincipal) -> Principal:
    """The caller, who must be an admin (403 otherwise)."""
    ensure_role(principal, "admin")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]
