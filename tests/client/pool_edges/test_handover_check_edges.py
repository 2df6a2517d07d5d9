"""A keep-alive connection handed straight from one request to a queued one (the pool was
full) is a reuse like any other: docs/client.md promises the idle check "before every
reuse, however short the pause", and that a stale connection's resend goes out "on a new
connection, never on another idle one". (Found by the session-16 chaos review: a random
fault server driven by both clients; fixed since: a connection handed to a queued request
is checked as an idle one is, and replaced by a new one in the same slot when stale or when
the request is a stale connection's resend.)"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, hold, send, sleep

_FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
_STRAY = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"
_RIGHT = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nright"
_ONE = wirekit.Limits(max_connections=1)
#: The queued request is in the pool's queue, and the stray bytes have arrived, by then.
SETTLE = 0.3


def _stray_scripts() -> tuple[list, list]:
    # Connection 0 answers /a, then 20 ms later sends a response nobody asked for.
    return [expect(), send(_FIRST), sleep(0.02), send(_STRAY), expect(), hold()], [
        expect(),
        send(_RIGHT),
    ]


def test_sync_stray_bytes_on_a_connection_handed_to_a_queued_request_are_not_its_answer() -> None:
    with ScriptedServer(*_stray_scripts()) as server:
        with wirekit.Client(limits=_ONE, retry=0, timeout=5.0) as client:
            got: list[object] = []
            with client.stream("GET", server.url + "/a") as first:
                queued = threading.Thread(
                    target=lambda: got.append(client.get(server.url + "/b").content)
                )
                queued.start()
                time.sleep(SETTLE)  # /b waits for the one slot; the stray bytes come
                assert first.read() == b"first"
            queued.join(5)
    assert got == [b"right"]  # not b"stray": sent before /b was asked


@pytest.mark.anyio
async def test_async_stray_bytes_on_a_connection_handed_to_a_queued_request_are_not_its_answer() -> (
    None
):
    with ScriptedServer(*_stray_scripts()) as server:
        async with wirekit.AsyncClient(limits=_ONE, retry=0, timeout=5.0) as client:
            async with client.stream("GET", server.url + "/a") as first:
                queued = asyncio.ensure_future(client.get(server.url + "/b"))
                await asyncio.sleep(SETTLE)
                assert await first.aread() == b"first"
            second = await queued
    assert second.content == b"right"


@pytest.mark.anyio
async def test_a_stale_connections_resend_is_never_handed_a_used_connection() -> None:
    """The resend waits for the one slot; the response that held it ends and hands its
    connection over: the resend gets a new connection in that slot instead (the pool's
    _acquire with fresh=True, as handle_async_request calls it for the resend)."""
    from wirekit._models.url import URL
    from wirekit.client.deadline import Deadline

    with ScriptedServer([expect(), send(_FIRST), expect(), hold()]) as server:
        async with wirekit.AsyncClient(limits=_ONE, retry=0, timeout=5.0) as client:
            transport = client.transport
            url = URL(server.url + "/b")
            route = transport._route_for(url)  # type: ignore[attr-defined]
            pool = transport._pool  # type: ignore[attr-defined]
            async with client.stream("GET", server.url + "/a") as first:
                resend = asyncio.ensure_future(
                    pool._acquire(
                        route, url.origin, Deadline(wirekit.Timeout(5.0)), None, fresh=True
                    )
                )
                await asyncio.sleep(SETTLE)  # queued behind /a
                assert await first.aread() == b"first"
            connection = await asyncio.wait_for(resend, 5)
            assert not connection.is_connected  # a new one, not /a's
            await pool.discard(connection)
