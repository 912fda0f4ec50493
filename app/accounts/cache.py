"""Valid tokens remembered briefly in-process, so a read does not look its token up each time.

An entry lives `AuthSettings.token_cache_seconds` (5 s by default): a token revoked or an
account changed in another process stops working within that time; in this process at once
(`forget_all`, called by the account service on every revocation and account change)."""

from __future__ import annotations

import threading
import time

from app.accounts.scope import Principal

MAX_ENTRIES = 10_000
"""Tokens held at once (all are dropped when full: a flood of distinct tokens costs nothing)."""

_entries: dict[str, tuple[float, Principal]] = {}
_lock = threading.Lock()


def lookup(token_hash: str) -> Principal | None:
    """The principal of a token checked within its time to live, else None."""
    hit = _entries.get(token_hash)
    if hit is None:
        return None
    if hit[0] < time.monotonic():
        with _lock:
            _entries.pop(token_hash, None)
        return None
    return hit[1]


def remember(token_hash: str, principal: Principal, seconds: float) -> None:
    if seconds <= 0:
        return
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[token_hash] = (time.monotonic() + seconds, principal)


def forget_all() -> None:
    """Drop every entry (a token was revoked or an account changed)."""
    with _lock:
        _entries.clear()
