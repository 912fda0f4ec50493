"""Application factory: engine and sessions in the lifespan, routers, errors, middleware."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.apidocs import DOCS_STATIC, install_docs
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import COMMON_PROBLEMS, install_error_handlers
from app.health import router as health_router
from app.imports.worker import start_import_worker
from app.kit.body_limit import BodyLimit
from app.kit.params import XLSX
from app.kit.validation import refuse_nul
from app.rules.tasks import DailyRefresh

API_PREFIX = "/api/v1"
UPLOAD_ROUTES = frozenset({("POST", f"{API_PREFIX}/imports")})
"""Routes that take a survey workbook: the upload body limit (max_body_mb); every other route has
max_json_mb."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def api_router() -> APIRouter:
    """All versioned routers."""
    from app.accounts.router import router as accounts_router
    from app.assets.router import router as assets_router
    from app.audit.router import router as audit_router
    from app.imports.router import router as imports_router
    from app.imports.router import templates as templates_router
    from app.plans.router import renewals as renewals_router
    from app.plans.router import router as plans_router
    from app.regions.router import router as regions_router
    from app.rules.router import router as rules_router

    router = APIRouter(prefix=API_PREFIX)
    router.include_router(health_router)
    for domain in (
        regions_router,
        rules_router,
        assets_router,
        renewals_router,
        plans_router,
        accounts_router,
        audit_router,
        imports_router,
        templates_router,
    ):
        router.include_router(domain, responses=COMMON_PROBLEMS, dependencies=[Depends(refuse_nul)])
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; the engine lives for the app's lifespan."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, echo=settings.database_echo)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.settings = settings
        worker = start_import_worker(app.state.sessionmaker, settings)
        app.state.import_worker = worker
        refresh = settings.daily_refresh and settings.env != "test"
        refresher = DailyRefresh(app.state.sessionmaker).start() if refresh else None
        try:
            yield
        finally:
            if refresher is not None:
                refresher.stop()
            if worker is not None:
                worker.stop()
            engine.dispose()

    openapi_url = f"{API_PREFIX}/openapi.json"
    app = FastAPI(
        title="Renewal Registry 设备更新台账服务",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=openapi_url,
    )
    install_error_handlers(app)
    install_docs(app, openapi_url)
    app.include_router(api_router())
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.http.max_body_mb << 20,
        json_max_bytes=settings.http.max_json_mb << 20,
        uploads=UPLOAD_ROUTES,
    )

    app.add_middleware(
        GZipMiddleware,
        minimum_size=GZIP_MIN_BYTES,
        compresslevel=5,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX),
    )
    app.add_middleware(RequestContext)
    return app


GZIP_MIN_BYTES = 2048
"""Responses from this size are gzipped for clients that accept it (a due page of 50 items is
~60 KB of JSON, ~6 KB gzipped); workbooks are zip files already and are sent as they are."""


class RequestContext:
    """Each request's id (X-Request-ID, given or made) in `request.state.request_id` and on the
    response, with the security headers. Plain ASGI: the decorator form (BaseHTTPMiddleware)
    cost a task and two queues per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id")
        request_id = given or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        static = scope["path"].startswith(DOCS_STATIC)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                if static and "cache-control" not in headers:
                    headers["Cache-Control"] = "public, max-age=86400"
                for key, value in SECURITY_HEADERS.items():
                    if key.lower() not in headers:
                        headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def app_factory() -> Any:
    """uvicorn --factory entry point."""
    return create_app()
