"""An app that answers without reading the request body (401, redirect, hello) has sent the
one response its request gets. If the rest of that body then breaks a limit or the chunked
framing while the server drains it, the server writes a SECOND response (413/400) for the
same request, which a keep-alive client reads as the answer to its next request. After a
complete response the server must only close the connection."""

from __future__ import annotations

import pytest

from tests.server import apps
from tests.server.support import read_for, read_response, running

HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"


@pytest.mark.parametrize(
    "rest",
    [b"10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n", b"zz\r\nhello\r\n0\r\n\r\n"],
    ids=["over-max-body-bytes", "bad-chunk-size"],
)
def test_no_unsolicited_response_after_an_early_answer(rest: bytes) -> None:
    with running(apps.asgi_hello, max_body_bytes=10) as server, server.connect() as sock:
        sock.sendall(HEAD)
        buffer = bytearray()
        status, _, body = read_response(sock, buffer)
        assert (status, body) == (200, b"hello from asgi")
        sock.sendall(rest + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        after, _ = read_for(sock, 2.0)
    after = bytes(buffer) + after
    # Either nothing more (connection closed) or the answer to the GET: never an error
    # response standing in for the second request's answer.
    assert not after.startswith((b"HTTP/1.1 413", b"HTTP/1.1 400")), after
