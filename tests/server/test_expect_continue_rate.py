"""slow-client deadlines (min_body_rate and Expect: 100-continue)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.server.support import read_head, read_response, running


async def _asgi_slow_reader(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await asyncio.sleep(2.5)  # e.g. an auth lookup before the app asks for the body
    body = b""
    for _ in range(100):
        message = await receive()
        if message["type"] != "http.request":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"got " + body})


def _wsgi_slow_reader(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    time.sleep(2.5)
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"got " + body]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_expect_continue_client_is_not_dropped_for_a_body_it_was_not_asked_for(
    kind: str,
) -> None:
    """min_body_rate's clock starts at the request head, even when the client is waiting
    (as RFC 9110 §10.1.1 lets it) for 100 Continue, which the server sends only when the app
    reads. An app that takes longer than body_rate_grace before reading gets its client cut
    off for "sending the body too slowly" while the client was never asked for it."""
    app = _asgi_slow_reader if kind == "asgi" else _wsgi_slow_reader
    with running(app, body_rate_grace=1.0, min_body_rate=1000) as server:
        sock = server.connect()
        try:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            interim = bytearray()
            head, rest = read_head(sock, interim)  # waits for 100 Continue (bounded)
            assert head.startswith(b"HTTP/1.1 100 "), head
            sock.sendall(b"hello")  # at once, as a client does when told to go on
            status, _, body = read_response(sock, bytearray(rest))
        finally:
            sock.close()
    assert (status, body) == (200, b"got hello")
