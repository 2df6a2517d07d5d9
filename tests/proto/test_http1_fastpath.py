"""The fast paths of the HTTP/1.1 core give the same events as the general ones.

A whole head in one read, a parser kept across keep-alive requests, chunk-size lines read
without a regex: each case here is checked against the same bytes fed byte by byte.
"""

from __future__ import annotations

import pytest

from tests.proto.helpers import byte_at_a_time, feed, normalise, serve
from wirekit._proto.http1 import (
    PAUSED,
    Data,
    EndOfMessage,
    HTTP1Connection,
    ProtocolLimitExceeded,
    ProtocolViolation,
    Request,
    Response,
)

H = b"Host: h\r\n"


def test_keep_alive_requests_with_and_without_bodies_in_turn() -> None:
    """A GET keeps its parser, a POST with a body drops it: the next GET is read right."""
    stream = (
        b"GET /1 HTTP/1.1\r\n" + H + b"\r\n"
        b"POST /2 HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc"
        b"GET /3 HTTP/1.1\r\n" + H + b"\r\n"
        b"POST /4 HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        b"GET /5 HTTP/1.1\r\n" + H + b"\r\n"
    )
    whole = [e for e in serve(HTTP1Connection("server"), [stream]) if isinstance(e, Request)]
    assert [request.target for request in whole] == [b"/1", b"/2", b"/3", b"/4", b"/5"]
    events = normalise(serve(HTTP1Connection("server"), byte_at_a_time(stream)))
    assert normalise(serve(HTTP1Connection("server"), [stream])) == events


def test_trailing_whitespace_of_noted_fields_is_ignored() -> None:
    data = (
        b"PUT / HTTP/1.1\r\nHost: h \r\nConnection: close \t\r\nExpect: 100-continue  \r\n"
        b"Content-Length: 2\r\n\r\nhi"
    )
    for pieces in ([data], byte_at_a_time(data)):
        events = normalise(feed(HTTP1Connection("server"), pieces))
        request = events[0]
        assert isinstance(request, Request)
        assert request.keep_alive is False
        assert request.expect_continue is True
        assert request.headers[0] == (b"Host", b"h")
        assert events[1:] == [Data(b"hi"), EndOfMessage([]), PAUSED]


def test_long_and_oddly_cased_names_are_still_recognised() -> None:
    long_name = b"X-" + b"a" * 200  # longer than any name the caches keep
    data = b"GET / HTTP/1.1\r\nhOsT: h\r\n" + long_name + b": 1\r\nCONNECTION: close\r\n\r\n"
    request = feed(HTTP1Connection("server"), [data])[0]
    assert isinstance(request, Request)
    assert request.keep_alive is False
    assert (long_name, b"1") in request.headers


@pytest.mark.parametrize(
    "size_line",
    [b"A", b"a", b"00a", b"a;name=value", b"a;x"],
    ids=["upper", "lower", "leading-zeros", "extension", "bare-extension"],
)
def test_chunk_size_lines(size_line: bytes) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + size_line
        + b"\r\n0123456789\r\n0\r\n\r\n"
    )
    for pieces in ([response], byte_at_a_time(response)):
        conn = HTTP1Connection("client")
        conn.send_request(b"GET", b"/", [(b"Host", b"h")])
        events = normalise(feed(conn, pieces))
        assert isinstance(events[0], Response)
        assert events[1:] == [Data(b"0123456789"), EndOfMessage([]), PAUSED]


def test_field_count_limit_on_a_whole_head_names_the_knob() -> None:
    data = b"GET / HTTP/1.1\r\n" + H + b"A: 1\r\nB: 2\r\n\r\n"
    conn = HTTP1Connection("server", max_header_count=2)
    with pytest.raises(ProtocolLimitExceeded) as caught:
        feed(conn, [data])
    assert caught.value.limit == "max_header_count"
    assert caught.value.status_code == 431


def test_informational_then_final_response_on_one_read() -> None:
    response = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        b"HTTP/1.1 204 No Content\r\n\r\n"
    )
    conn = HTTP1Connection("client")
    conn.send_request(b"POST", b"/", [(b"Host", b"h")], body=b"x")
    events = feed(conn, [response[: response.index(b"HTTP/1.1 204")]])
    assert [type(event).__name__ for event in events] == [
        "InformationalResponse",
        "Response",
        "Data",
        "EndOfMessage",
        "Signal",
    ]
    conn.start_next_cycle()
    conn.send_request(b"GET", b"/", [(b"Host", b"h")])
    events = feed(conn, [b"HTTP/1.1 204 No Content\r\n\r\n"])
    assert isinstance(events[0], Response)
    assert events[0].status_code == 204


@pytest.mark.parametrize(
    "line",
    [b"GET /HTTP/1.1", b"GET /a/HTTP/1.0"],
    ids=["glued-target", "glued-1.0"],
)
def test_request_line_without_a_version_is_http_09(line: bytes) -> None:
    """llhttp reads these as HTTP/0.9 requests: the version at the end is the target's."""
    data = line + b"\r\nHost: h\r\n\r\n"
    for pieces in ([data], byte_at_a_time(data)):
        with pytest.raises(ProtocolViolation) as caught:
            feed(HTTP1Connection("server"), pieces)
        assert caught.value.status_code == 505
        assert "HTTP/0.9" in str(caught.value)


def _outcome(role: str, pieces: list[bytes]) -> object:
    """The events, or the error's type and words, of a fresh connection fed ``pieces``."""
    conn = HTTP1Connection(role, max_line_bytes=64)  # type: ignore[arg-type]
    if role == "client":
        conn.send_request(b"GET", b"/", [(b"Host", b"h")])
    try:
        events = feed(conn, pieces) if role == "client" else serve(conn, pieces)
    except ProtocolViolation as error:
        return type(error), str(error)
    return normalise(events)


_ODD_FIRST_LINES = [b"\r\n", b"\n", b"X\n", b"X\r\n"]
_STATUS_LINES = [
    b"\rHTTP/1.1 200 OK\r\n",
    b"\nHTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\n",
    b"HTTP/1.1 200 " + b"O" * 70 + b"\r\n",
]
_REQUEST_LINES = [
    b"\rGET / HTTP/1.1\r\n",
    b"\nGET / HTTP/1.1\r\n",
    b"GET / HTTP/1.1\r\n",
    b"GET / HTTP/1.1\n",
    b"GET /" + b"a" * 70 + b" HTTP/1.1\r\n",
]


@pytest.mark.parametrize(
    ("role", "first_line"),
    [("client", line) for line in _ODD_FIRST_LINES + _STATUS_LINES]
    + [("server", line) for line in _ODD_FIRST_LINES + _REQUEST_LINES],
)
@pytest.mark.parametrize("padding", [0, 100], ids=["short-head", "head-over-the-line-limit"])
def test_odd_first_lines_read_alike_whole_and_byte_by_byte(
    role: str, first_line: bytes, padding: int
) -> None:
    """A whole head within the line limit skips the first line's own search: the outcome
    (events, or the error and its words) is what the general path gives."""
    head = first_line + b"Host: h\r\nContent-Length: 0\r\n" + b"X-Pad: p\r\n" * (padding // 10)
    stream = head + b"\r\n"
    whole = _outcome(role, [stream])
    assert whole == _outcome(role, byte_at_a_time(stream))
