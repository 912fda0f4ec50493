"""Turn pydantic validation errors into the service's 422 problem shape."""

from __future__ import annotations

from typing import Any

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
