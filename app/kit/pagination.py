"""Opaque keyset cursors."""

from __future__ import annotations

import base64
import json
from typing import Any

from app.errors import Invalid


def encode_cursor(values: list[Any]) -> str:
    """Encode the sort key of the last row of a page."""
    raw = json.dumps(values, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """Decode a cursor made by encode_cursor; a damaged one is a 422 on `cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(
            "cursor is not valid; use next_cursor from the previous page", field="cursor"
        ) from exc
    if not isinstance(values, list) or len(values) != size:
        raise Invalid("cursor does not match this sort order", field="cursor")
    return values


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with wildcards escaped (escape char '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
