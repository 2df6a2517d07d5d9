"""Server role, strict RFC 9112 parsing: every rejection, fed whole and byte at a time."""

from __future__ import annotations

import pytest

from tests.proto.helpers import byte_at_a_time, feed
from wirekit._proto.http1 import (
    DEFAULT_MAX_CHUNK_EXTENSION_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADER_COUNT,
    DEFAULT_MAX_LINE_BYTES,
    HTTP1Connection,
    ProtocolLimitExceeded,
    ProtocolViolation,
    Request,
)
from wirekit.errors import LimitExceeded, RemoteLimitExceeded, RemoteProtocolError

H = b"Host: h\r\n"
CHUNKED = b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"

# (input bytes, status code, words the message must contain)
REJECTIONS = [
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
        "both Content-Length and Transfer-Encoding",
        id="cl-and-te",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        400,
        "both Content-Length and Transfer-Encoding",
        id="te-and-cl",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        400,
        "more than one Content-Length",
        id="duplicate-cl",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc",
        400,
        "Content-Length",
        id="signed-cl",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -3\r\n\r\nabc",
        400,
        "Content-Length",
        id="negative-cl",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0x3\r\n\r\nabc",
        400,
        "Content-Length",
        id="hex-cl",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc",
        400,
        "Content-Length",
        id="list-cl",
    ),
    pytest.param(CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n", 400, "chunk size", id="chunk-0x"),
    pytest.param(CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", 400, "chunk size", id="chunk-negative"),
    pytest.param(CHUNKED + b"5 \r\nhello\r\n0\r\n\r\n", 400, "chunk size", id="chunk-space"),
    pytest.param(CHUNKED + b"5\nhello\r\n0\r\n\r\n", 400, "CRLF", id="chunk-size-bare-lf"),
    pytest.param(CHUNKED + b"5\r\nhello\n0\r\n\r\n", 400, "CRLF", id="chunk-data-bare-lf"),
    pytest.param(CHUNKED + b"5\r\nhelloXX0\r\n\r\n", 400, "CRLF", id="chunk-data-too-long"),
    pytest.param(b"GET / HTTP/1.1\nHost: h\n\n", 400, "bare LF", id="head-bare-lf"),
    pytest.param(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "before the colon", id="ws-colon"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n", 400, "obs-fold", id="fold"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", 400, "NUL", id="nul"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\x01b\r\n\r\n", 400, "control", id="ctl"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n", 400, "control", id="del"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n", 400, "", id="bare-cr"),
    pytest.param(b"GET / HTTP/1.1\r\n: empty\r\n" + H + b"\r\n", 400, "header name", id="no-name"),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", 400, "no Host header", id="no-host"),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host", id="two-hosts"
    ),
    pytest.param(
        b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        400,
        "more than one Host",
        id="two-hosts-10",
    ),
    pytest.param(b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505, "HTTP/2.0", id="http2"),
    pytest.param(b"GET / HTTP/0.9\r\n" + H + b"\r\n", 505, "HTTP/0.9", id="http09"),
    pytest.param(b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505, "version", id="http12"),
    pytest.param(b"GET / HTTP/3.0\r\n" + H + b"\r\n", 505, "version", id="http3"),
    pytest.param(b"GET / HTTX/1.1\r\n" + H + b"\r\n", 400, "malformed", id="bad-protocol"),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n",
        501,
        "Transfer-Encoding",
        id="te-gzip",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
        "Transfer-Encoding",
        id="te-gzip-chunked",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: {1}{x}\r\n\r\n",
        501,
        "unsupported Transfer-Encoding",
        id="te-with-braces",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        501,
        "Transfer-Encoding",
        id="te-chunked-twice",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        501,
        "Transfer-Encoding",
        id="te-two-headers",
    ),
    pytest.param(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "HTTP/1.0 request has a Transfer-Encoding",
        id="te-in-http10",
    ),
    pytest.param(b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400, "malformed", id="space-in-target"),
    pytest.param(b"GET /a\x01 HTTP/1.1\r\n" + H + b"\r\n", 400, "target", id="ctl-in-target"),
    pytest.param(b"FROB / HTTP/1.1\r\n" + H + b"\r\n", 501, "unknown method", id="unknown-method"),
    pytest.param(
        b"GET /" + b"a" * DEFAULT_MAX_LINE_BYTES + b" HTTP/1.1\r\n" + H + b"\r\n",
        414,
        "max_line_bytes",
        id="long-target",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\n" + H + b"X: " + b"v" * DEFAULT_MAX_HEADER_BYTES + b"\r\n\r\n",
        431,
        "max_header_bytes",
        id="huge-header",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\n" + H + b"X: 1\r\n" * DEFAULT_MAX_HEADER_COUNT + b"\r\n",
        431,
        "more than 100 header fields",
        id="many-headers",
    ),
    pytest.param(
        CHUNKED + b"1;" + b"e" * DEFAULT_MAX_CHUNK_EXTENSION_BYTES + b"\r\na\r\n0\r\n\r\n",
        400,
        "max_chunk_extension_bytes",
        id="chunk-extension",
    ),
    pytest.param(
        CHUNKED + b"0\r\n" + b"T: 1\r\n" * (DEFAULT_MAX_HEADER_COUNT + 1) + b"\r\n",
        431,
        "trailer section has more than 100",
        id="many-trailers",
    ),
    pytest.param(
        CHUNKED + b"0\r\nT: " + b"v" * DEFAULT_MAX_HEADER_BYTES + b"\r\n\r\n",
        431,
        "trailer section is larger than max_header_bytes",
        id="huge-trailers",
    ),
]


@pytest.mark.parametrize(("data", "status", "words"), REJECTIONS)
def test_rejection_whole(data: bytes, status: int, words: str) -> None:
    conn = HTTP1Connection("server")
    with pytest.raises(ProtocolViolation) as caught:
        feed(conn, [data])
    assert caught.value.status_code == status
    assert words in str(caught.value)
    assert isinstance(caught.value, RemoteProtocolError)


@pytest.mark.parametrize(("data", "status", "words"), REJECTIONS)
def test_rejection_byte_at_a_time(data: bytes, status: int, words: str) -> None:
    if len(data) > 20_000:
        pieces = [data[i : i + 7] for i in range(0, len(data), 7)]  # keep the run short
    else:
        pieces = byte_at_a_time(data)
    conn = HTTP1Connection("server")
    with pytest.raises(ProtocolViolation) as caught:
        feed(conn, pieces)
    assert caught.value.status_code == status
    assert words in str(caught.value)


def test_server_may_answer_after_a_rejection() -> None:
    conn = HTTP1Connection("server")
    with pytest.raises(ProtocolViolation) as caught:
        feed(conn, [b"GET / HTTP/1.1\r\n\r\n"])
    out = conn.send_response(caught.value.status_code, [], body=b"bad request")
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close\r\n" in out
    assert not conn.keep_alive


LIMITS = [
    # (knob, setting, accepted request, rejected request, status)
    pytest.param(
        "max_header_bytes",
        100,
        b"GET / HTTP/1.1\r\n" + H + b"X: " + b"v" * 60 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + H + b"X: " + b"v" * 80 + b"\r\n\r\n",
        431,
        id="max_header_bytes",
    ),
    pytest.param(
        "max_header_count",
        3,
        b"GET / HTTP/1.1\r\n" + H + b"A: 1\r\nB: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + H + b"A: 1\r\nB: 2\r\nC: 3\r\n\r\n",
        431,
        id="max_header_count",
    ),
    pytest.param(
        "max_line_bytes",
        29,
        b"GET /" + b"a" * 15 + b" HTTP/1.1\r\n" + H + b"\r\n",
        b"GET /" + b"a" * 16 + b" HTTP/1.1\r\n" + H + b"\r\n",
        414,
        id="max_line_bytes",
    ),
    pytest.param(
        "max_body_bytes",
        10,
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n\r\n0123456789",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 11\r\n\r\n0123456789a",
        413,
        id="max_body_bytes-length",
    ),
    pytest.param(
        "max_body_bytes",
        10,
        CHUNKED + b"5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
        CHUNKED + b"5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n",
        413,
        id="max_body_bytes-chunked",
    ),
    pytest.param(
        "max_chunk_extension_bytes",
        12,
        CHUNKED + b"1;abcdefgh\r\na\r\n0\r\n\r\n",
        CHUNKED + b"1;abcdefghij\r\na\r\n0\r\n\r\n",
        400,
        id="max_chunk_extension_bytes",
    ),
]


@pytest.mark.parametrize(("knob", "setting", "accepted", "rejected", "status"), LIMITS)
@pytest.mark.parametrize("split", ["whole", "bytes"])
def test_limit_knob(
    knob: str, setting: int, accepted: bytes, rejected: bytes, status: int, split: str
) -> None:
    def pieces(data: bytes) -> list[bytes]:
        return [data] if split == "whole" else byte_at_a_time(data)

    ok = HTTP1Connection("server", **{knob: setting})
    assert isinstance(feed(ok, pieces(accepted))[0], Request)
    bad = HTTP1Connection("server", **{knob: setting})
    with pytest.raises(ProtocolLimitExceeded) as caught:
        feed(bad, pieces(rejected))
    error = caught.value
    assert error.limit == knob
    assert error.value == setting
    assert error.status_code == status
    assert knob in str(error) or knob == "max_header_count"
    assert isinstance(error, RemoteLimitExceeded)
    assert isinstance(error, LimitExceeded)
    assert isinstance(error, ProtocolViolation)


def test_header_bytes_limit_holds_one_byte_at_a_time_without_end() -> None:
    """An endless header is stopped at the limit, however it trickles in."""
    conn = HTTP1Connection("server", max_header_bytes=1000)
    conn.receive_data(b"GET / HTTP/1.1\r\nX: ")
    conn.next_event()

    def trickle() -> None:
        for _ in range(2000):
            conn.receive_data(b"v")
            conn.next_event()

    with pytest.raises(ProtocolLimitExceeded, match="max_header_bytes"):
        trickle()
