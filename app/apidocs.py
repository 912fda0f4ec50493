"""The OpenAPI document and the API docs pages, served offline.

Swagger UI (/docs) and ReDoc (/redoc) load their scripts and styles from the service itself: the
files ship in the `fastapi-offline` package, so the docs work on a network without internet. The
document declares the bearer-token scheme (the "Authorize" button), the problem+json shapes every
error has, and the 4xx answers of each endpoint.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.errors import BY_ID, Problem, ValidationProblem

DOCS_STATIC = "/docs-static"
"""Where the Swagger UI and ReDoc files are served."""
STATIC_DIR = files("fastapi_offline") / "static"
PUBLIC_PATHS = {"/api/v1/health"}
"""Operations that need no token."""
DESCRIPTION = """\
设备更新台账服务的接口说明。

- **认证**:除 `/health` 外,每个请求都要带 `Authorization: Bearer <令牌>`;点击右上角
  "Authorize" 填入令牌即可在本页试用(令牌由 `python -m app accounts tokens` 或管理员接口签发)。
- **错误格式**:所有错误都是 RFC 9457 `application/problem+json`:`type` 为稳定的英文问题类型
  URI,`title` 与 `detail` 为中文说明;422 的 `errors` 逐项给出 `field`(英文字段名)、`type`
  (英文错误代码)与 `msg`(中文原因)。
- **翻页**:列表接口按键集翻页,把上一页的 `next_cursor` 原样作为 `cursor` 传回。
- **中文取值**:筛选条件和请求体接受导出表中使用的中文标签(如 `category=电梯`、
  `status=已更新`),金额可写 `8万元`,日期可写 `2026年11月`。
"""


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The service's OpenAPI document (made once per app)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=DESCRIPTION,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (Problem, ValidationProblem):
        own = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(own.pop("$defs", {}))
        schemas[model.__name__] = own
    components["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "API 令牌(rr_…),由管理员签发",
        }
    }
    schema["security"] = [{"bearerAuth": []}]
    for path, operations in schema.get("paths", {}).items():
        if "{" in path:  # an object named in the path may not exist (or be out of scope)
            for operation in operations.values():
                for code, response in BY_ID.items():
                    operation.setdefault("responses", {}).setdefault(str(code), response)
        if path in PUBLIC_PATHS:
            for operation in operations.values():
                operation["security"] = []
                for code in ("401", "403", "429"):
                    operation.get("responses", {}).pop(code, None)
    app.openapi_schema = schema
    return schema


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, with their files served by the service."""
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.mount(DOCS_STATIC, StaticFiles(directory=str(STATIC_DIR)), name="docs-static")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
            with_google_fonts=False,
        )
