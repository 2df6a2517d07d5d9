"""A stray CR line before the request or status line (found by fuzzing the sans-IO core).

llhttp skips a "\\r\\r\\n" before the request line. The head reader takes that "line" as the
request line (3 bytes: within max_line_bytes, on the fast path and on the piecewise path), so
the real request line is never measured: a request line of any length up to max_header_bytes
is accepted instead of 414. Without the prefix the same request gets 414.
"""

from __future__ import annotations

import socket

import pytest

from tests.proto.helpers import byte_at_a_time, feed
from tests.server.apps import wsgi_echo
from tests.server.support import read_for, running
from wirekit._proto.http1 import HTTP1Connection, ProtocolViolation, Request

_LONG = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("split", [False, True], ids=["whole", "byte-at-a-time"])
def test_request_line_limit_holds_after_a_stray_cr_line(split: bool) -> None:
    data = b"\r\r\n" + _LONG
    conn = HTTP1Connection("server", max_line_bytes=8 * 1024)
    events: list[object] = []
    with pytest.raises(ProtocolViolation) as caught:
        events = feed(conn, byte_at_a_time(data) if split else [data])
    assert not any(isinstance(event, Request) for event in events)
    assert caught.value.status_code in (400, 414)


def test_server_does_not_accept_an_overlong_request_line_after_a_stray_cr_line() -> None:
    with running(wsgi_echo) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            sock.sendall(b"\r\r\n" + _LONG)
            got, _ = read_for(sock, 5.0)
        finally:
            sock.close()
    assert got.startswith((b"HTTP/1.1 414 ", b"HTTP/1.1 400 ")), got[:80]


@pytest.mark.parametrize("split", [False, True], ids=["whole", "byte-at-a-time"])
def test_status_line_limit_holds_after_a_stray_cr_line(split: bool) -> None:
    data = b"\r\r\nHTTP/1.1 200 " + b"R" * 9000 + b"\r\nContent-Length: 2\r\n\r\nok"
    conn = HTTP1Connection("client", max_line_bytes=8 * 1024)
    conn.send_request(b"GET", b"/", [(b"Host", b"h")])
    with pytest.raises(ProtocolViolation):
        feed(conn, byte_at_a_time(data) if split else [data])


def _outcome(pieces: list[bytes]) -> tuple[list[str], int | None]:
    conn = HTTP1Connection("server", max_header_count=1)
    names: list[str] = []
    try:
        for piece in pieces:
            names += [type(event).__name__ for event in feed(conn, [piece])]
    except ProtocolViolation as exc:
        return names, exc.status_code
    return names, None


def test_stray_cr_line_gives_the_same_outcome_however_split() -> None:
    # One header field, max_header_count=1: the piecewise reader counts the real request
    # line as a header field line (it took "\r\r\n" for the request line) and answers 431,
    # the whole-buffer reader accepts the request.
    data = b"\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"
    assert _outcome(byte_at_a_time(data)) == _outcome([data])
