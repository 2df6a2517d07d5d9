"""A chunked upload that offers an Upgrade (curl --http2 on http://) is served as plain HTTP
(it got 501 "unknown method": found by a differential review of the WSGI path).

Each raw request below was sent to the same app under gunicorn 27 and waitress too: both
serve it as plain HTTP.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.server.support import WAIT, read_until_closed, running


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"got:" + body]


@pytest.mark.parametrize("upgrade", [b"h2c", b"websocket"])
def test_chunked_upload_offering_an_upgrade_is_served_as_plain_http(upgrade: bytes) -> None:
    """A chunked POST that also offers an Upgrade (curl --http2 on http:// sends
    "Connection: Upgrade, HTTP2-Settings" + "Upgrade: h2c") must be served as plain HTTP,
    as _finish_head intends ("one with a body is served as plain HTTP") and as it already
    is with a Content-Length body. Now llhttp, stopped after the head by the upgrade, is
    fed the chunked body and reads "5\\r\\n..." as a request line: the client gets
    "501 request has an unknown method" and the app never runs."""
    request = (
        b"POST /upload HTTP/1.1\r\nHost: x\r\n"
        b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: " + upgrade + b"\r\n"
        b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    with running(_echo, interface="wsgi") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(request + b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = read_until_closed(sock)
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200"), data[:200]
    assert b"got:hello world" in rest
    # The connection stays in sync: the pipelined request after the body is answered too.
    assert rest.count(b"HTTP/1.1 200") == 1, data
