"""The client's response-side API (Response, its iterators, Headers).

Each test failed before its fix; each docstring says what the user saw, what the
reference (httpx, requests, or wirekit's own docs/docstrings) does, and why it matters. Peers are loopback only: scripted sockets or MockTransport.

(Found by a review of the response API; fixed since.)
"""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, hold, send
from wirekit import Headers
from wirekit.errors import LimitExceeded, ReadTimeout

TIMEOUT = wirekit.Timeout(10, read=1)


def _content_length(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


# -- 1. iter_lines: complete lines before an over-long one are thrown away ------------------

#: Two complete, short events and then a run of text longer than the limit, in ONE segment.
EVENTS_THEN_JUNK = b"event: 1\nevent: 2\n" + b"x" * 50


def test_iter_lines_keeps_complete_lines_before_an_overlong_line_sync() -> None:
    """User sees: ``iter_lines(max_line_length=20)`` raises LimitExceeded at once, and the
    two complete 8-character lines that preceded the over-long text are never handed over.
    Reference: the same bytes sent in two TCP segments give both lines first and then the
    error; LineDecoder.decode() computes the lines, then ``_hold()`` raises before returning
    them. Why it matters: what the consumer sees depends on TCP segmentation, and complete
    well-formed records (SSE events, NDJSON rows) that arrived are silently lost."""
    got: list[str] = []
    with ScriptedServer([expect(), send(_content_length(EVENTS_THEN_JUNK))]) as server:
        with wirekit.Client(retry=0, timeout=TIMEOUT) as client:
            with client.stream("GET", server.url + "/") as response:
                lines = response.iter_lines(max_line_length=20)
                with pytest.raises(LimitExceeded):
                    got.extend(lines)
    assert got == ["event: 1", "event: 2"]


async def _append_each(lines: Any, into: list[str]) -> None:
    async for line in lines:
        into.append(line)


@pytest.mark.anyio
async def test_iter_lines_keeps_complete_lines_before_an_overlong_line_async() -> None:
    """Async twin of the test above (``aiter_lines``): same loss of complete lines."""
    got: list[str] = []
    with ScriptedServer([expect(), send(_content_length(EVENTS_THEN_JUNK))]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=TIMEOUT) as client:
            async with client.stream("GET", server.url + "/") as response:
                lines = response.aiter_lines(max_line_length=20)
                with pytest.raises(LimitExceeded):
                    await _append_each(lines, got)
    assert got == ["event: 1", "event: 2"]


# -- 2. iter_lines: a line ended by a lone CR is held until more bytes arrive ---------------

#: An event stream using CR line endings (allowed by the SSE spec): one event, then silence.
CR_EVENT = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    b"\r\n9\r\ndata: 1\r\r\r\n"
)


def test_cr_terminated_lines_are_handed_over_when_they_arrive_sync() -> None:
    """User sees: an event stream with CR line endings (``data: 1\\r\\r``, valid per the
    WHATWG SSE grammar) yields ``"data: 1"`` but the blank line that ends the event is held
    back until the *next* bytes arrive; with a quiet server the read times out
    (ReadTimeout). Reference: docs/client.md says a short first line "is handed over as
    soon as it arrives"; a CR already ends the line (a following LF only has to be
    skipped), as browsers' EventSource parser does. Why it matters: every CR-terminated
    event is delivered one event late, or never if the stream goes idle."""
    with ScriptedServer([expect(), send(CR_EVENT), hold()]) as server:
        with wirekit.Client(retry=0, timeout=TIMEOUT) as client:
            with client.stream("GET", server.url + "/") as response:
                lines = response.iter_lines()
                assert next(lines) == "data: 1"
                try:
                    second = next(lines)
                except ReadTimeout:
                    pytest.fail("a line ended by CR that had arrived was withheld")
    assert second == ""


@pytest.mark.anyio
async def test_cr_terminated_lines_are_handed_over_when_they_arrive_async() -> None:
    """Async twin of the test above (``aiter_lines``)."""
    with ScriptedServer([expect(), send(CR_EVENT), hold()]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=TIMEOUT) as client:
            async with client.stream("GET", server.url + "/") as response:
                lines = response.aiter_lines()
                assert await lines.__anext__() == "data: 1"
                try:
                    second = await lines.__anext__()
                except ReadTimeout:
                    pytest.fail("a line ended by CR that had arrived was withheld")
    assert second == ""


# -- 3. iter_raw(0): a rejected argument burns the body ---------------------------------------


def test_iter_raw_bad_chunk_size_leaves_the_body_readable_sync() -> None:
    """User sees: ``iter_raw(0)`` raises ValueError (fine), but the response is already
    marked consumed, so a following ``read()`` raises StreamConsumed although not one byte
    was read. Reference: ``iter_bytes(0)`` / ``iter_text(0)`` raise the same ValueError and
    leave the body readable (the check runs before the stream is claimed); raw() claims the
    stream (``_sync_stream()``) before building its Rechunker. Why it matters: a bad
    argument (a computed chunk size of 0) loses the body for good."""
    with ScriptedServer([expect(), send(_content_length(b"hello"))]) as server:
        with wirekit.Client(retry=0, timeout=TIMEOUT) as client:
            with client.stream("GET", server.url + "/") as response:
                with pytest.raises(ValueError):
                    next(response.iter_bytes(0))
                with pytest.raises(ValueError):
                    next(response.iter_raw(0))
                assert response.read() == b"hello"


@pytest.mark.anyio
async def test_iter_raw_bad_chunk_size_leaves_the_body_readable_async() -> None:
    """Async twin of the test above (``aiter_raw(0)`` then ``aread()``)."""
    with ScriptedServer([expect(), send(_content_length(b"hello"))]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=TIMEOUT) as client:
            async with client.stream("GET", server.url + "/") as response:
                with pytest.raises(ValueError):
                    await response.aiter_bytes(0).__anext__()
                with pytest.raises(ValueError):
                    await response.aiter_raw(0).__anext__()
                assert await response.aread() == b"hello"


# -- 4. iter_raw on a Response built with content= (MockTransport) ---------------------------


def _mock_sync(response_factory):  # type: ignore[no-untyped-def]
    return wirekit.Client(transport=wirekit.MockTransport(lambda request: response_factory()))


def _mock_async(response_factory):  # type: ignore[no-untyped-def]
    return wirekit.AsyncClient(transport=wirekit.MockTransport(lambda request: response_factory()))


def test_iter_raw_honours_chunk_size_on_a_mock_response_sync() -> None:
    """User sees: with a MockTransport handler returning ``Response(200, content=b"hello")``,
    ``iter_raw(2)`` yields ``[b"hello"]``: chunk_size is ignored. Reference: ``iter_bytes(2)``
    on the same response yields ``[b"he", b"ll", b"o"]``, and ``iter_raw(2)`` over the
    network regroups to exact sizes (as httpx's does). Why it matters: code that relies on
    bounded chunk sizes (fixed-size records, progress bars, buffers) behaves differently
    under test than in production."""
    with _mock_sync(lambda: wirekit.Response(200, content=b"hello")) as client:
        with client.stream("GET", "http://service.test/") as response:
            assert list(response.iter_bytes(2)) == [b"he", b"ll", b"o"]
        with client.stream("GET", "http://service.test/") as response:
            assert list(response.iter_raw(2)) == [b"he", b"ll", b"o"]


@pytest.mark.anyio
async def test_iter_raw_honours_chunk_size_on_a_mock_response_async() -> None:
    """Async twin of the test above (``aiter_raw(2)``)."""
    async with _mock_async(lambda: wirekit.Response(200, content=b"hello")) as client:
        async with client.stream("GET", "http://service.test/") as response:
            assert [c async for c in response.aiter_bytes(2)] == [b"he", b"ll", b"o"]
        async with client.stream("GET", "http://service.test/") as response:
            assert [c async for c in response.aiter_raw(2)] == [b"he", b"ll", b"o"]


def test_iter_raw_of_an_empty_mock_response_yields_no_chunk_sync() -> None:
    """User sees: ``iter_raw()`` of ``Response(204)`` (MockTransport) yields one empty chunk
    ``[b""]``. Reference: ``iter_bytes()`` of the same response, and ``iter_raw()`` of an empty
    body over the network, yield nothing ``[]``; httpx never yields empty chunks. Why it
    matters: loops that treat an empty chunk as end-of-stream or count chunks see a phantom
    chunk only under test."""
    with _mock_sync(lambda: wirekit.Response(204)) as client:
        with client.stream("GET", "http://service.test/") as response:
            assert list(response.iter_bytes()) == []
        with client.stream("GET", "http://service.test/") as response:
            assert list(response.iter_raw()) == []


@pytest.mark.anyio
async def test_iter_raw_of_an_empty_mock_response_yields_no_chunk_async() -> None:
    """Async twin of the test above (``aiter_raw()``)."""
    async with _mock_async(lambda: wirekit.Response(204)) as client:
        async with client.stream("GET", "http://service.test/") as response:
            assert [c async for c in response.aiter_bytes()] == []
        async with client.stream("GET", "http://service.test/") as response:
            assert [c async for c in response.aiter_raw()] == []


# -- 5. Content-Encoding of a Response built by hand is never undone -------------------------

GZ_HELLO = gzip.compress(b"hello")


def test_mock_response_content_encoding_is_decoded_sync() -> None:
    """User sees: a MockTransport handler returning
    ``Response(200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(b"hello"))``
    gives ``.content``/``.text`` as the compressed bytes, and ``iter_bytes()`` (docstring:
    "The body decoded (gzip, br, zstd... undone)") yields the same compressed bytes as
    ``iter_raw()``. Reference: httpx's MockTransport gives ``b"hello"`` for the same handler.
    Why it matters: a test suite simulating a compressing server (or a handler relaying
    an upstream's headers and body) cannot exercise decoding, and httpx tests ported to
    wirekit get garbage in ``.text``/``.json()``."""
    handler_headers = {"Content-Encoding": "gzip"}
    with httpx.Client(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, headers=handler_headers, content=GZ_HELLO)
        )
    ) as reference:
        assert reference.get("http://service.test/").content == b"hello"
    with _mock_sync(
        lambda: wirekit.Response(200, headers=handler_headers, content=GZ_HELLO)
    ) as client:
        with client.stream("GET", "http://service.test/") as response:
            assert b"".join(response.iter_bytes()) == b"hello"
        assert client.get("http://service.test/").content == b"hello"


@pytest.mark.anyio
async def test_mock_response_content_encoding_is_decoded_async() -> None:
    """Async twin of the test above (AsyncClient, ``aiter_bytes()``)."""
    handler_headers = {"Content-Encoding": "gzip"}
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, headers=handler_headers, content=GZ_HELLO)
        )
    ) as reference:
        assert (await reference.get("http://service.test/")).content == b"hello"
    async with _mock_async(
        lambda: wirekit.Response(200, headers=handler_headers, content=GZ_HELLO)
    ) as client:
        async with client.stream("GET", "http://service.test/") as response:
            assert b"".join([c async for c in response.aiter_bytes()]) == b"hello"
        assert (await client.get("http://service.test/")).content == b"hello"


# -- 6. response.cookies is always None ----------------------------------------------------

SETS_COOKIE = b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=abc; Path=/\r\nContent-Length: 2\r\n\r\nok"


def test_response_cookies_has_the_cookies_the_response_set_sync() -> None:
    """User sees: ``response.cookies`` exists (a slot set in ``Response.__init__``) but is
    ``None`` on every response, even one carrying ``Set-Cookie``; ``response.cookies["sid"]``
    raises ``TypeError: 'NoneType' object is not subscriptable``. Reference: httpx and
    requests give a jar of the cookies that response set (``{"sid": "abc"}`` here; checked
    against httpx on the same peer). Why it matters: the standard way to read a login
    response's session cookie fails, and nothing populates the attribute at all."""
    with ScriptedServer([expect(), send(SETS_COOKIE)]) as server:
        with httpx.Client() as reference:
            assert dict(reference.get(server.url + "/").cookies) == {"sid": "abc"}
        with wirekit.Client(retry=0, timeout=TIMEOUT) as client:
            response = client.get(server.url + "/")
    assert response.cookies is not None
    assert response.cookies["sid"] == "abc"


@pytest.mark.anyio
async def test_response_cookies_has_the_cookies_the_response_set_async() -> None:
    """Async twin of the test above (AsyncClient)."""
    with ScriptedServer([expect(), send(SETS_COOKIE)]) as server:
        async with httpx.AsyncClient() as reference:
            assert dict((await reference.get(server.url + "/")).cookies) == {"sid": "abc"}
        async with wirekit.AsyncClient(retry=0, timeout=TIMEOUT) as client:
            response = await client.get(server.url + "/")
    assert response.cookies is not None
    assert response.cookies["sid"] == "abc"


# -- 7. Headers: names given as bytes are stored but cannot be found ---------------------------


def test_headers_bytes_names_can_be_looked_up_as_they_were_set() -> None:
    """User sees: ``Headers`` accepts bytes names (constructor, ``__setitem__``, ``add``:
    HeaderTypes lists ``Mapping[bytes, bytes]``), yet after ``h[b"X-Id"] = b"1"``,
    ``b"X-Id" in h`` is False, ``h.get(b"X-Id")`` is None, ``h.get_list(b"X-Id")`` is ``[]``
    and ``h[b"X-Id"]``/``del h[b"X-Id"]`` raise KeyError. Reference: the MutableMapping
    contract (after ``m[k] = v``, ``k in m`` and ``m[k]`` works) and requests'
    CaseInsensitiveDict, which looks bytes keys up as they were stored. Why it matters:
    code written against wire-level (bytes) names silently believes a header is absent and,
    e.g., adds a second Content-Type instead of replacing it."""
    headers = Headers()
    headers[b"X-Id"] = b"1"
    assert headers.multi_items() == [("X-Id", "1")]  # stored (as str)
    assert b"X-Id" in headers
    assert headers.get(b"X-Id") == "1"
    assert headers.get_list(b"x-id") == ["1"]
    assert headers[b"x-id"] == "1"
    del headers[b"X-Id"]
    assert headers.multi_items() == []


# -- 8. Response.stream is not None once the content is set ----------------------------------


def test_stream_is_none_once_the_content_is_read_sync() -> None:
    """User sees: after ``read()`` (or a plain ``client.get()``), ``response.stream`` is still
    the transport's body object. Reference: the ``Response.stream`` docstring says "The raw
    body stream handed over by the transport (None once content is set)". Why it matters:
    code that checks ``response.stream is None`` to know the body is in memory is misled,
    and the finished body object (and what it references) stays alive with the response."""
    with ScriptedServer([expect(), send(_content_length(b"hi"))]) as server:
        with wirekit.Client(retry=0, timeout=TIMEOUT) as client:
            with client.stream("GET", server.url + "/") as response:
                assert response.read() == b"hi"
                assert response.stream is None


@pytest.mark.anyio
async def test_stream_is_none_once_the_content_is_read_async() -> None:
    """Async twin of the test above (``aread()``)."""
    with ScriptedServer([expect(), send(_content_length(b"hi"))]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=TIMEOUT) as client:
            async with client.stream("GET", server.url + "/") as response:
                assert await response.aread() == b"hi"
                assert response.stream is None
