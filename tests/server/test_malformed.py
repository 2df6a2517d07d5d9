"""Strict parsing: each malformed request gets its status code, then the connection closes."""

from __future__ import annotations

import pytest

from tests.server import apps
from tests.server.support import raw_exchange, running

CASES = [
    # A TLS ClientHello sent to the plain-HTTP port: not a method we know (RFC 9110 §9.1).
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 501),
    ("HTTP/0.9", b"GET /\r\n\r\n", 505),
    ("lowercase method", b"get / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    ("bad version", b"GET / HTTP/2.7\r\nHost: x\r\n\r\n", 505),
    ("space in header name", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400),
    ("CL and TE", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("two Content-Lengths", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("bad Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc", 400),
    ("unknown Transfer-Encoding", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    ("header too big", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ("too many headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(150)) + b"\r\n", 431),
    ("body too large", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n", 413),
    ("request line too long", b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("NUL in header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_bytes", "status"), [pytest.param(r, s, id=i) for i, r, s in CASES]
)
@pytest.mark.parametrize(
    "app", [pytest.param(apps.wsgi_echo, id="wsgi"), pytest.param(apps.asgi_echo, id="asgi")]
)
def test_malformed_request_gets_status_and_close(
    app: object, request_bytes: bytes, status: int
) -> None:
    with running(app, max_body_bytes=1000) as server, server.connect() as sock:
        reply = raw_exchange(sock, request_bytes)  # returns only once the server closed
    assert reply.startswith(b"HTTP/1.1 %d " % status), reply[:200]
    assert b"connection: close" in reply.lower()


def test_error_after_good_request_still_answers_the_good_one() -> None:
    with running(apps.asgi_hello) as server, server.connect() as sock:
        reply = raw_exchange(sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"hello from asgi" in reply
    assert reply.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 501 " in reply  # "BROKEN" is no method we know
