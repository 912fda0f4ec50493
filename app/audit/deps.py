"""The reason a client gives for its change: header X-Change-Reason."""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import Request

from app.errors import Invalid

REASON_HEADER = "X-Change-Reason"
MAX_REASON = 500


def _invalid(msg: str) -> Invalid:
    return Invalid(
        f"请求头 {REASON_HEADER}(修改原因)无效: {msg}",
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
        raise _invalid("百分号编码的内容不是 UTF-8 文字") from exc
    if "\x00" in text:
        raise _invalid("不能含有 NUL(\\x00)字符")
    if len(text) > MAX_REASON:
        raise _invalid(f"超过 {MAX_REASON} 个字符,请写得简短些")
    return text or None
