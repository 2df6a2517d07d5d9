"""Property: however the bytes are split into reads, the same events come out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.proto.helpers import byte_at_a_time, feed, normalise, serve, split_at
from wirekit._proto.http1 import HTTP1Connection, ProtocolViolation, Upgrade

# deadline=None: no timing thresholds in tests; database=None: nothing written to disk.
SETTINGS = settings(max_examples=150, deadline=None, database=None)
SPLITS = st.lists(st.integers(min_value=0, max_value=400), max_size=12)

SERVER_STREAM = (
    b"\r\nGET /1 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n"
    b"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
    b"POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT-1: a\r\nT-2: b\r\n\r\n"
    b"PUT /4 HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"
    b"GET /5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    b"GET /6 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
)

# (request method, response bytes); each case is one request/response exchange.
CLIENT_CASES = [
    (b"GET", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    (b"HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"),
    (
        b"GET",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n",
    ),
    (b"GET", b"HTTP/1.1 204 No Content\r\n\r\n"),
    (b"GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"),
    (b"CONNECT", b"HTTP/1.1 200 OK\r\n\r\ntunnel-bytes"),
    (b"GET", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\nws"),
    (b"GET", b"HTTP/1.0 200 OK\r\n\r\nuntil the end"),
]


def client_events(method: bytes, pieces: list[bytes]) -> list[object]:
    """Feed like a client driver: after Upgrade, later reads belong to the new protocol."""
    conn = HTTP1Connection("client")
    target = b"h:443" if method == b"CONNECT" else b"/"
    conn.send_request(method, target, [(b"Host", b"h")])
    out: list[object] = []
    for number, piece in enumerate(pieces):
        out += feed(conn, [piece])
        if any(isinstance(event, Upgrade) for event in out):
            rest = b"".join(pieces[number + 1 :])
            out = [Upgrade(e.data + rest) if isinstance(e, Upgrade) else e for e in out]
            return list(normalise(out))  # type: ignore[arg-type]
    if b"until" in b"".join(pieces):
        out += feed(conn, [], eof=True)
    return list(normalise(out))  # type: ignore[arg-type]


def test_server_stream_events_are_complete() -> None:
    events = normalise(serve(HTTP1Connection("server"), [SERVER_STREAM], eof=True))
    names = [type(e).__name__ for e in events]
    assert names.count("Request") == 6
    assert names.count("EndOfMessage") == 6


@SETTINGS
@given(points=SPLITS)
def test_server_split_anywhere(points: list[int]) -> None:
    whole = normalise(serve(HTTP1Connection("server"), [SERVER_STREAM], eof=True))
    split = normalise(serve(HTTP1Connection("server"), split_at(SERVER_STREAM, points), eof=True))
    assert split == whole


def test_server_byte_at_a_time() -> None:
    whole = normalise(serve(HTTP1Connection("server"), [SERVER_STREAM], eof=True))
    pieces = byte_at_a_time(SERVER_STREAM)
    assert normalise(serve(HTTP1Connection("server"), pieces, eof=True)) == whole


@pytest.mark.parametrize(("method", "response"), CLIENT_CASES)
def test_client_byte_at_a_time(method: bytes, response: bytes) -> None:
    assert client_events(method, byte_at_a_time(response)) == client_events(method, [response])


@SETTINGS
@given(case=st.sampled_from(CLIENT_CASES), points=SPLITS)
def test_client_split_anywhere(case: tuple[bytes, bytes], points: list[int]) -> None:
    method, response = case
    assert client_events(method, split_at(response, points)) == client_events(method, [response])


@SETTINGS
@given(
    prefix=st.sampled_from(
        [
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\n",
        ]
    ),
    junk=st.binary(max_size=40),
    points=SPLITS,
)
def test_garbage_gives_the_same_outcome_however_split(
    prefix: bytes, junk: bytes, points: list[int]
) -> None:
    """Random bytes after a valid start: same events and same error whatever the split."""

    def outcome(pieces: list[bytes]) -> tuple[list[object], int | None]:
        conn = HTTP1Connection("server")
        events: list[object] = []
        try:
            events = list(normalise(feed(conn, pieces)))
        except ProtocolViolation as exc:
            return events, exc.status_code
        return events, None

    data = prefix + junk
    whole_events, whole_status = outcome([data])
    split_events, split_status = outcome(split_at(data, points))
    assert split_status == whole_status
    if whole_status is None:
        assert split_events == whole_events
