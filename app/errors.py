"""Domain errors and their rendering as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


class DomainError(Exception):
    """Base of every error a service raises; carries a stable problem type and extra members."""

    status: ClassVar[int] = 400
    type: ClassVar[str] = "/problems/bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, type, title = 404, "/problems/not-found", "Resource not found"


class Conflict(DomainError):
    status, type, title = 409, "/problems/conflict", "Conflict"


class Invalid(DomainError):
    """Input that parses but breaks a rule; `errors` lists {loc, field, msg} items."""

    status, type, title = 422, "/problems/invalid", "Invalid input"


class Unauthorized(DomainError):
    status, type, title = 401, "/problems/unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, type, title = 403, "/problems/forbidden", "Not allowed"


class TooLarge(DomainError):
    status, type, title = 413, "/problems/too-large", "Payload too large"


class TooManyRequests(DomainError):
    status, type, title = 429, "/problems/too-many-requests", "Too many requests"


class UnsupportedMedia(DomainError):
    status, type, title = 415, "/problems/unsupported-media", "Unsupported file"


CONSTRAINT_MESSAGES: dict[str, str] = {
    "uq_assets_category_asset_code": "an asset with this category and asset_code already exists",
}


def problem(
    status: int, type_: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    """Build a problem+json response."""
    body = {"type": type_, "title": title, "status": status, "detail": detail, "instance": instance}
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 429:
        headers = {"Retry-After": "60"}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _loc_field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the service can raise as problem+json."""

    @app.exception_handler(DomainError)
    def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.type, exc.title, exc.detail, request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "field": _loc_field(tuple(e.get("loc", ()))),
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
        return problem(
            422,
            "/problems/validation",
            "Request validation failed",
            f"invalid or unknown fields: {fields}" if fields else "invalid request",
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(IntegrityError)
    def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        text = str(exc.orig)
        for name, message in CONSTRAINT_MESSAGES.items():
            if name in text or _sqlite_matches(name, text):
                return problem(
                    409,
                    "/problems/conflict",
                    "Conflict",
                    message,
                    request.url.path,
                    constraint=name,
                )
        log.warning("unmapped integrity error: %s", text)
        return problem(409, "/problems/conflict", "Conflict", "conflicting data", request.url.path)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            exc.status_code,
            f"/problems/http-{exc.status_code}",
            str(exc.detail),
            str(exc.detail),
            request.url.path,
        )


def _sqlite_matches(constraint: str, text: str) -> bool:
    """SQLite names columns, not the constraint: 'UNIQUE constraint failed: assets.category…'."""
    if constraint == "uq_assets_category_asset_code":
        return "assets.category, assets.asset_code" in text
    return False
