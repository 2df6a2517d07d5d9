"""Serialising: framing choices, header-injection checks, and send-side state rules."""

from __future__ import annotations

import pytest

from tests.proto.helpers import feed, normalise
from wirekit._proto.http1 import (
    PAUSED,
    Data,
    EndOfMessage,
    HTTP1Connection,
    Request,
    Response,
    State,
)
from wirekit.errors import LocalProtocolError

HOST = [(b"Host", b"example.test")]


def server_with(request: bytes) -> HTTP1Connection:
    conn = HTTP1Connection("server")
    events = feed(conn, [request])
    assert isinstance(events[0], Request)
    return conn


GET11 = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
GET10 = b"GET / HTTP/1.0\r\n\r\n"


# -- requests ------------------------------------------------------------------------------
def test_request_with_body_adds_content_length_and_is_one_write() -> None:
    conn = HTTP1Connection("client")
    out = conn.send_request(b"POST", b"/p?q=1", [*HOST, (b"X-A", b"1")], body=b"hello")
    assert out == (
        b"POST /p?q=1 HTTP/1.1\r\nHost: example.test\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello"
    )
    assert conn.our_state is State.DONE


def test_request_keeps_caller_content_length() -> None:
    conn = HTTP1Connection("client")
    out = conn.send_request(b"PUT", b"/", [*HOST, (b"content-length", b"2")], body=b"ab")
    assert out.count(b"ength") == 1
    with pytest.raises(LocalProtocolError, match="says 3 bytes, the body has 2"):
        HTTP1Connection("client").send_request(
            b"PUT", b"/", [*HOST, (b"Content-Length", b"3")], body=b"ab"
        )


def test_get_without_body_has_no_framing_and_post_gets_zero_length() -> None:
    assert HTTP1Connection("client").send_request(b"GET", b"/", HOST) == (
        b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"
    )
    out = HTTP1Connection("client").send_request(b"POST", b"/", HOST)
    assert out.endswith(b"Content-Length: 0\r\n\r\n")


def test_streamed_response_with_zero_length_still_needs_end() -> None:
    conn = server_with(GET11)
    assert conn.send_response(200, [], content_length=0).endswith(b"Content-Length: 0\r\n\r\n")
    assert conn.our_state is State.SEND_BODY
    assert conn.send_end_of_message() == b""
    conn.start_next_cycle()


def test_streamed_request_with_content_length() -> None:
    conn = HTTP1Connection("client")
    head = conn.send_request(b"POST", b"/", HOST, content_length=6)
    assert head.endswith(b"Content-Length: 6\r\n\r\n")
    assert conn.our_state is State.SEND_BODY
    assert conn.send_data(b"abc") == b"abc"
    with pytest.raises(LocalProtocolError, match="ended after 3 of 6 bytes"):
        conn.send_end_of_message()
    with pytest.raises(LocalProtocolError, match="longer than its Content-Length of 6"):
        conn.send_data(b"defg")
    assert conn.send_data(b"def") == b"def"
    assert conn.send_end_of_message() == b""
    assert conn.our_state is State.DONE


def test_chunked_request_with_trailers() -> None:
    conn = HTTP1Connection("client")
    head = conn.send_request(b"POST", b"/", HOST, chunked=True)
    assert head.endswith(b"Transfer-Encoding: chunked\r\n\r\n")
    assert conn.send_data(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert conn.send_data(b"") == b""
    end = conn.send_end_of_message([(b"X-Sum", b"abc")])
    assert end == b"0\r\nX-Sum: abc\r\n\r\n"


def test_chunked_request_with_whole_body() -> None:
    conn = HTTP1Connection("client")
    out = conn.send_request(b"POST", b"/", HOST, body=b"abc", chunked=True)
    assert out.endswith(b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert conn.our_state is State.DONE


@pytest.mark.parametrize(
    ("kwargs", "headers", "words"),
    [
        ({}, [], "no Host header"),
        ({}, [*HOST, *HOST], "two Host headers"),
        ({"chunked": True}, [*HOST, (b"Content-Length", b"3")], "both Content-Length"),
        ({"content_length": 3, "chunked": True}, HOST, "chunked"),
        ({}, [*HOST, (b"Transfer-Encoding", b"gzip")], "only chunked"),
        ({}, [*HOST, (b"Content-Length", b"-1")], "not digits"),
        ({"content_length": -1}, HOST, "negative"),
        ({}, [*HOST, (b"Content-Length", b"1"), (b"Content-Length", b"1")], "more than one"),
    ],
)
def test_request_framing_errors(
    kwargs: dict[str, object], headers: list[tuple[bytes, bytes]], words: str
) -> None:
    conn = HTTP1Connection("client")
    with pytest.raises(LocalProtocolError, match=words):
        conn.send_request(b"POST", b"/", headers, **kwargs)  # type: ignore[arg-type]
    assert conn.our_state is State.IDLE


INJECTIONS = [
    pytest.param((b"X-A", b"1\r\nSet-Cookie: evil=1"), "X-A", id="crlf-in-value"),
    pytest.param((b"X-A", b"1\nEvil: 1"), "X-A", id="lf-in-value"),
    pytest.param((b"X-A", b"1\rEvil: 1"), "X-A", id="cr-in-value"),
    pytest.param((b"X-A", b"a\x00b"), "X-A", id="nul-in-value"),
    pytest.param((b"X-A", b"a\x1bb"), "X-A", id="esc-in-value"),
    pytest.param((b"X-A", b"a\x7fb"), "X-A", id="del-in-value"),
    pytest.param((b"X-A\r\nEvil", b"1"), "not a valid token", id="crlf-in-name"),
    pytest.param((b"X A", b"1"), "not a valid token", id="space-in-name"),
    pytest.param((b"X-A:", b"1"), "not a valid token", id="colon-in-name"),
    pytest.param((b"", b"1"), "not a valid token", id="empty-name"),
]


@pytest.mark.parametrize(("header", "words"), INJECTIONS)
def test_header_injection_is_refused_on_requests(header: tuple[bytes, bytes], words: str) -> None:
    conn = HTTP1Connection("client")
    with pytest.raises(LocalProtocolError, match=words):
        conn.send_request(b"GET", b"/", [*HOST, header])
    assert conn.our_state is State.IDLE


@pytest.mark.parametrize(("header", "words"), INJECTIONS)
def test_header_injection_is_refused_on_responses(header: tuple[bytes, bytes], words: str) -> None:
    conn = server_with(GET11)
    with pytest.raises(LocalProtocolError, match=words):
        conn.send_response(200, [header], body=b"")
    with pytest.raises(LocalProtocolError, match=words):
        conn.send_informational(103, [header])
    conn.send_response(200, [], chunked=True)
    with pytest.raises(LocalProtocolError, match=words):
        conn.send_end_of_message([header])


def test_tab_and_obs_text_values_are_allowed() -> None:
    out = HTTP1Connection("client").send_request(b"GET", b"/", [*HOST, (b"X", b"a\tb\xe9")])
    assert b"X: a\tb\xe9\r\n" in out


@pytest.mark.parametrize(
    ("method", "target", "words"),
    [
        (b"GE T", b"/", "method"),
        (b"GET\r\n", b"/", "method"),
        (b"", b"/", "method"),
        (b"GET", b"/a b", "target"),
        (b"GET", b"/a\r\nX: 1", "target"),
        (b"GET", b"", "target"),
        (b"GET", b"/\x00", "target"),
        (b"GET", b"/a\tb", "target"),
        (b"GET", b"/\x7f", "target"),
        (b"GET", b"/caf\xc3\xa9", "target"),
        (b"GET", b"/\x1b[31m", "target"),
    ],
)
def test_bad_method_or_target(method: bytes, target: bytes, words: str) -> None:
    with pytest.raises(LocalProtocolError, match=words):
        HTTP1Connection("client").send_request(method, target, HOST)


def test_bad_reason_and_status() -> None:
    conn = server_with(GET11)
    with pytest.raises(LocalProtocolError, match="reason phrase"):
        conn.send_response(200, [], reason=b"OK\r\nX: 1")
    with pytest.raises(LocalProtocolError, match="status code"):
        conn.send_response(1000, [])
    assert conn.send_response(299, [], reason=b"Fine", body=b"").startswith(
        b"HTTP/1.1 299 Fine\r\n"
    )


def test_trailers_may_not_carry_framing_headers() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(b"POST", b"/", HOST, chunked=True)
    with pytest.raises(LocalProtocolError, match="not allowed in trailers"):
        conn.send_end_of_message([(b"Content-Length", b"1")])


def test_trailers_need_chunked() -> None:
    conn = HTTP1Connection("client")
    conn.send_request(b"POST", b"/", HOST, content_length=0)
    conn2 = HTTP1Connection("client")
    conn2.send_request(b"POST", b"/", HOST, content_length=1)
    conn2.send_data(b"a")
    with pytest.raises(LocalProtocolError, match="chunked"):
        conn2.send_end_of_message([(b"X", b"1")])


def test_send_state_rules() -> None:
    conn = HTTP1Connection("client")
    with pytest.raises(LocalProtocolError, match="only the server"):
        conn.send_response(200, [])
    with pytest.raises(LocalProtocolError, match="in state IDLE"):
        conn.send_data(b"x")
    with pytest.raises(LocalProtocolError, match="in state IDLE"):
        conn.send_end_of_message()
    conn.send_request(b"GET", b"/", HOST)
    with pytest.raises(LocalProtocolError, match="cannot send a request now"):
        conn.send_request(b"GET", b"/", HOST)
    with pytest.raises(LocalProtocolError, match="theirs IDLE"):
        conn.start_next_cycle()
    server = HTTP1Connection("server")
    with pytest.raises(LocalProtocolError, match="only the client"):
        server.send_request(b"GET", b"/", HOST)


# -- responses ---------------------------------------------------------------------------
def test_response_with_body_gets_content_length() -> None:
    conn = server_with(GET11)
    out = conn.send_response(200, [(b"Content-Type", b"text/plain")], body=b"hi")
    assert out == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
    assert conn.our_state is State.DONE
    conn.start_next_cycle()


def test_streamed_response_is_chunked_for_http11() -> None:
    conn = server_with(GET11)
    head = conn.send_response(200, [])
    assert head == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert conn.send_data(b"abc") == b"3\r\nabc\r\n"
    assert conn.send_end_of_message() == b"0\r\n\r\n"
    assert conn.keep_alive


def test_streamed_response_to_http10_is_close_delimited() -> None:
    conn = server_with(GET10)
    head = conn.send_response(200, [])
    assert head == b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
    assert conn.send_data(b"abc") == b"abc"
    assert conn.send_end_of_message() == b""
    assert conn.our_state is State.MUST_CLOSE


def test_chunked_asked_for_http10_falls_back_to_close() -> None:
    conn = server_with(GET10)
    head = conn.send_response(200, [], chunked=True)
    assert b"chunked" not in head
    assert b"Connection: close" in head


def test_chunked_false_means_close_delimited() -> None:
    conn = server_with(GET11)
    head = conn.send_response(200, [], chunked=False)
    assert head == b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
    assert not conn.keep_alive


def test_http10_keep_alive_gets_keep_alive_header() -> None:
    conn = server_with(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    out = conn.send_response(200, [], body=b"x")
    assert b"\r\nConnection: keep-alive\r\n" in out
    conn.start_next_cycle()


def test_caller_connection_close_is_kept_once() -> None:
    conn = server_with(GET11)
    out = conn.send_response(200, [(b"Connection", b"close")], body=b"")
    assert out.count(b"Connection") == 1
    assert conn.our_state is State.MUST_CLOSE


def test_head_response_keeps_content_length_and_drops_body() -> None:
    conn = server_with(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    out = conn.send_response(200, [], body=b"0123456789")
    assert out == b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    assert conn.our_state is State.DONE
    conn.start_next_cycle()


def test_head_response_streamed_body_is_discarded() -> None:
    conn = server_with(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    out = conn.send_response(200, [(b"Content-Length", b"5")])
    assert out.endswith(b"Content-Length: 5\r\n\r\n")
    assert conn.our_state is State.SEND_BODY
    assert conn.send_data(b"hello") == b""
    assert conn.send_end_of_message([(b"X-T", b"1")]) == b""
    assert conn.our_state is State.DONE
    bare = server_with(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert bare.send_response(200, []) == b"HTTP/1.1 200 OK\r\n\r\n"
    assert bare.send_end_of_message() == b""
    assert bare.keep_alive
    bare.start_next_cycle()


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_send_no_framing(status: int) -> None:
    conn = server_with(GET11)
    out = conn.send_response(status, [])
    assert out.endswith(b"\r\n\r\n")
    assert b"Content-Length" not in out
    assert b"Transfer-Encoding" not in out
    assert conn.our_state is State.SEND_BODY
    assert conn.send_data(b"") == b""
    with pytest.raises(LocalProtocolError, match="has no body"):
        conn.send_data(b"x")
    assert conn.send_end_of_message() == b""
    assert conn.our_state is State.DONE
    other = server_with(GET11)
    with pytest.raises(LocalProtocolError, match="has no body"):
        other.send_response(status, [], body=b"x")


def test_informational_rules() -> None:
    conn = server_with(GET11)
    assert conn.send_informational(103, [(b"Link", b"</a>")]) == (
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    )
    with pytest.raises(LocalProtocolError, match="not informational"):
        conn.send_informational(101)
    with pytest.raises(LocalProtocolError, match="send_informational"):
        conn.send_response(100, [])
    old = server_with(GET10)
    with pytest.raises(LocalProtocolError, match=r"HTTP/1\.0"):
        old.send_informational(100)


def test_101_needs_an_upgrade_request() -> None:
    conn = server_with(GET11)
    with pytest.raises(LocalProtocolError, match="answers no upgrade request"):
        conn.send_response(101, [])


def test_response_without_request_closes() -> None:
    conn = HTTP1Connection("server")
    out = conn.send_response(408, [], body=b"")
    assert out == b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with pytest.raises(LocalProtocolError, match="cannot send a response now"):
        conn.send_response(200, [])


# -- both roles together -------------------------------------------------------------------
def test_round_trip_through_both_roles() -> None:
    client = HTTP1Connection("client")
    server = HTTP1Connection("server")
    for number in range(3):
        wire = client.send_request(b"POST", b"/up", HOST, chunked=True)
        wire += client.send_data(b"part-%d " % number) + client.send_data(b"more")
        wire += client.send_end_of_message([(b"X-Done", b"yes")])
        events = normalise(feed(server, [wire]))
        assert isinstance(events[0], Request)
        assert events[1:] == [
            Data(b"part-%d more" % number),
            EndOfMessage([(b"X-Done", b"yes")]),
            PAUSED,
        ]
        answer = server.send_response(200, [(b"X-N", b"%d" % number)])
        answer += server.send_data(b"reply") + server.send_end_of_message()
        server.start_next_cycle()
        events = normalise(feed(client, [answer]))
        assert events == [
            Response(
                200,
                b"OK",
                b"1.1",
                [(b"X-N", b"%d" % number), (b"Transfer-Encoding", b"chunked")],
                True,
            ),
            Data(b"reply"),
            EndOfMessage([]),
            PAUSED,
        ]
        client.start_next_cycle()
