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


BAD_CURSOR = "翻页游标无效:请原样传回上一页的 next_cursor"
WRONG_ORDER = "翻页游标与当前排序方式不符:请从第一页重新翻页"
INT64 = (-(2**63), 2**63 - 1)


def _cursor_error(detail: str) -> Invalid:
    error = {"loc": ["query", "cursor"], "field": "cursor", "msg": detail, "type": "cursor"}
    return Invalid(detail, field="cursor", errors=[error])


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """Decode a cursor made by encode_cursor; a damaged one is a 422 on `cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _cursor_error(BAD_CURSOR) from exc
    if not isinstance(values, list) or len(values) != size:
        raise _cursor_error(WRONG_ORDER)
    return values


def decode_keys(cursor: str, *kinds: type[int] | type[str]) -> list[Any]:
    """Decode a cursor whose values are whole numbers (64-bit) or short texts, in that order.

    A value of another type (or a number no column can hold) is a 422 on `cursor`, never a
    TypeError or a driver overflow."""
    values = decode_cursor(cursor, len(kinds))
    for value, kind in zip(values, kinds, strict=True):
        if kind is int:
            ok = type(value) is int and INT64[0] <= value <= INT64[1]
        else:
            ok = isinstance(value, str) and len(value) <= 512
        if not ok:
            raise _cursor_error(WRONG_ORDER)
    return values


def decode_id(cursor: str) -> int:
    """The id of a cursor made by encode_cursor([id])."""
    (last_id,) = decode_keys(cursor, int)
    return int(last_id)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with wildcards escaped (escape char '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
