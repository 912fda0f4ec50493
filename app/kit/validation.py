"""Turn pydantic validation errors into the service's 422 problem shape; refuse NUL characters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.errors import Invalid, chinese_message, validation_detail


def errors_from(exc: ValidationError, prefix: tuple[str, ...] = ("body",)) -> list[dict[str, Any]]:
    """{loc, field, msg, type} items, with loc prefixed like FastAPI's own request errors."""
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        out.append(
            {
                "loc": [*prefix, *loc],
                "field": ".".join(loc),
                "msg": chinese_message(dict(e)),
                "type": e["type"],
            }
        )
    return out


def invalid_from(exc: ValidationError, prefix: tuple[str, ...] = ("body",)) -> Invalid:
    """An Invalid error naming every failing field."""
    errors = errors_from(exc, prefix)
    return Invalid(validation_detail(errors), errors=errors)


NUL = "\x00"
NUL_MESSAGE = "不能含有 NUL(\\x00)字符"
MAX_NUL_ERRORS = 20


def _nul_locs(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """Where a parsed JSON value holds a string (or key) with a NUL character."""
    if isinstance(value, str):
        if NUL in value:
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield (*loc, key)
            else:
                yield from _nul_locs(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_locs(item, (*loc, i))


async def _body_nul_locs(request: Request) -> list[tuple[str | int, ...]]:
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        raw = await request.body()  # FastAPI has read it already: the cached bytes
        if b"\\u0000" not in raw:
            return []
        try:
            return list(_nul_locs(json.loads(raw), ("body",)))
        except ValueError:
            return []  # not JSON: FastAPI's own json_invalid error says so
    if content_type.startswith("multipart/form-data"):
        form = await request.form()  # cached as well
        return [
            ("body", key)
            for key, item in form.multi_items()
            if NUL in key
            or (isinstance(item, str) and NUL in item)
            or (not isinstance(item, str) and NUL in (item.filename or ""))
        ]
    return []


async def refuse_nul(request: Request) -> None:
    """422 for a NUL character in any query, path or body text (a file name included):
    PostgreSQL text cannot hold one, and SQLite is held to the same rule so both answer alike."""
    locs: list[tuple[str | int, ...]] = [
        ("query", key)
        for key, value in request.query_params.multi_items()
        if NUL in key or NUL in value
    ]
    locs += [
        ("path", key)
        for key, value in request.path_params.items()
        if isinstance(value, str) and NUL in value
    ]
    locs += await _body_nul_locs(request)
    if locs:
        raise RequestValidationError(
            [
                {"type": "nul_character", "loc": loc, "msg": NUL_MESSAGE, "input": None}
                for loc in locs[:MAX_NUL_ERRORS]
            ]
        )
