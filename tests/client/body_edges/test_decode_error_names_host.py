"""Errors raised while decoding a response body do not say which host sent it.

Every other body-phase error names the peer (connection._next_event prefixes
"host:port: ", ReadTimeout says "no data from host:port while reading the response body");
DESIGN.md 7 "Errors by phase and blame". A DecodingError / DecompressionLimitError from
decoders.py only says "corrupt gzip data: Error -3 while decompressing data: incorrect
header check": in a crawler or a service calling many hosts, the log line does not say who
sent the bad body (nor that it happened while reading the body).
"""

from __future__ import annotations

import gzip

import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

CORRUPT = reply(b"this is not gzip at all", b"Content-Encoding: gzip")
BOMB = reply(gzip.compress(b"\0" * (8 << 20), 9), b"Content-Encoding: gzip", chunk=4096)


@pytest.mark.parametrize("script", [CORRUPT, BOMB], ids=["corrupt", "bomb"])
def test_decoding_error_names_the_host_sync(script: bytes) -> None:
    with ScriptedServer([expect(), send(script)]) as server:
        with wirekit.Client(retry=0) as client:
            with pytest.raises(wirekit.DecodingError) as info:
                client.get(server.url + "/data")
    assert "127.0.0.1" in str(info.value), str(info.value)


@pytest.mark.anyio
async def test_streamed_decoding_error_names_the_host_async() -> None:
    with ScriptedServer([expect(), send(CORRUPT)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            async with client.stream("GET", server.url + "/data") as response:
                with pytest.raises(wirekit.DecodingError) as info:
                    async for _chunk in response.aiter_bytes():
                        pass
    assert "127.0.0.1" in str(info.value), str(info.value)


TRUNCATED = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhello"


@pytest.mark.parametrize("script", [CORRUPT, TRUNCATED], ids=["corrupt-gzip", "truncated"])
def test_streamed_body_errors_carry_the_request_sync(script: bytes) -> None:
    # errors.py: "request is the request being handled when the error happened". client.send
    # attaches it for errors of response.read() (stream=False) only; the same errors raised
    # from iter_bytes() of a client.stream() response have exc.request None.
    from tests.support.scripted import close

    with ScriptedServer([expect(), send(script), close()]) as server:
        url = server.url + "/data"
        with wirekit.Client(retry=0) as client:
            with client.stream("GET", url) as response:
                with pytest.raises(wirekit.WirekitError) as info:
                    for _chunk in response.iter_bytes():
                        pass
    assert info.value.request is not None
    assert str(info.value.request.url) == url
