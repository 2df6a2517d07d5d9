"""Closing a streamed response with the other flavour's close marks it closed but never
releases its connection: the pool slot is lost while the response lives, and the right
close called afterwards does nothing (``_closed`` is already True).

Response.close() (messages.py) only calls ``stream.close()`` if the stream has one; the
async client's AsyncResponseBody has only ``aclose``. So ``with response:`` (instead of
``async with``) or ``response.close()`` on an AsyncClient stream silently leaks the slot:
the next request waits for the pool and fails with PoolTimeout. Response.aclose() on a sync
Client's stream is the mirror image. (httpx raises RuntimeError for the wrong flavour.)
"""

from __future__ import annotations

import asyncio

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, hold, send

PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _limits() -> dict:
    return {
        "retry": 0,
        "limits": wirekit.Limits(max_connections=1),
        "timeout": wirekit.Timeout(5, pool=1.0),
    }


@pytest.mark.anyio
async def test_sync_close_of_async_stream_frees_the_slot() -> None:
    with ScriptedServer([expect(), send(PARTIAL), hold()], [expect(), send(OK)]) as server:
        async with wirekit.AsyncClient(**_limits()) as client:
            request = client.build_request("GET", server.url + "/")
            response = await client.send(request, stream=True)
            try:
                with response:  # meant "async with": must either work or refuse loudly
                    pass
            except RuntimeError:
                pass
            await response.aclose()  # the right close, afterwards: must free the slot
            assert (await client.get(server.url + "/")).content == b"ok"


def test_async_close_of_sync_stream_frees_the_slot() -> None:
    with ScriptedServer([expect(), send(PARTIAL), hold()], [expect(), send(OK)]) as server:
        with wirekit.Client(**_limits()) as client:
            response = client.send(client.build_request("GET", server.url + "/"), stream=True)
            try:
                asyncio.run(response.aclose())
            except RuntimeError:
                pass
            response.close()
            assert client.get(server.url + "/").content == b"ok"
