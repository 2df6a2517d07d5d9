"""An ``AsyncClient`` used under more than one event loop (a CLI that calls ``asyncio.run``
once per command, a test suite sharing one client).

A connection belongs to the loop it was opened on. When that loop has closed, the
connection cannot be used or closed through it any more: the pool drops it as stale (as it
drops one the server closed) and the request gets a new connection on the running loop.
Before, the idle connection was reused and the request failed with asyncio's
``RuntimeError: Event loop is closed`` (httpx fails the same way; aiohttp binds a session
to one loop).

Real loopback peers only (tests/support/pool_peers.py); every wait is bounded.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

import wirekit
from tests.support.pool_peers import Peer, keep_alive

RUNNERS: dict[str, Callable[[Coroutine[Any, Any, Any]], Any]] = {
    "asyncio": asyncio.run,
    "uvloop": uvloop.run,
}


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_async_client_works_again_under_a_new_event_loop(runner: str) -> None:
    run = RUNNERS[runner]
    with Peer(keep_alive()) as peer, warnings.catch_warnings(record=True) as caught:
        # The first loop closes with the client's connection still open: asyncio and
        # uvloop each warn about that transport (ResourceWarning), which is right: the
        # client was not closed before its loop was. Only those warnings are allowed.
        warnings.simplefilter("always")
        client = wirekit.AsyncClient(retry=0)

        async def get() -> tuple[int, bytes, dict[str, int]]:
            response = await client.get(peer.url)
            return response.status_code, response.content, client.transport.connection_counts()

        assert run(get()) == (200, b"hello", {"open": 1, "idle": 1})
        # The connection of the closed loop is dropped, a new one made on this loop.
        assert run(get()) == (200, b"hello", {"open": 1, "idle": 1})
        assert peer.connections == 2
        assert run(get()) == (200, b"hello", {"open": 1, "idle": 1})
        assert peer.connections == 3
        run(client.aclose())  # in yet another loop: closes without raising
        assert client.transport.connection_counts() == {"open": 0, "idle": 0}
        gc.collect()
    others = [w for w in caught if not issubclass(w.category, ResourceWarning)]
    assert others == [], [str(w.message) for w in others]


def test_async_client_closed_in_the_same_loop_leaves_nothing_to_warn_about() -> None:
    """The way to avoid those warnings: close the client before its loop ends."""
    with Peer(keep_alive()) as peer:

        async def main() -> int:
            async with wirekit.AsyncClient() as client:
                return (await client.get(peer.url)).status_code

        gc.collect()  # what earlier tests left is not this test's
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert asyncio.run(main()) == 200
            assert uvloop.run(main()) == 200
            gc.collect()
    assert [str(w.message) for w in caught] == []
