"""A request carrying ``Upgrade`` that the app does not take (h2c from ``curl --http2``, or
any non-WebSocket upgrade) must be served as plain HTTP (RFC 9110 §7.8): its body, if any,
delivered and ended. Today the body never ends, so an app that reads it never answers."""

from __future__ import annotations

import pytest

from tests.server import apps
from tests.server.support import read_for, running

H2C = (
    b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
)


@pytest.mark.parametrize("app", [apps.asgi_echo, apps.wsgi_echo], ids=["asgi", "wsgi"])
def test_h2c_upgrade_get_is_answered_when_app_reads_body(app: object) -> None:
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + H2C + b"\r\n")
        data, _ = read_for(sock, 3.0)
    assert data.startswith(b"HTTP/1.1 200 "), data


@pytest.mark.parametrize("app", [apps.asgi_echo, apps.wsgi_echo], ids=["asgi", "wsgi"])
def test_h2c_upgrade_post_body_reaches_app(app: object) -> None:
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + H2C + b"Content-Length: 5\r\n\r\nhello")
        data, _ = read_for(sock, 3.0)
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert data.endswith(b"hello"), data
