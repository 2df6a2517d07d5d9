"""The client's streaming response API: edge cases found by review (each failed before its
fix): iterating after close, a short first line, deeply nested JSON, a UTF-8 BOM."""

from __future__ import annotations

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, hold, send
from wirekit.errors import JSONDecodeError, ReadTimeout, WirekitError

# -- 1. closing a response mid-iteration: the iterator must not end as if complete --------

#: A 100-byte body of which only the first line ever arrives.
PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nline1\n"


def test_iterator_after_close_does_not_end_as_complete_sync() -> None:
    with ScriptedServer([expect(), send(PARTIAL), hold()]) as server:
        with wirekit.Client(retry=0, timeout=5) as client:
            with client.stream("GET", server.url + "/") as response:
                lines = response.iter_lines()
                assert next(lines) == "line1"
                response.close()  # a watchdog / cleanup path gives up on the body
                # 6 of 100 bytes were read: ending normally would pass a truncated body
                # off as complete. A wirekit error (StreamClosed...) must say so.
                with pytest.raises(WirekitError):
                    next(lines)


@pytest.mark.anyio
async def test_iterator_after_close_does_not_end_as_complete_async() -> None:
    with ScriptedServer([expect(), send(PARTIAL), hold()]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            async with client.stream("GET", server.url + "/") as response:
                chunks = response.aiter_bytes()
                assert await chunks.__anext__() == b"line1\n"
                await response.aclose()
                with pytest.raises(WirekitError):
                    await chunks.__anext__()


# -- 2. iter_text/iter_lines withhold a short first piece (no charset declared) ------------

#: An event stream (no charset: SSE is UTF-8 by definition) whose first event is 3 bytes,
#: then nothing for a while (a server waiting for the next event).
SHORT_FIRST = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n3\r\nhi\n\r\n"
)


def test_short_first_line_is_not_withheld_sync() -> None:
    with ScriptedServer([expect(), send(SHORT_FIRST), hold()]) as server:
        with wirekit.Client(retry=0, timeout=wirekit.Timeout(10, read=1)) as client:
            with client.stream("GET", server.url + "/") as response:
                lines = response.iter_lines()
                try:
                    first = next(lines)
                except ReadTimeout:
                    pytest.fail("a complete line that had arrived was held back (BOM sniffing)")
    assert first == "hi"


@pytest.mark.anyio
async def test_short_first_text_is_not_withheld_async() -> None:
    with ScriptedServer([expect(), send(SHORT_FIRST), hold()]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=wirekit.Timeout(10, read=1)) as client:
            async with client.stream("GET", server.url + "/") as response:
                texts = response.aiter_text()
                try:
                    first = await texts.__anext__()
                except ReadTimeout:
                    pytest.fail("text that had arrived was held back (BOM sniffing)")
    assert first == "hi\n"


# -- 3. json() on a deeply nested (invalid) body -------------------------------------------


def test_json_of_deeply_nested_garbage_is_a_json_decode_error_sync() -> None:
    body = b"[" * 100_000  # not JSON at all (never closed)
    with ScriptedServer([expect(), send(reply(body, b"Content-Type: application/json"))]) as server:
        with wirekit.Client(retry=0, timeout=5) as client:
            with client.stream("GET", server.url + "/") as response:
                response.read()
                # A RecursionError escapes today: neither a ValueError nor a wirekit error.
                with pytest.raises(JSONDecodeError):
                    response.json()


@pytest.mark.anyio
async def test_json_of_deeply_nested_garbage_is_a_json_decode_error_async() -> None:
    body = b'{"a":' * 50_000
    with ScriptedServer([expect(), send(reply(body, b"Content-Type: application/json"))]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            response = await client.get(server.url + "/")
    with pytest.raises(JSONDecodeError):
        response.json()


# -- 4. a UTF-8 byte-order mark is kept as text when the charset is declared utf-8 --------

#: NDJSON as .NET/PowerShell servers send it: "charset=utf-8" and a UTF-8 BOM.
BOM_NDJSON = reply(
    b'\xef\xbb\xbf{"a": 1}\n{"b": 2}\n',
    b"Content-Type: application/x-ndjson; charset=utf-8",
    chunk=4,
)


def test_utf8_bom_is_dropped_from_first_line_with_declared_utf8_sync() -> None:
    with ScriptedServer([expect(), send(BOM_NDJSON)]) as server:
        with wirekit.Client(retry=0, timeout=5) as client:
            with client.stream("GET", server.url + "/") as response:
                lines = list(response.iter_lines())
    # '\ufeff{"a": 1}' today: json.loads() of the first record fails.
    assert lines == ['{"a": 1}', '{"b": 2}']


@pytest.mark.anyio
async def test_utf8_bom_is_dropped_from_text_with_declared_utf8_async() -> None:
    with ScriptedServer([expect(), send(BOM_NDJSON)]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            response = await client.get(server.url + "/")
    assert response.text == '{"a": 1}\n{"b": 2}\n'
