"""The reason a client gives for its change: header X-Change-Reason."""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import Request

from app.errors import Invalid

REASON_HEADER = "X-Change-Reason"
MAX_REASON = 500


def _invalid(msg: str) -> Invalid:
    return Invalid(
        f"{REASON_HEADER}: {msg}",
        errors=[{"loc": ["header", REASON_HEADER], "field": REASON_HEADER, "msg": msg}],
    )


def change_reason(request: Request) -> str | None:
    """The request's change reason: UTF-8, sent raw (curl) or percent-encoded (browsers)."""
    raw = request.headers.get(REASON_HEADER)
    if raw is None:
        return None
    try:
        text = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        text = raw
    try:
        text = unquote(text, errors="strict").strip()
    except UnicodeDecodeError as exc:
        raise _invalid("percent-encoded bytes are not UTF-8") from exc
    if len(text) > MAX_REASON:
        raise _invalid(f"longer than {MAX_REASON} characters")
    return text or None
