"""ASGI middleware that caps request bodies, whether sized by Content-Length or chunked."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Reject bodies over their route's limit with 413: up front from Content-Length, else while
    reading. Upload routes (`uploads`: (method, path) pairs) get `max_bytes`; every other route
    `json_max_bytes` (a JSON body of 150 MB cost 581 MB of memory before its 422)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        json_max_bytes: int | None = None,
        uploads: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_max_bytes = max_bytes if json_max_bytes is None else json_max_bytes
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = (scope.get("method", ""), str(scope.get("path", "")).rstrip("/"))
        limit = self.max_bytes if route in self.uploads else self.json_max_bytes
        mb = limit // (1024 * 1024)
        what = "上传的文件" if route in self.uploads else "请求内容"
        detail = f"{what}超过 {mb} MB 的上限;请缩小后重新提交"
        headers: dict[bytes, bytes] = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _reject(scope, receive, send, detail)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, counting_receive, send)


async def _reject(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
    from app.errors import TooLarge, problem

    path = str(scope.get("path", ""))
    response = problem(TooLarge.status, TooLarge.type, TooLarge.title, detail, path)
    await response(scope, receive, send)
