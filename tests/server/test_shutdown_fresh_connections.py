"""Graceful shutdown and connections accepted just before it: their first request is
answered (a worker roll must not lose a request its client will not retry), over TLS too;
a WebSocket opened by it is told the server is going away; and a client that never sends
one does not hold the shutdown to shutdown_timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.server.support import (
    WAIT,
    WS_HANDSHAKE,
    RunningServer,
    read_for,
    read_head,
    read_response,
    read_until_closed,
    running,
    split_response,
    ws_close_code,
)
from tests.server.tls_support import Certs


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def _accepted_and_stopping(
    server: RunningServer, get: Callable[[], tuple[int, Any, Any]] | None = None
) -> socket.socket:
    """A connection the server has accepted, with no request yet, once shutdown has begun."""
    fresh = server.connect()
    # The backlog is first in, first out: once a later connection is answered, the server
    # has accepted ``fresh`` too.
    assert (get or server.get)()[0] == 200
    server.server.shutdown()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:  # shutdown has begun once the port refuses
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=WAIT).close()
        except (ConnectionRefusedError, ConnectionResetError):  # reset: dropped from the backlog
            return fresh
        time.sleep(0.01)
    pytest.fail("the server kept accepting after shutdown()")


@pytest.mark.parametrize("use_uvloop", [False, True])
def test_request_on_connection_accepted_before_shutdown_is_answered(use_uvloop: bool) -> None:
    with running(hello, use_uvloop=use_uvloop) as server:
        fresh = _accepted_and_stopping(server)
        with fresh:
            fresh.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = split_response(read_until_closed(fresh))
        assert (status, body) == (200, b"hello")
        assert headers["connection"] == "close"  # the last answer of this server


def test_silent_fresh_connection_does_not_hold_shutdown_to_its_timeout() -> None:
    with running(hello, shutdown_timeout=30.0) as server:
        began = time.monotonic()
        fresh = _accepted_and_stopping(server)
        with fresh:
            assert read_until_closed(fresh) == b""  # closed after the grace, unanswered
        server.thread.join(WAIT)
        assert not server.thread.is_alive()
        assert time.monotonic() - began < 10.0, "shutdown waited for shutdown_timeout"


async def ws_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    for _ in range(1000):  # a chat room: waits for messages until the client leaves
        if (await receive())["type"] == "websocket.disconnect":
            return


def test_websocket_opened_as_first_request_during_shutdown_is_told_going_away() -> None:
    # A fresh connection's first request, served during shutdown, is a WebSocket upgrade.
    # WebSockets open when shutdown begins get a 1001 close at once; this one got none
    # (found by a review): the server waited to shutdown_timeout, then cut it.
    with running(ws_app, shutdown_timeout=4.0) as server:
        began = time.monotonic()
        fresh = _accepted_and_stopping(server)
        with fresh:
            fresh.sendall(WS_HANDSHAKE)
            head, rest = read_head(fresh, bytearray())
            assert head.startswith(b"HTTP/1.1 101")
            data, _closed = read_for(fresh, 2.5)
        code = ws_close_code(rest + data)
        server.thread.join(WAIT)
        took = time.monotonic() - began
    assert code == 1001, f"no 'going away' close frame within 2.5 s (got {rest + data!r})"
    assert took < 4.0, f"shutdown waited {took:.1f} s, its whole shutdown_timeout"


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return Certs(tmp_path)


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_tls_connection_accepted_before_shutdown_gets_its_first_request_answered(
    certs: Certs, use_uvloop: bool
) -> None:
    # The plain-TCP case over TLS: the client connected before shutdown and its handshake
    # (then its request) follows at once. The connection was aborted (found by a review).
    context = certs.client_context()

    def tls_get() -> tuple[int, dict[str, str], bytes]:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return read_response(sock)

    with running(
        hello, ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile, use_uvloop=use_uvloop
    ) as server:
        fresh = _accepted_and_stopping(server, tls_get)
        try:
            with context.wrap_socket(fresh, server_hostname="127.0.0.1") as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                status, headers, body = read_response(sock)
        except (OSError, AssertionError) as exc:
            pytest.fail(f"request on a TLS connection accepted before shutdown lost: {exc!r}")
    assert (status, body) == (200, b"hello")
    assert headers.get("connection") == "close"
