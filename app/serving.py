"""uvicorn's HTTP protocol with TCP_NODELAY on every connection.

With `--workers N` uvicorn binds the listening socket itself (`socket.socket(family)`, protocol
number 0), and asyncio only sets TCP_NODELAY on connections whose socket says IPPROTO_TCP: every
answer then waited ~40 ms for the client's delayed ACK (Nagle), a flat 48–52 ms per request at
one client whatever the route (bench/RESULTS-serve.md). Setting it on each connection serves
one process and many alike."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock: Any = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
