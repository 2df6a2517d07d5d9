"""RFC 9112 §3.2: a server MUST answer 400 to a request whose Host field value is invalid
(not ``uri-host [":" port]``). docs/server.md promises strict RFC 9112 parsing."""

from __future__ import annotations

import pytest

from tests.server import apps
from tests.server.support import raw_exchange, running


@pytest.mark.parametrize(
    "host",
    [b"user@example.com", b"a b", b"example.com:80:80", b"example.com/path"],
    ids=["userinfo", "space", "two-ports", "path"],
)
def test_invalid_host_value_gets_400(host: bytes) -> None:
    with running(apps.asgi_hello) as server, server.connect() as sock:
        data = raw_exchange(
            sock, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
        )
    assert data.startswith(b"HTTP/1.1 400 "), data
