"""Request-target handling.

A request line over max_line_bytes is documented (docs/server.md) to get 414; once it is
also over max_header_bytes (64 KiB by default) the head-size check runs first and the client
gets 431 "Request Header Fields Too Large" for what is a too-long URL.

RFC 9112 §3.2.2: with an absolute-form target the server MUST ignore the Host header and use
the target's authority. The app is handed the Host header instead, so a client can make the
app build URLs (or route) for a host other than the one the request is for.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server import apps
from tests.server.support import read_for, running, split_response


def test_url_longer_than_the_head_limit_gets_414() -> None:
    length = 70_000  # over max_line_bytes (8 KiB) and max_header_bytes (64 KiB)
    with running(apps.asgi_hello, shutdown_timeout=1.0) as server, server.connect() as sock:
        sock.sendall(b"GET /" + b"a" * length + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        data, _ = read_for(sock, 3.0)
    assert split_response(data)[0] == 414, data[:120]


def _wsgi_host(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [f"{environ.get('HTTP_HOST')} {environ['SERVER_NAME']}".encode()]


async def _asgi_host(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    hosts = [value for name, value in scope["headers"] if name == b"host"]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b" ".join(hosts)})


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        pytest.param(_wsgi_host, b"good.example good.example", id="wsgi"),
        pytest.param(_asgi_host, b"good.example", id="asgi"),
    ],
)
def test_absolute_form_target_wins_over_host_header(app: Any, expected: bytes) -> None:
    with running(app, shutdown_timeout=1.0) as server, server.connect() as sock:
        sock.sendall(
            b"GET http://good.example/page HTTP/1.1\r\nHost: evil.example\r\n"
            b"Connection: close\r\n\r\n"
        )
        data, _ = read_for(sock, 3.0)
    status, _, body = split_response(data)
    assert status == 200
    assert body == expected
