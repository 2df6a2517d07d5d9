"""Cancellation in the middle of the async pool's cleanup loops (found by a review that
fuzzed cancellation): each test failed before its fix, leaving connections open with no
owner."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

import wirekit
from tests.client.cancel_edges.chaos_server import ChaosServer
from tests.support.helpers import open_fds
from tests.support.loops import BOTH_LOOPS

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.parametrize("anyio_backend", BOTH_LOOPS),
    # While the bugs stand, the forgotten sockets are collected after their loop closed,
    # in some later test: the fd counts below are the checks, not those late warnings.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


async def _idle_connections_the_server_closed(
    client: wirekit.AsyncClient, server: ChaosServer
) -> None:
    # Three keep-alive connections, each closed by the server once idle in the pool.
    await asyncio.gather(*[client.get(f"{server.url}/thenclose") for _ in range(3)])
    await asyncio.sleep(0.2)
    assert client.transport.connection_counts() == {"open": 3, "idle": 3}


def _unclosed(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("turns", [1, 2, 3])
async def test_request_cancelled_while_pool_closes_stale_connections_closes_them_all(
    turns: int,
) -> None:
    """The pool found three dead idle connections and closes them one by one before using a
    new one: a cancellation during the first close left the other two open, forgotten by
    the pool (fd held until GC, then "unclosed transport" ResourceWarnings)."""
    server = ChaosServer()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = wirekit.AsyncClient(limits=wirekit.Limits(max_connections=3), retry=0)
            await _idle_connections_the_server_closed(client, server)
            before = open_fds()
            task = asyncio.create_task(client.get(f"{server.url}/fast"))
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            counts = client.transport.connection_counts()
            leaked = open_fds() - (before - 3)
            await client.aclose()
            gc.collect()
        assert counts == {"open": 0, "idle": 0}
        assert leaked <= 0, f"{leaked} forgotten connection(s) still open after the cancellation"
        assert not _unclosed(caught)
    finally:
        server.close()


@pytest.mark.parametrize("turns", [1, 2])
async def test_client_aclose_cancelled_midway_closes_every_idle_connection(turns: int) -> None:
    """aclose() marks the pool closed and forgets its idle connections, then closes them one
    by one: cancelled during the first (a TaskGroup or wait_for tearing down), the others
    are never closed by anyone (fd held until GC, "unclosed transport")."""
    server = ChaosServer()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = wirekit.AsyncClient(limits=wirekit.Limits(max_connections=3), retry=0)
            await _idle_connections_the_server_closed(client, server)
            before = open_fds()
            task = asyncio.create_task(client.aclose())
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            leaked = open_fds() - (before - 3)
            await client.aclose()  # a second call: the client is marked closed already
            gc.collect()
        assert leaked <= 0, f"{leaked} idle connection(s) left open by the cancelled aclose()"
        assert not _unclosed(caught)
    finally:
        server.close()


async def test_client_aclose_cancelled_midway_closes_every_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The transport forgets all its pools, then closes them one by one: cancelled while
    the first pool closes, the next pool (here a proxy route's) is never closed, and its
    idle connection stays open on both ends."""
    origin = ChaosServer()
    proxy = ChaosServer()  # answers the proxied request itself: enough for a forward proxy
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        client = wirekit.AsyncClient(retry=0, trust_env=True)
        assert (await client.get(f"{origin.url}/fast")).status_code == 200  # direct pool
        proxied = await client.get(f"http://localhost:{origin.port}/fast")  # proxy pool
        assert proxied.status_code == 200
        assert client.transport.connection_counts() == {"open": 2, "idle": 2}
        task = asyncio.create_task(client.aclose())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.aclose()  # a second call: the client is marked closed already
        still_open = await asyncio.to_thread(proxy.wait_all_closed, 1.0)
        assert still_open == 0, "the proxy pool's idle connection was never closed"
        assert await asyncio.to_thread(origin.wait_all_closed, 1.0) == 0
    finally:
        origin.close()
        proxy.close()


async def test_client_closed_on_the_way_out_of_a_cancelled_anyio_scope_closes_all() -> None:
    """The everyday shape of the bug: ``async with AsyncClient()`` inside ``move_on_after``
    (or a TaskGroup being cancelled). anyio re-raises the cancellation at every await in
    the cancelled scope, so aclose() is interrupted at its first close: every idle
    connection but one stayed open (2 of 3 here)."""
    import anyio

    server = ChaosServer()
    try:
        with anyio.move_on_after(0.5):
            async with wirekit.AsyncClient(retry=0) as client:
                async with anyio.create_task_group() as group:
                    for _ in range(3):
                        group.start_soon(client.get, f"{server.url}/fast")
                assert client.transport.connection_counts() == {"open": 3, "idle": 3}
                await anyio.sleep(10)  # cancelled here: the client closes on the way out
        still_open = await anyio.to_thread.run_sync(server.wait_all_closed, 1.0)
        assert still_open == 0, f"{still_open} of the client's 3 connections left open"
    finally:
        server.close()
