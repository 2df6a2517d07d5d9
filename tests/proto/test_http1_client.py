"""Client role: responses in, events out, by byte script (HEAD, 1xx, 204/304, CONNECT...)."""

from __future__ import annotations

import pytest

from tests.proto.helpers import byte_at_a_time, feed, normalise
from wirekit._proto.http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    HTTP1Connection,
    InformationalResponse,
    ProtocolLimitExceeded,
    Response,
    State,
    Upgrade,
)
from wirekit.errors import LocalProtocolError, RemoteLimitExceeded, RemoteProtocolError

HOST = [(b"Host", b"example.test")]


def client(method: bytes = b"GET", **knobs: int) -> HTTP1Connection:
    conn = HTTP1Connection("client", **knobs)
    conn.send_request(method, b"/", HOST)
    return conn


def test_response_with_content_length() -> None:
    conn = client()
    events = feed(conn, [b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabc"])
    assert events == [
        Response(200, b"OK", b"1.1", [(b"Content-Length", b"3"), (b"X-A", b"b")], True),
        Data(b"abc"),
        EndOfMessage([]),
        PAUSED,
    ]
    assert conn.their_state is State.DONE
    assert conn.our_state is State.DONE
    conn.start_next_cycle()
    assert conn.our_state is State.IDLE


def test_status_line_without_reason() -> None:
    conn = client()
    events = feed(conn, [b"HTTP/1.1 204\r\n\r\n"])
    assert events[0] == Response(204, b"", b"1.1", [], True)


def test_keep_alive_cycles_reuse_the_connection() -> None:
    conn = HTTP1Connection("client")
    for number in range(3):
        conn.send_request(b"GET", b"/%d" % number, HOST)
        body = b"n=%d" % number
        events = feed(conn, [b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + body])
        assert events[1:] == [Data(body), EndOfMessage([]), PAUSED]
        conn.start_next_cycle()


def test_head_response_has_no_body_whatever_content_length_says() -> None:
    conn = client(b"HEAD")
    events = feed(conn, [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"])
    assert isinstance(events[0], Response)
    assert events[1:] == [EndOfMessage([]), PAUSED]
    conn.start_next_cycle()
    conn.send_request(b"GET", b"/", HOST)
    events = feed(conn, [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    assert events[1:3] == [Data(b"ok"), EndOfMessage([])]


def test_head_response_with_chunked_header_has_no_body() -> None:
    conn = client(b"HEAD")
    events = feed(conn, [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"])
    assert events[1:] == [EndOfMessage([]), PAUSED]


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(status: int) -> None:
    conn = client()
    events = feed(conn, [b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % status])
    assert isinstance(events[0], Response)
    assert events[1:] == [EndOfMessage([]), PAUSED]
    assert conn.keep_alive


def test_informational_responses_then_final() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(b"PUT", b"/", [*HOST, (b"Expect", b"100-continue")], content_length=2)
    events = feed(
        conn,
        [
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
            b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
        ],
    )
    assert events == [
        InformationalResponse(100, b"Continue", []),
        InformationalResponse(103, b"Early Hints", [(b"Link", b"</s.css>; rel=preload")]),
        Response(201, b"Created", b"1.1", [(b"Content-Length", b"0")], True),
        EndOfMessage([]),
        PAUSED,
    ]
    assert conn.our_state is State.SEND_BODY  # the 2-byte body was never sent
    assert conn.send_data(b"ab") == b"ab"
    assert conn.send_end_of_message() == b""
    conn.start_next_cycle()


def test_switching_protocols_101() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(
        b"GET", b"/chat", [*HOST, (b"Connection", b"Upgrade"), (b"Upgrade", b"websocket")]
    )
    events = feed(
        conn,
        [
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81"
        ],
    )
    assert isinstance(events[0], Response)
    assert events[0].status_code == 101
    assert events[1:] == [Upgrade(b"\x81"), PAUSED]
    assert conn.their_state is State.SWITCHED_PROTOCOL
    assert not conn.keep_alive


def test_connect_2xx_switches_protocol() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(b"CONNECT", b"example.test:443", HOST)
    events = feed(conn, [b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01"])
    assert isinstance(events[0], Response)
    assert events[1:] == [Upgrade(b"\x16\x03\x01"), PAUSED]


def test_connect_refused_has_a_normal_body() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(b"CONNECT", b"example.test:443", HOST)
    events = feed(conn, [b"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 4\r\n\r\nauth"])
    assert events[1:] == [Data(b"auth"), EndOfMessage([]), PAUSED]


def test_close_delimited_body_ends_at_eof() -> None:
    conn = client()
    events = feed(conn, [b"HTTP/1.1 200 OK\r\n\r\nhello ", b"world"], eof=True)
    assert isinstance(events[0], Response)
    assert not events[0].keep_alive
    assert events[1:] == [
        Data(b"hello "),
        Data(b"world"),
        EndOfMessage([]),
        ConnectionClosed(),
    ]
    assert conn.their_state is State.CLOSED
    assert not conn.keep_alive


def test_chunked_response_with_trailers() -> None:
    conn = client()
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nwiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n"
    )
    events = normalise(feed(conn, [data]))
    assert events[1:] == [Data(b"wikipedia"), EndOfMessage([(b"Expires", b"never")]), PAUSED]


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", True),
    ],
)
def test_response_keep_alive(head: bytes, keep_alive: bool) -> None:
    conn = client()
    events = feed(conn, [head + b"ok"])
    assert isinstance(events[0], Response)
    assert events[0].keep_alive is keep_alive
    assert conn.keep_alive is keep_alive
    assert conn.their_state is (State.DONE if keep_alive else State.MUST_CLOSE)


def test_request_connection_close_makes_response_final() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(b"GET", b"/", [*HOST, (b"Connection", b"close")])
    assert conn.our_state is State.MUST_CLOSE
    feed(conn, [b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    assert conn.their_state is State.MUST_CLOSE
    assert not conn.keep_alive


def test_truncated_length_body_names_numbers() -> None:
    conn = client()
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"
    with pytest.raises(RemoteProtocolError, match="response body ended after 10 of 100 bytes"):
        feed(conn, [data], eof=True)
    assert conn.their_state is State.ERROR


def test_truncated_chunked_body() -> None:
    conn = client()
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"
    with pytest.raises(RemoteProtocolError, match="middle of chunked framing after 2 bytes"):
        feed(conn, [data], eof=True)


def test_truncated_trailers() -> None:
    conn = client()
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n"
    with pytest.raises(RemoteProtocolError, match="middle of chunked framing"):
        feed(conn, [data], eof=True)


def test_eof_before_any_response() -> None:
    conn = client()
    with pytest.raises(RemoteProtocolError, match="without sending a response"):
        feed(conn, [], eof=True)


def test_eof_in_response_head() -> None:
    conn = client()
    with pytest.raises(RemoteProtocolError, match="middle of the response head after 8 bytes"):
        feed(conn, [b"HTTP/1.1"], eof=True)


@pytest.mark.parametrize(
    "data",
    [
        b"hello world\r\n\r\n",
        b"HTTQ/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x00\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    ],
    ids=[
        "garbage",
        "bad-protocol",
        "status-4-digits",
        "no-status",
        "http2",
        "nul",
        "two-lengths",
        "te-gzip",
        "bad-chunk-size",
        "chunk-too-long",
    ],
)
def test_bad_responses(data: bytes) -> None:
    conn = client()
    with pytest.raises(RemoteProtocolError) as caught:
        feed(conn, [data])
    assert "response" in str(caught.value)
    conn = client()
    with pytest.raises(RemoteProtocolError):
        feed(conn, byte_at_a_time(data))


def test_huge_response_head() -> None:
    conn = client()
    data = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 70_000 + b"\r\n\r\n"
    with pytest.raises(RemoteLimitExceeded) as caught:
        feed(conn, [data])
    assert caught.value.limit == "max_header_bytes"
    assert "response head is larger than max_header_bytes (65536 bytes)" in str(caught.value)


def test_long_status_line() -> None:
    conn = client(max_line_bytes=20)
    with pytest.raises(ProtocolLimitExceeded, match="status line is longer than max_line_bytes"):
        feed(conn, [b"HTTP/1.1 200 " + b"O" * 30 + b"\r\n\r\n"])


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n01234567890",
    ],
    ids=["length", "chunked", "until-close"],
)
def test_client_body_limit(data: bytes) -> None:
    conn = client(max_body_bytes=10)
    with pytest.raises(ProtocolLimitExceeded) as caught:
        feed(conn, [data])
    assert caught.value.limit == "max_body_bytes"


def test_bytes_before_a_request_stay_buffered() -> None:
    conn = HTTP1Connection("client")
    conn.receive_data(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    assert not conn.keep_alive


def test_idle_connection_closed_by_server() -> None:
    conn = HTTP1Connection("client")
    assert feed(conn, [], eof=True) == [ConnectionClosed()]


def test_early_response_while_request_body_is_sent() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(b"POST", b"/", HOST, content_length=1000)
    events = feed(
        conn, [b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"]
    )
    assert isinstance(events[0], Response)
    assert events[0].status_code == 413
    assert conn.our_state is State.SEND_BODY
    assert not conn.keep_alive


def test_bytes_after_a_switch_belong_to_the_new_protocol() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(b"CONNECT", b"example.test:443", HOST)
    feed(conn, [b"HTTP/1.1 200 OK\r\n\r\n"])
    with pytest.raises(LocalProtocolError, match="new protocol"):
        conn.receive_data(b"\x16\x03")
    with pytest.raises(LocalProtocolError):
        conn.send_request(b"GET", b"/", HOST)


def test_peer_braces_in_error_messages_are_quoted_safely() -> None:
    conn = client()
    with pytest.raises(RemoteProtocolError, match=r"Transfer-Encoding b'\{1\}\{x\}'"):
        feed(conn, [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: {1}{x}\r\n\r\n"])
