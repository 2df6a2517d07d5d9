"""Graceful shutdown answers requests whose head arrived before the signal (it dropped a
pipelined one, and gave a WebSocket handshake still with the app no answer at all).

docs/server.md, "Graceful shutdown": "A request whose head arrived before the signal is
answered, not dropped." (protocol.py start_request says the same: "none is lost").
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.server.apps import lifespan_ok
from tests.server.support import read_until_closed, running

WS_HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_websocket_handshake_in_progress_at_shutdown_gets_an_http_answer(
    use_uvloop: bool,
) -> None:
    """An app that checks something (auth, a database) before websocket.accept: a
    shutdown meanwhile closed the connection without any answer (the client sees a bare
    EOF to its handshake, the app a ClientDisconnected the client never caused).
    uvicorn answers such a handshake (500); accepting it and then closing with 1001, or a
    503 with Connection: close, would do as well."""
    app_saw: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan_ok(receive, send)
            return
        await receive()  # websocket.connect
        await asyncio.sleep(0.6)  # authenticating the client
        try:
            await send({"type": "websocket.accept"})
            await receive()
        except Exception as exc:
            app_saw.append(repr(exc))

    with running(app, shutdown_timeout=5.0, use_uvloop=use_uvloop) as server:
        sock = server.connect()
        sock.sendall(WS_HANDSHAKE)
        time.sleep(0.2)  # the handshake is with the app now
        server.server.shutdown()
        data = read_until_closed(sock)
        sock.close()
    assert data.startswith(b"HTTP/1.1 "), (
        f"handshake received before shutdown got no answer: {data!r}; app saw {app_saw}"
    )


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_pipelined_request_received_before_shutdown_is_answered(use_uvloop: bool) -> None:
    """Two pipelined requests, both heads read by the server before the signal: only the
    first was answered, the second silently dropped when the connection closed."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan_ok(receive, send)
            return
        if scope["path"] == "/long":
            await asyncio.sleep(0.8)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    with running(app, shutdown_timeout=5.0, use_uvloop=use_uvloop) as server:
        sock = server.connect()
        sock.sendall(
            b"GET /long HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        time.sleep(0.3)  # both heads are in the server's buffer, /long is in the app
        server.server.shutdown()
        data = read_until_closed(sock)
        sock.close()
    assert data.count(b"HTTP/1.1 200") == 2, data
    assert data.endswith(b"/second"), data
