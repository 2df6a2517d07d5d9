"""RFC 9110 §7.8: "A server MUST ignore an Upgrade header field that is received in an
HTTP/1.0 request" (a 1.0 intermediary may have forwarded hop-by-hop headers it does not
understand), and RFC 6455 §4.1 needs HTTP/1.1 for the handshake. The server switches an
HTTP/1.0 request to WebSocket (101) instead of answering it as plain HTTP."""

from __future__ import annotations

from tests.server import apps
from tests.server.support import read_for, running

WS = (
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


def test_http10_upgrade_is_ignored() -> None:
    with running(apps.asgi_websocket_echo) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n" + WS + b"\r\n")
        data, _ = read_for(sock, 2.0)
    assert not data.startswith(b"HTTP/1.1 101 "), data
    assert b"hello from asgi" in data, data
