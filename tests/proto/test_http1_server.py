"""Server role: requests in, events out, by byte script; pipelining, keep-alive, upgrades."""

from __future__ import annotations

import pytest

from tests.proto.helpers import byte_at_a_time, feed, normalise, serve
from wirekit._proto.http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    HTTP1Connection,
    ProtocolViolation,
    Request,
    State,
    Upgrade,
)
from wirekit.errors import LocalProtocolError, RemoteProtocolError

GET = b"GET /a?b=1 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n"


def test_simple_get_gives_request_then_end_then_paused() -> None:
    conn = HTTP1Connection("server")
    events = feed(conn, [GET])
    assert events == [
        Request(
            method=b"GET",
            target=b"/a?b=1",
            http_version=b"1.1",
            headers=[(b"Host", b"example.test"), (b"Accept", b"*/*")],
            keep_alive=True,
            expect_continue=False,
            upgrade=None,
        ),
        EndOfMessage([]),
        PAUSED,
    ]
    assert conn.their_state is State.DONE
    assert conn.our_state is State.IDLE


def test_need_data_until_head_complete() -> None:
    conn = HTTP1Connection("server")
    conn.receive_data(GET[:-1])
    assert conn.next_event() is NEED_DATA
    conn.receive_data(GET[-1:])
    assert isinstance(conn.next_event(), Request)


def test_header_case_order_and_trailing_whitespace() -> None:
    conn = HTTP1Connection("server")
    events = feed(conn, [b"GET / HTTP/1.1\r\nHOST: h\r\nX-A: 1  \t\r\nx-a:2\r\n\r\n"])
    request = events[0]
    assert isinstance(request, Request)
    assert request.headers == [(b"HOST", b"h"), (b"X-A", b"1"), (b"x-a", b"2")]


def test_content_length_body() -> None:
    conn = HTTP1Connection("server")
    data = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    events = feed(conn, [data])
    assert events[1:] == [Data(b"hello"), EndOfMessage([]), PAUSED]
    assert conn.their_state is State.DONE


def test_body_read_that_is_all_body_is_not_copied() -> None:
    conn = HTTP1Connection("server")
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n")
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() is NEED_DATA
    piece = b"abcd"
    conn.receive_data(piece)
    event = conn.next_event()
    assert isinstance(event, Data)
    assert event.data is piece


def test_chunked_body_with_extensions_and_trailers() -> None:
    conn = HTTP1Connection("server")
    data = (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n"
    )
    events = normalise(feed(conn, [data]))
    assert events[1:] == [
        Data(b"hello world"),
        EndOfMessage([(b"X-Checksum", b"abc"), (b"X-More", b"1")]),
        PAUSED,
    ]


def test_chunked_body_byte_at_a_time() -> None:
    conn = HTTP1Connection("server")
    data = (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"a\r\n0123456789\r\n0\r\n\r\n"
    )
    events = normalise(feed(conn, byte_at_a_time(data)))
    assert events[1:] == [Data(b"0123456789"), EndOfMessage([]), PAUSED]


def test_pipelined_requests_come_one_cycle_at_a_time() -> None:
    conn = HTTP1Connection("server")
    second = b"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    third = b"POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"
    conn.receive_data(GET + second + third)
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == EndOfMessage([])
    assert conn.next_event() is PAUSED
    assert conn.next_event() is PAUSED  # still paused: nothing of request 2 shows yet
    with pytest.raises(LocalProtocolError, match="our state IDLE"):
        conn.start_next_cycle()
    conn.send_response(200, [], body=b"")
    conn.start_next_cycle()
    events = feed(conn, [])
    events = []
    for _ in range(4):
        events.append(conn.next_event())
    assert [type(e) for e in events] == [Request, Data, EndOfMessage, type(PAUSED)]
    assert isinstance(events[0], Request)
    assert events[0].target == b"/2"
    conn.send_response(204, [])
    conn.send_end_of_message()
    conn.start_next_cycle()
    request = conn.next_event()
    assert isinstance(request, Request)
    assert request.target == b"/3"


def test_serve_many_keep_alive_cycles() -> None:
    conn = HTTP1Connection("server")
    events = serve(conn, [GET * 5], eof=True)
    assert sum(isinstance(e, Request) for e in events) == 5
    assert isinstance(events[-1], ConnectionClosed)
    assert conn.their_state is State.CLOSED


def test_eof_between_messages_is_connection_closed() -> None:
    conn = HTTP1Connection("server")
    events = feed(conn, [], eof=True)
    assert events == [ConnectionClosed()]
    assert conn.their_state is State.CLOSED
    assert not conn.keep_alive


def test_eof_after_complete_request_with_nothing_buffered() -> None:
    conn = HTTP1Connection("server")
    events = feed(conn, [GET], eof=True)
    assert events[-2:] == [PAUSED, ConnectionClosed()]


def test_eof_in_head_is_an_error_naming_bytes() -> None:
    conn = HTTP1Connection("server")
    with pytest.raises(RemoteProtocolError, match="middle of the request head after 10 bytes"):
        feed(conn, [GET[:10]], eof=True)
    assert conn.their_state is State.ERROR


def test_truncated_content_length_body() -> None:
    conn = HTTP1Connection("server")
    data = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789"
    with pytest.raises(RemoteProtocolError, match="request body ended after 10 of 100 bytes"):
        feed(conn, [data], eof=True)


def test_truncated_chunked_body() -> None:
    conn = HTTP1Connection("server")
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc"
    with pytest.raises(RemoteProtocolError, match="middle of chunked framing after 3 bytes"):
        feed(conn, [data], eof=True)


def test_error_is_raised_again_and_events_before_it_are_kept() -> None:
    conn = HTTP1Connection("server")
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n"
    conn.receive_data(data)
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == Data(b"abc")
    with pytest.raises(ProtocolViolation) as first:
        conn.next_event()
    with pytest.raises(ProtocolViolation) as second:
        conn.next_event()
    assert first.value is second.value
    assert "chunk size" in str(first.value)


def test_http10_request_is_not_keep_alive() -> None:
    conn = HTTP1Connection("server")
    events = feed(conn, [b"GET / HTTP/1.0\r\n\r\n"])
    request = events[0]
    assert isinstance(request, Request)
    assert request.http_version == b"1.0"
    assert not request.keep_alive
    assert conn.their_state is State.MUST_CLOSE
    assert not conn.keep_alive


def test_http10_keep_alive_request() -> None:
    conn = HTTP1Connection("server")
    events = serve(conn, [b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2])
    requests = [e for e in events if isinstance(e, Request)]
    assert len(requests) == 2
    assert all(r.keep_alive for r in requests)


def test_connection_close_request() -> None:
    conn = HTTP1Connection("server")
    events = feed(conn, [b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + GET])
    assert isinstance(events[0], Request)
    assert not events[0].keep_alive
    assert events[-1] is PAUSED
    out = conn.send_response(200, [], body=b"x")
    assert b"\r\nConnection: close\r\n" in out
    assert conn.our_state is State.MUST_CLOSE
    with pytest.raises(LocalProtocolError, match="keep-alive off"):
        conn.start_next_cycle()


def test_expect_continue_is_reported() -> None:
    conn = HTTP1Connection("server")
    data = b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n"
    events = feed(conn, [data])
    assert isinstance(events[0], Request)
    assert events[0].expect_continue
    assert events[1:] == []  # waiting for the body: the server decides to send 100
    assert conn.send_informational(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert feed(conn, [b"ok"])[:2] == [Data(b"ok"), EndOfMessage([])]


def test_websocket_upgrade_request() -> None:
    conn = HTTP1Connection("server")
    data = (
        b"GET /chat HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
        b"Upgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x00frames"
    )
    events = feed(conn, [data])
    assert isinstance(events[0], Request)
    assert events[0].upgrade == b"websocket"
    assert events[1:] == [Upgrade(b"\x81\x00frames"), PAUSED]
    assert conn.their_state is State.SWITCHED_PROTOCOL
    out = conn.send_response(101, [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")])
    assert out.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert conn.our_state is State.SWITCHED_PROTOCOL
    with pytest.raises(LocalProtocolError, match="new protocol"):
        conn.receive_data(b"more")


def test_declined_upgrade_closes_the_connection() -> None:
    conn = HTTP1Connection("server")
    data = b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    feed(conn, [data])
    out = conn.send_response(200, [], body=b"plain")
    assert b"Connection: close\r\n" in out
    assert conn.our_state is State.MUST_CLOSE


def test_upgrade_header_without_connection_upgrade_is_plain() -> None:
    conn = HTTP1Connection("server")
    events = feed(conn, [b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"])
    assert isinstance(events[0], Request)
    assert events[0].upgrade is None
    assert events[1:] == [EndOfMessage([]), PAUSED]


def test_connect_request_switches_protocol() -> None:
    conn = HTTP1Connection("server")
    events = feed(
        conn, [b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test\r\n\r\n\x16\x03"]
    )
    assert isinstance(events[0], Request)
    assert events[0].method == b"CONNECT"
    assert events[0].target == b"example.test:443"
    assert events[1] == Upgrade(b"\x16\x03")
    out = conn.send_response(200, [])
    assert out == b"HTTP/1.1 200 OK\r\n\r\n"
    assert conn.our_state is State.SWITCHED_PROTOCOL


def test_leading_empty_lines_are_ignored() -> None:
    conn = HTTP1Connection("server")
    events = feed(conn, [b"\r\n\r\n" + GET])
    assert isinstance(events[0], Request)
    events = normalise(feed(HTTP1Connection("server"), byte_at_a_time(b"\r\n" + GET)))
    assert isinstance(events[0], Request)


def test_data_after_eof_is_refused() -> None:
    conn = HTTP1Connection("server")
    conn.receive_data(b"")
    with pytest.raises(LocalProtocolError, match="after the end of stream"):
        conn.receive_data(b"x")


def test_invalid_role() -> None:
    with pytest.raises(ValueError, match="role"):
        HTTP1Connection("proxy")  # type: ignore[arg-type]


def test_bytes_arriving_while_paused_wait_for_the_next_cycle() -> None:
    conn = HTTP1Connection("server")
    assert feed(conn, [GET + b"GET /next HT"])[-1] is PAUSED
    conn.receive_data(b"TP/1.1\r\nHost: h\r\n\r\n")
    assert conn.next_event() is PAUSED
    conn.send_response(200, [], body=b"")
    conn.start_next_cycle()
    request = conn.next_event()
    assert isinstance(request, Request)
    assert request.target == b"/next"


def test_receive_data_accepts_bytearray_and_memoryview() -> None:
    conn = HTTP1Connection("server")
    conn.receive_data(bytearray(GET[:20]))  # type: ignore[arg-type]
    conn.receive_data(memoryview(GET)[20:])  # type: ignore[arg-type]
    assert isinstance(conn.next_event(), Request)


def test_chunk_size_overflow_is_refused() -> None:
    conn = HTTP1Connection("server")
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 20
    with pytest.raises(ProtocolViolation, match="chunk size") as caught:
        feed(conn, [data + b"\r\n"])
    assert caught.value.status_code == 400
