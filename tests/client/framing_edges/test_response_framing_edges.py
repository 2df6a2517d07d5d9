"""How the client reads responses from unusual HTTP/1.1 servers: findings of a differential
review against http.client, requests (urllib3), httpx (h11) and aiohttp, using raw scripted
loopback servers. (Found by the session-16 review of response framing; fixed since: a 1xx
with "Connection: close" takes a fresh llhttp parser for the final response; a response's
obs-fold is unfolded (a request's is still refused); 600-999 are handed over and
raise_for_status() treats them as server errors.)

Each test failed when it was written. Each docstring says what the user sees, what the
references do, and what RFC 9110/9112 say. Deliberate strictness is reported only where
every reference accepts the input and the RFC asks the recipient to accept it too.
"""

from __future__ import annotations

import re

import pytest

import wirekit
from tests.proto.helpers import byte_at_a_time, feed
from tests.support.scripted import ScriptedServer, expect, send
from wirekit._proto.http1 import EndOfMessage, HTTP1Connection, InformationalResponse, Response

TIMEOUT = wirekit.Timeout(5, read=2)
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"


def _get_twice(server: ScriptedServer) -> list[wirekit.Response]:
    with wirekit.Client(retry=0, timeout=TIMEOUT) as client:
        return [client.get(server.url + "/"), client.get(server.url + "/")]


async def _aget_twice(server: ScriptedServer) -> list[wirekit.Response]:
    async with wirekit.AsyncClient(retry=0, timeout=TIMEOUT) as client:
        return [await client.get(server.url + "/"), await client.get(server.url + "/")]


# -- 1. An interim (1xx) response carrying "Connection: close" breaks the final one -------

INTERIM_CLOSE = [
    b"HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n",
    b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nConnection: close\r\n\r\n",
]
FINAL = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@pytest.mark.parametrize("interim", INTERIM_CLOSE, ids=["100", "103"])
@pytest.mark.parametrize("split", [False, True], ids=["one-read", "byte-at-a-time"])
def test_core_reads_the_final_response_after_an_interim_one_with_connection_close(
    interim: bytes, split: bool
) -> None:
    """User sees: ``RemoteProtocolError: malformed response: Data after `Connection:
    close``` and never gets the 200 that follows. Cause: _finish_response_head decides to
    reuse the llhttp parser for the next head with ``parser.should_keep_alive()``, but
    llhttp clears its flags once a message is complete, so that call says True even though
    llhttp has moved to its "closed" state and refuses any further byte. (The same call
    in _end_message has the same blind spot.) Reference: http.client, requests and httpx
    return the 200 with its body (aiohttp, on llhttp too, fails the same way). RFC 9110
    §15.2: a 1xx is interim, the final response follows on the same connection; nothing
    forbids Connection in it. wirekit's own comment says "llhttp has ended the 1xx and
    reads on" and means to take a fresh parser when it cannot: the check is what fails."""
    conn = HTTP1Connection("client")
    conn.send_request(b"GET", b"/", [(b"Host", b"example.test")])
    data = interim + FINAL
    events = feed(conn, byte_at_a_time(data) if split else [data])
    assert isinstance(events[0], InformationalResponse)
    final = [e for e in events if isinstance(e, Response)]
    assert final
    assert final[0].status_code == 200
    assert EndOfMessage([]) in events


def test_client_gets_the_final_response_after_100_continue_with_connection_close() -> None:
    """The same through Client.get(): the user gets the error instead of the 200."""
    with ScriptedServer([expect(), send(INTERIM_CLOSE[0] + FINAL)]) as server:
        with wirekit.Client(retry=0, timeout=TIMEOUT) as client:
            response = client.get(server.url + "/")
    assert response.status_code == 200
    assert response.content == b"hello"


@pytest.mark.anyio
async def test_async_client_gets_the_final_response_after_103_with_connection_close() -> None:
    """Async twin, with a 103 Early Hints that carries Connection: close."""
    with ScriptedServer([expect(), send(INTERIM_CLOSE[1] + FINAL)]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=TIMEOUT) as client:
            response = await client.get(server.url + "/")
    assert response.status_code == 200
    assert response.content == b"hello"


# -- 2. obs-fold in a response header is refused; a user agent MUST unfold it -------------

FOLDED = b"HTTP/1.1 200 OK\r\nX-Folded: first\r\n second\r\nContent-Length: 5\r\n\r\nhello"


def test_obs_fold_in_a_response_is_unfolded_sync() -> None:
    """User sees: ``RemoteProtocolError: ...: response uses header line folding
    (obs-fold), which RFC 9112 §5.2 forbids``; the response is lost. Reference:
    http.client, requests, httpx and aiohttp all return the 200 (requests, httpx and
    aiohttp give "first second"). RFC 9112 §5.2 forbids *generating* obs-fold; for a
    recipient it says "A user agent that receives an obs-fold in a response message ...
    MUST replace each received obs-fold with one or more SP octets prior to interpreting
    the field value" (only servers and proxies may reject). So the refusal goes against a
    MUST, and the message misquotes the section it cites. Old CGI / mail-derived headers
    and some appliances still fold."""
    with ScriptedServer([expect(), send(FOLDED), expect(), send(SECOND)]) as server:
        first, second = _get_twice(server)
    assert first.status_code == 200
    assert re.fullmatch(r"first +second", first.headers["x-folded"])
    assert first.content == b"hello"
    assert second.content == b"second"


@pytest.mark.anyio
async def test_obs_fold_in_a_response_is_unfolded_async() -> None:
    """Async twin of the test above."""
    with ScriptedServer([expect(), send(FOLDED), expect(), send(SECOND)]) as server:
        first, second = await _aget_twice(server)
    assert re.fullmatch(r"first +second", first.headers["x-folded"])
    assert first.content == b"hello"
    assert second.content == b"second"


# -- 3. Status codes 600..999 are refused; a client SHOULD treat them as 5xx --------------


@pytest.mark.parametrize("code", [600, 999])
def test_status_600_to_999_is_processed_like_a_server_error(code: int) -> None:
    """User sees: ``RemoteProtocolError: ...: response has an invalid status code 999``,
    with no response, no body and no headers to look at. Reference: http.client, requests,
    httpx and aiohttp all return the response (status 999, its headers and body). RFC 9110
    §15: status-code is 3DIGIT; "Values outside the range 100..599 are invalid ... A client
    that receives a response with an invalid status code SHOULD process the response as if
    it had a 5xx (Server Error) status code." Real servers send them (LinkedIn answers
    scrapers with "999 Request denied"). The refusal came with the fix for "099" being
    skipped as an interim response (CHANGELOG); that fix only needs codes below 100
    refused."""
    head = b"HTTP/1.1 %d Request denied\r\nContent-Length: 5\r\n\r\nhello" % code
    with ScriptedServer([expect(), send(head), expect(), send(SECOND)]) as server:
        first, second = _get_twice(server)
    assert first.status_code == code
    assert first.content == b"hello"
    assert not first.ok
    with pytest.raises(wirekit.HTTPStatusError, match="server error"):
        first.raise_for_status()
    assert second.content == b"second"


# -- the fixes' edges ----------------------------------------------------------------------


@pytest.mark.parametrize("split", [False, True], ids=["one-read", "byte-at-a-time"])
def test_core_unfolds_every_fold_whatever_the_split(split: bool) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nX-A: one\r\n\ttwo\r\n   three\r\nX-B: plain\r\n"
        b"Content-Length: 5\r\n\r\nhello"
    )
    conn = HTTP1Connection("client")
    conn.send_request(b"GET", b"/", [(b"Host", b"example.test")])
    events = feed(conn, byte_at_a_time(head) if split else [head])
    response = events[0]
    assert isinstance(response, Response)
    assert response.headers == [
        (b"X-A", b"one two three"),
        (b"X-B", b"plain"),
        (b"Content-Length", b"5"),
    ]
    assert EndOfMessage([]) in events


def test_core_refuses_a_folded_request_head() -> None:
    """RFC 9112 §5.2: a server must reject an obs-fold (or unfold it): it still rejects."""
    conn = HTTP1Connection("server")
    with pytest.raises(wirekit.RemoteProtocolError, match="obs-fold"):
        feed(conn, [b"GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n"])


def test_core_unfolded_head_still_counts_its_fields() -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"X: a\r\n b\r\n" * 5 + b"Content-Length: 0\r\n\r\n"
    conn = HTTP1Connection("client", max_header_count=4)
    conn.send_request(b"GET", b"/", [(b"Host", b"example.test")])
    with pytest.raises(wirekit.RemoteProtocolError, match="header"):
        feed(conn, [head])


def test_status_999_raises_for_status_as_a_server_error() -> None:
    head = b"HTTP/1.1 999 Request denied\r\nContent-Length: 0\r\n\r\n"
    with ScriptedServer([expect(), send(head)]) as server:
        with wirekit.Client(retry=0, timeout=TIMEOUT) as client:
            response = client.get(server.url + "/")
    assert not response.ok
    with pytest.raises(wirekit.HTTPStatusError, match="server error '999 Request denied'"):
        response.raise_for_status()


@pytest.mark.parametrize(
    ("head", "words"),
    [
        (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "ends a line with a bare LF"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", "ends a line with a bare LF"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", "an empty Transfer-Encoding"),
        (b"HTTP/2 200\r\nContent-Length: 0\r\n\r\n", "unsupported HTTP version"),
    ],
    ids=["lf-status-line", "lf-header", "empty-te", "http2"],
)
def test_core_names_what_is_wrong_in_plain_words(head: bytes, words: str) -> None:
    """(The review found llhttp's own words passed on: "malformed response: Missing
    expected CR after response line", "Empty Transfer-Encoding", "Expected dot".)"""
    conn = HTTP1Connection("client")
    conn.send_request(b"GET", b"/", [(b"Host", b"example.test")])
    with pytest.raises(wirekit.RemoteProtocolError) as caught:
        feed(conn, [head])
    assert str(caught.value).startswith("response ")
    assert words in str(caught.value)
