"""ASGI middleware that caps request bodies, whether sized by Content-Length or chunked."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Reject bodies over `max_bytes` with 413: up front from Content-Length, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        detail = f"request body exceeds {limit // (1024 * 1024)} MB"
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
    from app.errors import problem

    response = problem(
        413, "/problems/too-large", "Payload too large", detail, str(scope.get("path", ""))
    )
    await response(scope, receive, send)
