"""A full pool must serve its waiters in the order they came (as httpx/httpcore does: every
request is queued, and a freed connection goes to the oldest queued request).

(Found by a review of the pool; fixed since.)
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import wirekit
from tests.client.pool_edges._peers import slow_keep_alive
from tests.support.pool_peers import Peer, keep_alive

#: A hog makes at most this many requests (it stops as soon as the waiter is done).
HOG_REQUESTS = 300
#: The peer answers each request after this long, so the hog's run outlasts the pool wait.
SERVER_DELAY = 0.02
POOL_WAIT = 1.0


@pytest.mark.anyio
async def test_async_back_to_back_requests_do_not_starve_a_waiting_task() -> None:
    """What the user sees: with ``Limits(max_connections=1)``, one task that sends requests
    one after another (a crawler loop) makes a second task's single request fail with
    ``PoolTimeout`` after the pool timeout, although the connection was given back to the
    pool dozens of times while it waited ("no connection ... became free within 0 s").

    Reference: httpcore (httpx) queues every request and hands a released connection to the
    oldest queued one, so the waiting task is served at the hog's next release (~20 ms).

    Why: ``keep_idle`` wakes the waiter but leaves the connection in the idle stack, and the
    hog's next request takes it synchronously in ``_take_idle`` before the woken task runs;
    the woken task then re-queues at the back. Any busy task starves every other one.
    """
    with Peer(slow_keep_alive(SERVER_DELAY)) as peer:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(30, pool=POOL_WAIT),
            retry=0,
        ) as client:
            waiter_done = asyncio.Event()
            hog_requests = 0

            async def hog() -> None:
                nonlocal hog_requests
                for _ in range(HOG_REQUESTS):
                    if waiter_done.is_set():
                        return
                    await client.get(peer.url + "/hog")
                    hog_requests += 1

            hog_task = asyncio.create_task(hog())
            await asyncio.sleep(0.1)  # the hog holds the only connection, most of the time
            try:
                outcome: object = (await client.get(peer.url + "/waiter")).status_code
            except wirekit.PoolTimeout as exc:
                outcome = exc
            finally:
                waiter_done.set()
                await asyncio.wait_for(hog_task, 30)
    assert outcome == 200, (
        f"the waiting request got {outcome!r} while the hog completed {hog_requests} requests "
        "on the connection it waited for"
    )


def test_sync_back_to_back_requests_do_not_starve_a_waiting_thread() -> None:
    """The same with threads: a thread sending request after request on the only connection
    must not keep a second thread's request waiting until ``PoolTimeout``; the released
    connection is handed to the waiting thread under the pool's lock."""
    with (
        Peer(slow_keep_alive(SERVER_DELAY)) as peer,
        wirekit.Client(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(30, pool=POOL_WAIT),
            retry=0,
        ) as client,
    ):
        waiter_done = threading.Event()
        hog_requests = 0

        def hog() -> None:
            nonlocal hog_requests
            for _ in range(HOG_REQUESTS):
                if waiter_done.is_set():
                    return
                client.get(peer.url + "/hog")
                hog_requests += 1

        hog_thread = threading.Thread(target=hog)
        hog_thread.start()
        time.sleep(0.1)  # the hog holds the only connection, most of the time
        try:
            outcome: object = client.get(peer.url + "/waiter").status_code
        except wirekit.PoolTimeout as exc:
            outcome = exc
        finally:
            waiter_done.set()
            hog_thread.join(30)
    assert outcome == 200, (
        f"the waiting request got {outcome!r} while the hog completed {hog_requests} requests "
        "on the connection it waited for"
    )


@pytest.mark.anyio
async def test_async_oldest_waiter_for_another_origin_is_served_before_later_waiters() -> None:
    """What the user sees: ``max_connections=1``; a request to origin A queues first, then
    40 requests to origin B queue behind it. When the connection to B is released, the pool
    serves B's later requests one after another and A's request, the oldest, fails with
    ``PoolTimeout`` (as do the B requests still queued at that point).

    Reference: httpcore serves queued requests in order; for A it closes the idle B
    connection and opens one to A (the eviction wirekit also does, only too late).

    Why: ``keep_idle`` calls ``_wake(origin)``, which prefers any waiter for the released
    connection's origin over older waiters: under steady load on one origin, requests to
    every other origin starve however long they have waited.
    """
    with Peer(keep_alive()) as a, Peer(slow_keep_alive(0.05)) as b:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(30, pool=POOL_WAIT),
            retry=0,
        ) as client:
            served: list[str] = []
            failed: list[str] = []

            async def request(url: str, name: str) -> None:
                try:
                    await client.get(url)
                except wirekit.PoolTimeout:
                    failed.append(name)
                else:
                    served.append(name)

            async with client.stream("GET", b.url) as held:  # the only connection
                first = asyncio.create_task(request(a.url, "A"))
                await asyncio.sleep(0.05)  # A is queued first
                later = [asyncio.create_task(request(b.url, f"B{i}")) for i in range(40)]
                await asyncio.sleep(0.05)
                await held.aread()  # back to the pool: the oldest waiter (A) is next
            await asyncio.wait_for(asyncio.gather(first, *later), 60)
    assert "A" not in failed, f"A (queued first) timed out while {served[:20]} were served"
    assert served[0] == "A", f"served in this order: {served[:10]}..."


@pytest.mark.anyio
async def test_async_pool_timeout_message_states_the_time_waited() -> None:
    """What the user sees: a request that waited the whole pool timeout (1 s) gets
    ``PoolTimeout: no connection to 127.0.0.1:P became free within 0.5 s`` (whatever was left
    when it was last woken), which points at the wrong setting and hides how long it waited.

    Reference: urllib3's ``EmptyPoolError``/httpx's ``PoolTimeout`` report the configured
    wait; wirekit's own message is meant to name the limit and the wait (it names
    ``max_connections``), so the number must be the pool timeout that expired.

    Why: ``seconds`` is recomputed as the time left after each wake-up and the message
    prints that remainder. Here a connection to another origin going idle wakes the waiter
    (its host is at ``max_connections_per_host``, so it cannot use it) half-way through.
    """
    with Peer(keep_alive()) as x, Peer(keep_alive()) as y:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=2, max_connections_per_host=1),
            timeout=wirekit.Timeout(30, pool=POOL_WAIT),
            retry=0,
        ) as client:
            async with client.stream("GET", y.url):  # y's only allowed connection
                held_x = client.stream("GET", x.url)
                response_x = await held_x.__aenter__()
                waiting = asyncio.create_task(client.get(y.url))
                await asyncio.sleep(POOL_WAIT / 2)
                await response_x.aread()  # x's connection goes idle: wakes the waiter
                await held_x.__aexit__(None, None, None)
                with pytest.raises(wirekit.PoolTimeout) as excinfo:
                    await asyncio.wait_for(waiting, 10)
    message = str(excinfo.value)
    assert f"within {POOL_WAIT:g} s" in message, message


@pytest.mark.anyio
async def test_async_waiter_cancelled_after_being_handed_a_connection_passes_it_on() -> None:
    """A queued request that is cancelled in the moment after the pool handed it the
    released connection (before it ran) gives that connection to the next queued request,
    which is served at once instead of waiting out its pool timeout; nothing leaks."""
    with Peer(keep_alive()) as peer:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(30, pool=5.0),
            retry=0,
        ) as client:
            async with client.stream("GET", peer.url) as held:
                first = asyncio.create_task(client.get(peer.url + "/first"))
                await asyncio.sleep(0.05)
                second = asyncio.create_task(client.get(peer.url + "/second"))
                await asyncio.sleep(0.05)
                await held.aread()
            first.cancel()  # handed the connection just now, but has not run since
            response = await asyncio.wait_for(second, 10)  # else PoolTimeout after 5 s
            with pytest.raises(asyncio.CancelledError):
                await first
            counts = client.transport.connection_counts()
    assert response.status_code == 200
    assert counts == {"open": 1, "idle": 1}
