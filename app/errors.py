"""Domain errors and their rendering as RFC 9457 problem+json.

People read `title` and `detail` (Chinese); programs read the stable `type` URI, `status`, and
in 422s each error's `type` code and `field`. Every error, an unexpected one included, leaves as
application/problem+json; a 500 names its request id and never carries a traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
CJK = re.compile(r"[\u4e00-\u9fff]")
"""A Chinese character: a detail without one is the framework's English and is replaced."""


class DomainError(Exception):
    """Base of every error a service raises; carries a stable problem type and extra members."""

    status: ClassVar[int] = 400
    type: ClassVar[str] = "/problems/bad-request"
    title: ClassVar[str] = "请求有误"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, type, title = 404, "/problems/not-found", "资源不存在"


class Conflict(DomainError):
    status, type, title = 409, "/problems/conflict", "数据冲突"


class Invalid(DomainError):
    """Input that parses but breaks a rule; `errors` lists {loc, field, msg, type} items (`type`
    defaults to `value_error`, pydantic's code for a value a rule refuses)."""

    status, type, title = 422, "/problems/invalid", "输入不符合要求"

    def __init__(self, detail: str, **extra: Any) -> None:
        if isinstance(extra.get("errors"), list):
            extra["errors"] = [
                {**e, "type": e.get("type") or "value_error"} if isinstance(e, dict) else e
                for e in extra["errors"]
            ]
        super().__init__(detail, **extra)


class Unauthorized(DomainError):
    status, type, title = 401, "/problems/unauthorized", "需要身份认证"


class Forbidden(DomainError):
    status, type, title = 403, "/problems/forbidden", "无权执行此操作"


class TooLarge(DomainError):
    status, type, title = 413, "/problems/too-large", "请求内容过大"


class TooManyRequests(DomainError):
    status, type, title = 429, "/problems/too-many-requests", "请求过于频繁"


class UnsupportedMedia(DomainError):
    status, type, title = 415, "/problems/unsupported-media", "不支持的文件类型"


CONSTRAINT_MESSAGES: dict[str, str] = {
    "uq_assets_category_asset_code": "已存在同类别、同设备编号(asset_code)的设备",
}

HTTP_PROBLEMS: dict[int, tuple[str, str, str]] = {
    400: ("/problems/bad-request", "请求有误", "请求格式不正确"),
    401: (
        "/problems/unauthorized",
        "需要身份认证",
        "缺少或无效的身份令牌;请在请求头中提供 Authorization: Bearer <令牌>",
    ),
    403: ("/problems/forbidden", "无权执行此操作", "您无权执行此操作;如需办理请联系管理员"),
    404: ("/problems/not-found", "资源不存在", "请求的地址不存在;请核对网址(接口说明见 /docs)"),
    405: ("/problems/method-not-allowed", "请求方法不被允许", "该地址不支持此请求方法"),
    406: ("/problems/not-acceptable", "无法提供所请求的格式", "无法提供所请求的格式"),
    409: ("/problems/conflict", "数据冲突", "与已有数据冲突"),
    413: ("/problems/too-large", "请求内容过大", "请求内容超过上限;请缩小后重新提交"),
    415: (
        "/problems/unsupported-media",
        "不支持的内容类型",
        "不支持该内容类型(Content-Type);请按接口说明提交",
    ),
    416: ("/problems/range-not-satisfiable", "请求的范围无效", "请求的文件范围(Range)无效"),
    422: ("/problems/validation", "请求参数校验失败", "请求参数无效"),
    429: ("/problems/too-many-requests", "请求过于频繁", "请求过于频繁,请稍后再试"),
}
"""Problem type, title and default detail of the HTTP errors the framework raises itself."""
INTERNAL = ("/problems/internal", "服务器内部错误")

VALIDATION_MESSAGES: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的字段",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "int_parsing_size": "整数超出可处理的范围",
    "multiple_of": "应为 {multiple_of} 的整数倍",
    "finite_number": "应为有限的数字",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "decimal_max_digits": "数字位数过多(最多 {max_digits} 位)",
    "decimal_max_places": "小数位数过多(最多 {decimal_places} 位)",
    "decimal_whole_digits": "整数部分位数过多",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_unicode": "应为有效的 Unicode 文本",
    "string_too_short": "文本过短(至少 {min_length} 个字符)",
    "string_too_long": "文本过长(最多 {max_length} 个字符)",
    "string_pattern_mismatch": "格式不正确(应符合 {pattern})",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "literal_error": "取值无效(可选: {expected})",
    "enum": "取值无效(可选: {expected})",
    "union_tag_invalid": "{discriminator} 的取值 '{tag}' 无效(可选: {expected_tags})",
    "union_tag_not_found": "缺少用于区分类别的字段 {discriminator}",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期 YYYY-MM-DD,不能带时间",
    "date_past": "应为过去的日期",
    "date_future": "应为将来的日期",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "date_type": "应为日期 YYYY-MM-DD",
    "datetime_parsing": "应为时间 YYYY-MM-DDTHH:MM:SS",
    "datetime_from_date_parsing": "应为时间 YYYY-MM-DDTHH:MM:SS",
    "datetime_type": "应为时间 YYYY-MM-DDTHH:MM:SS",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "mapping_type": "应为对象",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "none_required": "应为空(null)",
    "time_parsing": "应为时间 HH:MM:SS",
    "timezone_naive": "时间不应带时区",
    "timezone_aware": "时间应带时区(如 +08:00)",
    "url_parsing": "应为有效的网址",
    "uuid_parsing": "应为有效的 UUID",
    "bytes_too_long": "内容过长(最多 {max_length} 字节)",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "too_short": "条目过少(至少 {min_length} 项)",
    "too_long": "条目过多(最多 {max_length} 项)",
    "json_invalid": "不是有效的 JSON",
    "nul_character": "不能含有 NUL(\\x00)字符",
    "value_error": "{error}",
    "assertion_error": "{error}",
}
"""Chinese messages for pydantic's error types; the English `type` code stays in each error."""


def problem(
    status: int,
    type_: str,
    title: str,
    detail: str,
    instance: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body = {"type": type_, "title": title, "status": status, "detail": detail, "instance": instance}
    body.update(extra)
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if status == 429:
        headers.setdefault("Retry-After", "60")
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers or None)


def _loc_field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts)


def chinese_message(error: dict[str, Any]) -> str:
    """A pydantic error's message in Chinese; a type not in the table keeps its own text after
    a Chinese lead, so a person still reads what went wrong."""
    template = VALIDATION_MESSAGES.get(str(error.get("type", "")))
    if template is None:
        msg = str(error.get("msg", ""))
        return msg if CJK.search(msg) else f"取值无效: {msg}"
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if "error" in ctx or template == "{error}":
        msg = str(error.get("msg", ""))
        ctx.setdefault(
            "error", msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        )
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template.split("(")[0]


MAX_DETAIL_ERRORS = 5
"""A 422's detail spells out this many failing fields; `errors` lists them all."""


def validation_detail(errors: list[dict[str, Any]]) -> str:
    """A 422's detail: each failing field with its Chinese reason, e.g.
    '以下参数或字段无效: limit(应不小于 1); colour(不允许的字段)'."""
    parts = [f"{e['field']}({e['msg']})" if e["field"] else e["msg"] for e in errors]
    parts = list(dict.fromkeys(parts))
    if not parts:
        return HTTP_PROBLEMS[422][2]
    shown = "; ".join(parts[:MAX_DETAIL_ERRORS])
    more = f" 等 {len(parts)} 项" if len(parts) > MAX_DETAIL_ERRORS else ""
    return f"以下参数或字段无效: {shown}{more}"


def validation_errors(raw: list[Any]) -> list[dict[str, Any]]:
    """FastAPI's request errors as {loc, field, msg, type} items, `msg` in Chinese."""
    return [
        {
            "loc": list(e.get("loc", ())),
            "field": _loc_field(tuple(e.get("loc", ()))),
            "msg": chinese_message(e),
            "type": e.get("type", ""),
        }
        for e in raw
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the service can raise as problem+json."""

    @app.exception_handler(DomainError)
    def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.type, exc.title, exc.detail, request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        type_, title, _ = HTTP_PROBLEMS[422]
        return problem(
            422, type_, title, validation_detail(errors), request.url.path, errors=errors
        )

    @app.exception_handler(IntegrityError)
    def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        text = str(exc.orig)
        for name, message in CONSTRAINT_MESSAGES.items():
            if name in text or _sqlite_matches(name, text):
                return problem(
                    409, Conflict.type, Conflict.title, message, request.url.path, constraint=name
                )
        log.warning("unmapped integrity error: %s", text)
        return problem(409, Conflict.type, Conflict.title, "数据与已有记录冲突", request.url.path)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = exc.status_code
        type_, title, default = HTTP_PROBLEMS.get(
            code, (f"/problems/http-{code}", "请求无法处理", f"请求无法处理(HTTP {code})")
        )
        detail = str(exc.detail) if CJK.search(str(exc.detail)) else default
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = allowed_methods(request) or headers.get("Allow", "")
            headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
            headers["Allow"] = allowed
            detail = f"{default}(允许: {allowed})" if allowed else default
        return problem(exc.status_code, type_, title, detail, request.url.path, headers=headers)

    @app.exception_handler(Exception)
    def _internal(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None) or request.headers.get(
            "x-request-id", ""
        )
        log.error(
            "unhandled error on %s %s (request %s)",
            request.method,
            request.url.path,
            request_id,
            exc_info=exc,
        )
        type_, title = INTERNAL
        headers = {"X-Request-ID": request_id} if request_id else None
        return problem(
            500,
            type_,
            title,
            f"服务器处理请求时出错,请稍后重试或联系管理员(请求编号 {request_id})",
            request.url.path,
            headers=headers,
            request_id=request_id,
        )


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _sqlite_matches(constraint: str, text: str) -> bool:
    """SQLite names columns, not the constraint: 'UNIQUE constraint failed: assets.category…'."""
    if constraint == "uq_assets_category_asset_code":
        return "assets.category, assets.asset_code" in text
    return False


# --- the problem shapes in the OpenAPI document ---------------------------------------------


class Problem(BaseModel):
    """An RFC 9457 problem: `type` and `status` for programs, `title` and `detail` for people."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="稳定的问题类型 URI(英文),程序据此判断错误种类")
    title: str = Field(description="错误标题(中文)")
    status: int = Field(description="HTTP 状态码")
    detail: str = Field(description="错误说明(中文),指出哪一行、哪一列、哪个字段及原因")
    instance: str = Field(description="出错的请求路径")


class ProblemError(BaseModel):
    """One failing parameter or field of a 422."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="位置:body/query/path 加字段路径")
    field: str = Field(description="字段或参数名(英文代码)")
    msg: str = Field(description="错误原因(中文)")
    type: str = Field(description="错误代码(英文,如 missing、extra_forbidden)")


class ValidationProblem(Problem):
    """A 422: every failing parameter or field in `errors`."""

    model_config = ConfigDict(extra="allow", title="ValidationProblem")

    errors: list[ProblemError] = Field(default_factory=list, description="逐项错误")


PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "请求有误",
    401: "缺少或无效的身份令牌(Authorization: Bearer …)",
    403: "角色或管辖范围不允许",
    404: "资源不存在或不在调用者的管辖范围内",
    409: "与已有数据冲突",
    413: "请求内容或文件过大",
    415: "不支持的文件或内容类型",
    422: "参数或字段校验失败(errors 逐项列出)",
    429: "认证失败次数过多,请稍后再试",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries of these error statuses, each as application/problem+json."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        schema = "ValidationProblem" if code == 422 else "Problem"
        out[code] = {
            "description": PROBLEM_DESCRIPTIONS[code],
            "content": {PROBLEM: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    return out


COMMON_PROBLEMS = problems(400, 401, 403, 422, 429)
"""Every authenticated endpoint may answer these."""
BY_ID = problems(404)
"""Endpoints that name an object in their path."""
WRITE = problems(404, 409, 413)
"""Endpoints that change data."""
UPLOAD = problems(409, 413, 415)
"""Endpoints that take a file."""
