"""RFC 9112 §6.1: a server MUST NOT send Transfer-Encoding to an HTTP/1.0 client.

An ASGI app that sets ``transfer-encoding: chunked`` itself (apps that relay an upstream
response's headers do) gets chunked framing on the wire even for an HTTP/1.0 client, which
then takes the chunk sizes for body bytes. The protocol layer already falls back to a
close-delimited body for HTTP/1.0 when asked for chunked= itself; the header path does not.
"""

from __future__ import annotations

from typing import Any

from tests.server.support import read_for, running, split_response


async def _sets_chunked(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"transfer-encoding", b"chunked")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_http10_client_never_gets_a_chunked_body() -> None:
    with running(_sets_chunked, shutdown_timeout=1.0) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data, closed = read_for(sock, 3.0)
    status, headers, body = split_response(data)
    assert status == 200
    assert "transfer-encoding" not in headers
    assert closed
    assert body == b"hello"
