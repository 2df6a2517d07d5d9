"""A Client / AsyncClient dropped without close() (a client made per call, never closed).

requests, httpx and aiohttp all release such a client's sockets when it is garbage-collected
(with a ResourceWarning, which these tests allow). (Found by the session-16 review of
lifecycles; fixed since: the expiry alarm held the pool (a timer thread for Client, a loop
callback for AsyncClient), so each dropped client kept its sockets, and for Client a thread,
until keepalive_expiry (5 s by default), and an event loop kept an async one's idle socket
open for good; now the alarm reaches the pool by weak reference and a collected pool closes
its idle connections and cancels its timer.)
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest

import wirekit
from tests.client.lifecycle_edges._peer import IdPeer

DROPPED = 20


def _expiry_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "wirekit-pool-expiry"}


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_sync_dropped_clients_release_their_sockets_and_threads_on_garbage_collection() -> None:
    with IdPeer() as peer:
        threads_before = _expiry_threads()
        for _ in range(DROPPED):
            client = wirekit.Client(timeout=5.0)  # keepalive_expiry: the default 5 s
            assert client.get(peer.url + "/x").status_code == 200
            del client
        gc.collect()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            closed = len(peer.closed_by_client)
            left_threads = len(_expiry_threads() - threads_before)
            if (closed, left_threads) == (DROPPED, 0):
                break
            time.sleep(0.02)
    assert (closed, left_threads) == (DROPPED, 0), (
        f"{DROPPED} clients dropped and collected: {closed} of their sockets closed, "
        f"{left_threads} expiry threads still running"
    )


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_async_dropped_clients_release_their_sockets_on_garbage_collection() -> None:
    with IdPeer() as peer:
        for _ in range(DROPPED):
            client = wirekit.AsyncClient(timeout=5.0)
            assert (await client.get(peer.url + "/x")).status_code == 200
            del client
        gc.collect()
        deadline = time.monotonic() + 2.0
        while len(peer.closed_by_client) < DROPPED and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        closed = len(peer.closed_by_client)
    assert closed == DROPPED, f"{DROPPED} clients dropped and collected: {closed} sockets closed"
