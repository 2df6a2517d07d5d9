"""A WSGI or ASGI app whose Content-Length does not match the body it streams.

The status line is already gone when the mismatch shows, so the only honest signal is to cut
the connection. Today the LocalProtocolError is raised inside a loop callback
(WSGICycle._loop_body), nobody handles it, and the connection stays open forever: the client
waits for bytes that never come, and graceful shutdown has to wait for shutdown_timeout.
ASGI, body shorter than declared: send() marks the response complete before
send_end_of_message() raises, so ASGICycle._done() sees a "complete" response and never
aborts: the same hang.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.support import read_for, running


def _short_body(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Length", "10")])
    yield b"hello"  # 5 of the 10 bytes promised


def _long_body(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Length", "7")])
    yield b"hello"
    yield b"world"  # goes past the 7 bytes promised


def _short_body_write(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    write = start_response("200 OK", [("Content-Length", "10")])
    write(b"hello")
    return []


async def _asgi_short_stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]}
    )
    await send({"type": "http.response.body", "body": b"hello", "more_body": True})
    await send({"type": "http.response.body", "body": b""})  # 5 of the 10 bytes promised


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(_asgi_short_stream, id="asgi-stream-shorter-than-content-length"),
        pytest.param(_short_body, id="body-shorter-than-content-length"),
        pytest.param(_long_body, id="body-longer-than-content-length"),
        pytest.param(_short_body_write, id="write-callable-shorter"),
    ],
)
def test_content_length_mismatch_closes_the_connection(app: Any) -> None:
    with running(app, shutdown_timeout=1.0) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data, closed = read_for(sock, 3.0)
    assert data.startswith(b"HTTP/1.1 200"), data
    # Never more body bytes than the Content-Length promised...
    assert len(data.partition(b"\r\n\r\n")[2]) <= 7
    # ...and the connection must be cut so the client sees the truncation, not a hang.
    assert closed, f"connection left open after a broken Content-Length answer: {data!r}"


def _first_chunk_too_long(more: bool) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        start = {"type": "http.response.start", "status": 200}
        await send({**start, "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"hello world", "more_body": more})

    return app


@pytest.mark.parametrize("more", [False, True], ids=["whole-body", "first-chunk"])
def test_a_first_body_longer_than_content_length_is_never_left_hanging(more: bool) -> None:
    # Whole body: nothing was framed yet, so a plain 500. First of several chunks: the head
    # was framed before the length check failed, so the connection is cut (it hung).
    with running(_first_chunk_too_long(more), shutdown_timeout=1.0) as server:
        with server.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data, closed = read_for(sock, 3.0)
    assert data.startswith(b"HTTP/1.1 500") or (closed and not data), (data, closed)
