"""Client pool, streaming and timeout lifecycles, against real loopback peers.

Each test failed before the fix of the bug it names (found by a review).
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time

import pytest

import wirekit
from tests.support.pool_peers import Peer, keep_alive, read_head


# -- 1. a cancelled pool waiter swallows the wake-up meant for a live waiter ---------------
@pytest.mark.anyio
async def test_cancelled_pool_waiter_does_not_swallow_the_wakeup() -> None:
    with Peer(keep_alive()) as peer:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(10, pool=2),
            retry=0,
        ) as client:
            async with client.stream("GET", peer.url) as held:  # the pool's only slot
                cancelled = asyncio.create_task(client.get(peer.url))
                await asyncio.sleep(0.1)  # it is now waiting for the pool
                cancelled.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await cancelled
                waiting = asyncio.create_task(client.get(peer.url))
                await asyncio.sleep(0.1)
                assert held.status_code == 200
            # The slot is free again: the live waiter must get it, not time out.
            response = await asyncio.wait_for(waiting, 5)
            assert response.status_code == 200


# -- 2. a streamed response dropped without close() leaks its slot forever ----------------
def test_garbage_collected_streamed_response_returns_its_slot_sync() -> None:
    with (
        Peer(keep_alive(b"x" * 100_000)) as peer,
        wirekit.Client(
            limits=wirekit.Limits(max_connections=1), timeout=wirekit.Timeout(10, pool=1), retry=0
        ) as client,
    ):
        response = client.send(client.build_request("GET", peer.url), stream=True)
        del response  # (no weak reference to check it went: a Response takes none)
        gc.collect()
        assert client.get(peer.url).status_code == 200  # PoolTimeout before the fix


@pytest.mark.anyio
async def test_garbage_collected_streamed_response_returns_its_slot_async() -> None:
    with Peer(keep_alive(b"x" * 100_000)) as peer:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1), timeout=wirekit.Timeout(10, pool=1), retry=0
        ) as client:
            response = await client.send(client.build_request("GET", peer.url), stream=True)
            del response
            gc.collect()
            await asyncio.sleep(0.05)  # room for a finalizer that schedules the close
            assert (await client.get(peer.url)).status_code == 200


# -- 3. cancelled while the pool closes a stale idle connection: the new slot leaks --------
@pytest.mark.anyio
async def test_cancel_while_pool_closes_stale_connection_returns_the_slot() -> None:
    def answer_once_then_close(sock: socket.socket) -> None:
        head, _ = read_head(sock)
        if head is not None:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        sock.close()

    with Peer(answer_once_then_close) as peer:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1), timeout=wirekit.Timeout(10, pool=1), retry=0
        ) as client:
            await client.get(peer.url)
            await asyncio.sleep(0.1)  # the server closed the idle connection: stale now
            task = asyncio.create_task(client.get(peer.url))
            await asyncio.sleep(0)  # the task runs into closing the stale connection
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The cancelled request must have given back the slot it took.
            assert client.transport.connection_counts()["open"] == 0
            assert (await client.get(peer.url)).status_code == 200


# -- 4. max_connections_per_host is exceeded by evicting another origin's idle connection --
def test_per_host_limit_holds_when_another_origin_has_an_idle_connection_sync() -> None:
    with (
        Peer(keep_alive()) as a,
        Peer(keep_alive()) as b,
        wirekit.Client(
            limits=wirekit.Limits(max_connections_per_host=1),
            timeout=wirekit.Timeout(10, pool=0.5),
            retry=0,
        ) as client,
    ):
        client.get(b.url)  # leaves an idle connection to b
        with client.stream("GET", a.url):  # a's only allowed connection, in use
            with pytest.raises(wirekit.PoolTimeout):
                client.get(a.url)
        assert a.connections == 1


@pytest.mark.anyio
async def test_per_host_limit_holds_when_another_origin_has_an_idle_connection_async() -> None:
    with Peer(keep_alive()) as a, Peer(keep_alive()) as b:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections_per_host=1),
            timeout=wirekit.Timeout(10, pool=0.5),
            retry=0,
        ) as client:
            await client.get(b.url)
            async with client.stream("GET", a.url):
                with pytest.raises(wirekit.PoolTimeout):
                    await client.get(a.url)
            assert a.connections == 1


# -- 5. bytes after a complete response are served as the answer to the next request -------
_SMUGGLED = (
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"
)


def _extra_bytes_then_real_answer() -> Peer:
    """First connection: its first answer carries a second, unrequested response after the
    announced body. Every later request (on any connection) is answered "fine"."""
    first = [True]

    def handler(sock: socket.socket) -> None:
        buffer = b""
        for _ in range(10):
            head, buffer = read_head(sock, buffer)
            if head is None:
                return
            if first[0]:
                first[0] = False
                sock.sendall(_SMUGGLED)  # more than Content-Length announced
            else:
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine")

    return Peer(handler)


def test_bytes_after_a_response_are_not_the_next_response_sync() -> None:
    with (
        _extra_bytes_then_real_answer() as peer,
        wirekit.Client(retry=0, timeout=5) as client,
    ):
        assert client.get(peer.url).content == b"ok"
        assert client.get(peer.url + "/second").content == b"fine"


@pytest.mark.anyio
async def test_bytes_after_a_response_are_not_the_next_response_async() -> None:
    with _extra_bytes_then_real_answer() as peer:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            assert (await client.get(peer.url)).content == b"ok"
            assert (await client.post(peer.url + "/second")).content == b"fine"


# -- 6. sync client: the total deadline does not bound one large body write ----------------
def test_sync_total_deadline_bounds_a_large_body_sent_to_a_slow_reader() -> None:
    def slow_reader(sock: socket.socket) -> None:
        started = time.monotonic()
        while time.monotonic() - started < 8:
            if not sock.recv(65536):
                return
            time.sleep(0.1)

    with Peer(slow_reader) as peer, wirekit.Client(retry=0, timeout=1.0) as client:
        started = time.monotonic()
        error: Exception | None = None
        try:
            client.post(peer.url, content=b"z" * (16 << 20))
        except wirekit.WirekitError as exc:
            error = exc
        elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"a 1 s total deadline let the upload run {elapsed:.1f} s ({error!r})"
    assert isinstance(error, wirekit.DeadlineExceeded), repr(error)


# -- 7. a freed slot wakes a waiter that cannot use it (per-host limit); one that could,
#       for another origin, sleeps until PoolTimeout ---------------------------------------
@pytest.mark.anyio
async def test_freed_slot_reaches_a_waiter_that_can_use_it_async() -> None:
    with Peer(keep_alive()) as a, Peer(keep_alive()) as b, Peer(keep_alive()) as c:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=2, max_connections_per_host=1),
            timeout=wirekit.Timeout(10, pool=2),
            retry=0,
        ) as client:
            async with client.stream("GET", a.url):  # a: at its per-host limit
                held_b = await client.send(client.build_request("GET", b.url), stream=True)
                waiting_a = asyncio.create_task(client.get(a.url))  # blocked by per-host
                await asyncio.sleep(0.05)
                waiting_c = asyncio.create_task(client.get(c.url))  # blocked by the total
                await asyncio.sleep(0.05)
                await held_b.aclose()  # one slot free: only c can take it
                response_c = await asyncio.wait_for(asyncio.shield(waiting_c), 5)
                assert response_c.status_code == 200
            assert (await asyncio.wait_for(waiting_a, 5)).status_code == 200


def test_freed_slot_reaches_a_waiter_that_can_use_it_sync() -> None:
    import threading

    results: dict[str, object] = {}

    def fetch(client: wirekit.Client, name: str, url: str) -> None:
        try:
            results[name] = client.get(url).status_code
        except Exception as exc:
            results[name] = exc

    with (
        Peer(keep_alive()) as a,
        Peer(keep_alive()) as b,
        Peer(keep_alive()) as c,
        wirekit.Client(
            limits=wirekit.Limits(max_connections=2, max_connections_per_host=1),
            timeout=wirekit.Timeout(10, pool=2),
            retry=0,
        ) as client,
    ):
        with client.stream("GET", a.url):
            held_b = client.send(client.build_request("GET", b.url), stream=True)
            thread_a = threading.Thread(target=fetch, args=(client, "a", a.url))
            thread_a.start()
            time.sleep(0.05)
            thread_c = threading.Thread(target=fetch, args=(client, "c", c.url))
            thread_c.start()
            time.sleep(0.05)
            held_b.close()
            thread_c.join(10)
        thread_a.join(10)
    assert results.get("c") == 200, results
    assert results.get("a") == 200, results


# -- 8. the pool timeout restarts at every wake-up: a waiter that keeps losing the freed
#       connection to a busy task waits far past it (or forever), without PoolTimeout -------
@pytest.mark.anyio
async def test_pool_wait_is_bounded_by_the_pool_timeout_under_contention() -> None:
    with Peer(keep_alive()) as peer:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(30, pool=0.5),
            retry=0,
        ) as client:
            stop = time.monotonic() + 3.0

            async def busy() -> None:
                for _ in range(100_000):
                    if time.monotonic() > stop:
                        return
                    await client.get(peer.url)

            hammer = asyncio.create_task(busy())
            await asyncio.sleep(0.05)
            started = time.monotonic()
            try:
                await client.get(peer.url)  # served, or PoolTimeout: either, but in time
            except wirekit.PoolTimeout:
                pass
            waited = time.monotonic() - started
            await hammer
    assert waited < 1.5, f"waited {waited:.2f} s for the pool with pool timeout 0.5 s"


# -- 9. a response event hook that raises (the raise_for_status pattern) leaks the slot ---
def _always_404(sock: socket.socket) -> None:
    buffer = b""
    for _ in range(100):
        head, buffer = read_head(sock, buffer)
        if head is None:
            return
        sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")


def test_raising_response_hook_returns_the_slot_sync() -> None:
    def check(response: wirekit.Response) -> None:
        response.raise_for_status()

    with (
        Peer(_always_404) as peer,
        wirekit.Client(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(10, pool=1),
            retry=0,
            event_hooks={"response": [check]},
        ) as client,
    ):
        for _ in range(2):  # the second one timed out in the pool
            with pytest.raises(wirekit.HTTPStatusError):
                client.get(peer.url)


@pytest.mark.anyio
async def test_raising_response_hook_returns_the_slot_async() -> None:
    async def check(response: wirekit.Response) -> None:
        response.raise_for_status()

    with Peer(_always_404) as peer:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(10, pool=1),
            retry=0,
            event_hooks={"response": [check]},
        ) as client:
            for _ in range(2):
                with pytest.raises(wirekit.HTTPStatusError):
                    await client.get(peer.url)
