"""The pool's FIFO hand-over, its one pool for all routes and its keep-alive expiry alarm:
cancellation at every step, a closed client, a second ``asyncio.run``, extreme expiries, and
memory over many origins.

(Found by a second review of the pool; fixed since.)

Real loopback peers only (tests/support/pool_peers.py); every wait is bounded.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
import threading
import time
import types

import pytest

import wirekit
from tests.support.pool_peers import Peer, keep_alive, read_head

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#: keepalive_expiry of the expiry tests, and how long their peers wait for the client's
#: close before closing themselves (eight times the expiry).
EXPIRY = 0.3
SERVER_IDLE = 2.5


class _EndWatcher:
    """Answers every request on a connection with 200 "ok"; records how the connection
    ended: "client closed" (EOF from the client) or "server idle timeout" (the client
    kept it open, silent, for ``idle`` seconds)."""

    def __init__(self, idle: float = SERVER_IDLE) -> None:
        self.idle = idle
        self.outcome: list[str] = []
        self.done = threading.Event()

    def __call__(self, sock: socket.socket) -> None:
        try:
            buffer = b""
            for _ in range(1000):
                sock.settimeout(self.idle)
                try:
                    head, buffer = read_head(sock, buffer)
                except TimeoutError:
                    self.outcome.append("server idle timeout")
                    return
                except OSError:
                    self.outcome.append("client closed")  # a reset is a close too
                    return
                if head is None:
                    self.outcome.append("client closed")
                    return
                sock.sendall(OK)
        finally:
            self.done.set()


def _queued(client: wirekit.AsyncClient) -> list[object]:
    """The pool's queue as it is now (cleanup only, see ``_abort_lost``)."""
    return list(client.transport._pool._waiters)  # type: ignore[attr-defined]


async def _abort_lost(waiters: list[object]) -> None:
    """Cleanup only: close the sockets the pool handed to requests no one waits for any
    more, so no ResourceWarning surfaces in a later test."""
    for waiter in waiters:
        connection = getattr(waiter, "connection", None)
        if connection is not None:
            connection.abort()
    await asyncio.sleep(0.05)  # the loop closes aborted transports on its next turns


@pytest.mark.anyio
async def test_async_cancel_while_pool_closes_expired_connection_leaves_the_queue() -> None:
    """What the user sees: ``Limits(max_connections=2, max_connections_per_host=1,
    keepalive_expiry=0.2)``. One task holds the one connection to origin A; a connection to
    B sits idle. The event loop is busy (CPU work) for a second, so B expires before the
    expiry alarm could run. A request to A is then cancelled (task.cancel, an
    ``asyncio.timeout``, a TaskGroup shutting down) at its first await: the pool was closing
    the expired B connection for it. From then on origin A is dead: when the holder
    releases A's connection it is handed to the cancelled request, nobody uses it, and
    every later request to A fails with ``PoolTimeout`` ("no connection ... became free")
    although nothing is in use; ``connection_counts()`` says open 1, idle 0 for good, and
    the socket to A is never closed.

    Reference: httpcore (httpx) removes a cancelled request from its queue in an ``except
    BaseException`` around the whole acquisition, its ``_close_connections(closing)`` included
    (``AsyncConnectionPool.handle_async_request``: ``except BaseException:
    self._requests.remove(pool_request)``), so a cancellation at any await cannot leave it
    queued; aiohttp's connector likewise removes its waiter future on any exception.

    Why: ``_acquire`` appends the ``_Waiter`` to ``self._waiters`` inside the locked section,
    then awaits ``close_all(stale)`` (the expired connections the sweep took off the books)
    *before* the ``try`` that leaves the queue on a cancellation. When that close is
    cancelled it only does ``if found is not None: await self.discard(found)`` and raises:
    ``waiter`` stays in ``self._waiters``, and ``_place``/``_hand_slots`` later hand it a
    connection whose slot is never given back. Fix: when ``closing_failed`` and ``waiter``
    is not None, ``_leave_queue(waiter, keep=False)`` under the lock (and abort what it
    returns); or close ``stale`` before queueing.
    """
    with Peer(keep_alive()) as a, Peer(keep_alive()) as b:
        async with wirekit.AsyncClient(
            limits=wirekit.Limits(
                max_connections=2, max_connections_per_host=1, keepalive_expiry=0.2
            ),
            timeout=wirekit.Timeout(10, pool=1.0),
            retry=0,
        ) as client:
            left_queued: list[object] = []
            try:
                assert (await client.get(b.url)).status_code == 200  # idle from now on
                async with client.stream("GET", a.url) as held:  # A's only connection
                    # CPU-bound work: the loop runs nothing for 1.2 s (B expires, and the
                    # pool's once-a-second sweep is due).
                    time.sleep(1.2)
                    task = asyncio.create_task(client.get(a.url + "/cancelled"))
                    await asyncio.sleep(0)  # it queues for A, then closes B for the pool
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await asyncio.wait_for(task, 5)
                    left_queued = _queued(client)
                    await held.aread()  # A's connection goes back to the pool
                try:
                    outcome: object = (await client.get(a.url + "/later")).status_code
                except wirekit.PoolTimeout as exc:
                    outcome = exc
                counts = client.transport.connection_counts()
            finally:
                await _abort_lost(left_queued)
    assert outcome == 200, f"a later request to A got {outcome!r} (counts {counts})"
    assert counts == {"open": 1, "idle": 1}


@pytest.mark.anyio
async def test_async_waiter_cancelled_after_client_close_keeps_no_socket_open() -> None:
    """What the user sees: a task queued for the only connection is cancelled after the
    ``async with AsyncClient()`` block has ended (``asyncio.run`` cancels the tasks left
    over when ``main()`` returns; a TaskGroup or a shutdown handler does the same). The
    connection the pool had just handed that task is put back *idle in the closed
    client*: its socket stays open until garbage collection (the server holds it, the
    process holds a file descriptor, and a ResourceWarning "unclosed transport" follows),
    ``connection_counts()`` on the closed client says open 1, idle 1, and an expiry
    callback is scheduled on the loop for a client that is closed (it then does nothing:
    ``_ring`` returns when the pool is closed, so the socket is never closed).

    Reference: httpcore's ``AsyncConnectionPool.aclose`` closes every connection it has,
    in use or not, and one released afterwards is no longer in its list, so nothing is
    kept; aiohttp's connector closes the connections it has lent out when it closes, and
    ``_release_acquired`` on a closed connector keeps nothing. This pool's own
    ``keep_idle`` refuses a closed pool (``if self._closed ...: return False``); this path
    skips that check.

    Why: ``_leave_queue(waiter, keep=False)`` (the cancelled-waiter path of ``_acquire``)
    calls ``self._place(handed)`` without checking ``self._closed``; ``_place`` appends the
    connection to ``route.idle`` and, ``self._alarm`` being None since ``_close_books``,
    arms a new alarm. ``_close_books`` ran earlier and never sees it. Fix: in
    ``_leave_queue``, when the pool is closed, ``_forget`` the handed connection and return
    it for the caller to abort (or make ``_place`` return False on a closed pool).
    """
    watcher = _EndWatcher()
    with Peer(watcher) as peer:
        client = wirekit.AsyncClient(
            limits=wirekit.Limits(max_connections=1, keepalive_expiry=EXPIRY),
            timeout=wirekit.Timeout(10, pool=5.0),
            retry=0,
        )
        try:
            async with client:
                async with client.stream("GET", peer.url) as held:
                    waiting = asyncio.create_task(client.get(peer.url + "/queued"))
                    await asyncio.sleep(0.05)  # queued for the only connection
                    await held.aread()  # handed to the queued task, which has not run yet
            # The client is closed; the queued task is cancelled (shutdown).
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(waiting, 5)
            counts = client.transport.connection_counts()
            deadline = time.monotonic() + SERVER_IDLE + 5
            while not watcher.done.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await client.transport.aclose()  # cleanup: closes what the pool kept
    assert watcher.outcome == ["client closed"], (watcher.outcome, counts)
    assert counts == {"open": 0, "idle": 0}


def test_async_idle_connection_expires_in_a_second_asyncio_run() -> None:
    """What the user sees: an ``AsyncClient`` made once and used by two ``asyncio.run()``
    calls (a CLI running one coroutine per command, a test suite with a shared client). In
    the first run a connection went idle (the expiry alarm was set on that loop) and was
    then closed. In the second run, the connection made there is never closed when
    ``keepalive_expiry`` (0.3 s) passes: after eight times that, the connection is still
    open and it is the server that ends it (the client's socket then sits in CLOSE_WAIT),
    exactly what the expiry alarm is for ("so we close first").

    Reference: httpx has no expiry timer and aiohttp binds a connector to one loop, so
    neither has this case; the reference is wirekit's own design: ``AsyncAlarm.live()``
    exists for it ("a client used under a second ``asyncio.run``, so the caller schedules
    a new one"), and ``_sweep`` honours it; the docs promise idle connections are closed
    "even if the client makes no further request".

    Why: ``_place`` arms the alarm only ``if self._alarm is None``; the first loop's alarm
    never rang (its loop closed first), so ``self._alarm`` is still that dead
    ``AsyncAlarm`` and no alarm is set on the new loop. Only ``_sweep`` checks
    ``alarm.live()``, and it runs only from ``_acquire`` at most once a second, never once
    the client is quiet. Fix: ``if self._alarm is None or not self._alarm.live():
    self._arm(...)`` in ``_place``.
    """
    watcher = _EndWatcher()
    with Peer(keep_alive()) as first, Peer(watcher) as second:
        client = wirekit.AsyncClient(limits=wirekit.Limits(keepalive_expiry=EXPIRY), retry=0)

        async def first_run() -> None:
            assert (await client.get(first.url)).status_code == 200  # idle: alarm set
            async with client.stream("GET", first.url):
                pass  # taken from idle, closed unread: no idle connection is left

        async def second_run() -> dict[str, int]:
            try:
                assert (await client.get(second.url)).status_code == 200
                deadline = time.monotonic() + SERVER_IDLE + 5
                while not watcher.done.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                return client.transport.connection_counts()
            finally:
                await client.aclose()

        asyncio.run(first_run())
        assert client.transport.connection_counts() == {"open": 0, "idle": 0}
        counts = asyncio.run(second_run())
    assert watcher.outcome == ["client closed"], (watcher.outcome, counts)


def test_sync_expiry_alarm_thread_survives_a_very_long_keepalive_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the user sees: ``Client(limits=Limits(keepalive_expiry=1e10))`` ("keep idle
    connections for as long as the server allows", a value ``Limits`` accepts: it refuses
    only non-positive numbers and NaN) prints ``Exception in thread wirekit-pool-expiry
    ... OverflowError: timestamp out of range for platform time_t`` as soon as a connection
    goes idle (and under pytest's default warning filters, fails the test that made the
    request).

    Reference: httpx/httpcore accept any ``keepalive_expiry`` (it is compared with the
    clock, no timer is set), and aiohttp's ``keepalive_timeout`` goes to ``loop.call_at``;
    wirekit's own ``AsyncClient`` copes (``loop.call_later`` takes it).

    Why: ``_arm`` passes ``keepalive_expiry + _ALARM_SLACK`` to ``Alarm.start`` unchanged;
    ``threading.Timer`` waits on a lock with that timeout, and a lock's timeout must not
    exceed ``threading.TIMEOUT_MAX`` (about 9.2e9 s on Linux). Fix: clamp the delay in
    ``Alarm.start`` (``min(delay, threading.TIMEOUT_MAX)``, re-arming if woken early), or
    set no alarm for delays beyond it.
    """
    failures: list[BaseException | None] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        failures.append(args.exc_value)

    monkeypatch.setattr(threading, "excepthook", hook)
    with (
        Peer(keep_alive()) as peer,
        wirekit.Client(limits=wirekit.Limits(keepalive_expiry=1e10), retry=0) as client,
    ):
        assert client.get(peer.url).status_code == 200  # idle: the expiry alarm starts
        time.sleep(0.2)  # the alarm thread fails at once, if it fails
        assert client.get(peer.url).status_code == 200
    assert failures == [], f"the expiry thread raised: {failures!r}"


class _AllLoopback:
    """A resolver that sends every name to 127.0.0.1 (names under .test, never looked up)."""

    def resolve(
        self, host: str, port: int, *, family: int = 0
    ) -> list[tuple[int, tuple[str, int]]]:
        return [(socket.AF_INET, ("127.0.0.1", port))]


#: Origins visited before measuring, and while measuring.
WARM_UP_ORIGINS = 50
MEASURED_ORIGINS = 400
_NOT_DATA = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
)


def _reachable_bytes(root: object, limit: int = 200_000) -> int:
    """``sys.getsizeof`` summed over the objects reachable from ``root`` (classes, modules
    and functions left out: they are shared, not the client's data)."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack and len(seen) < limit:
        item = stack.pop()
        if id(item) in seen or isinstance(item, _NOT_DATA):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        stack.extend(gc.get_referents(item))
    return total


def test_sync_pool_memory_does_not_grow_with_every_origin_ever_visited() -> None:
    """What the user sees: a long-lived ``Client`` that talks to many hosts (a crawler, a
    webhook sender, a link checker) grows for good with every origin it has ever
    connected to, although at most 10 of its connections are ever open: here ~300 bytes
    per origin reachable from ``client.transport``, so a million hosts hold hundreds of
    MB. Every once-a-second sweep, every expiry alarm and every eviction of an idle
    connection also walks all those origins under the pool's lock, so the pool gets
    slower as it ages.

    Reference: httpcore keeps a plain list of its connections, and a closed one leaves it;
    aiohttp's connector deletes a host's key once its list of idle connections is empty;
    urllib3's ``PoolManager`` keeps at most ``num_pools`` pools (LRU). This pool's own
    per-origin count, ``_open_per_origin``, is deleted at 0 (``_forget``); its idle stacks
    never are.

    Why: ``_place`` makes ``route.idle.setdefault(origin, [])``, and no path removes the
    entry once its stack is empty again (``_take_idle`` and ``_acquire`` pop, ``_evict_idle``
    does ``.remove(oldest)``, ``_sweep`` stores ``idle[origin] = keep`` even when ``keep``
    is empty). ``route.idle`` keeps every Origin (and its strings) and an empty list for
    good. Fix: delete the key when its stack empties (in ``_take_idle``, ``_acquire``,
    ``_evict_idle`` and ``_sweep``).
    """
    with (
        Peer(keep_alive()) as peer,
        wirekit.Client(
            resolver=_AllLoopback(), limits=wirekit.Limits(max_connections=10), retry=0
        ) as client,
    ):

        def visit(first: int, count: int) -> None:
            for index in range(first, first + count):
                assert client.get(f"http://h{index}.test:{peer.port}/").status_code == 200

        visit(0, WARM_UP_ORIGINS)
        gc.collect()
        before = _reachable_bytes(client.transport)
        visit(WARM_UP_ORIGINS, MEASURED_ORIGINS)
        gc.collect()
        grown = _reachable_bytes(client.transport) - before
        counts = client.transport.connection_counts()
    assert counts["open"] <= 10
    assert grown < MEASURED_ORIGINS * 16, (
        f"the client's transport holds {grown} more bytes after {MEASURED_ORIGINS} more "
        f"origins ({grown / MEASURED_ORIGINS:.0f} per origin), with {counts} connections"
    )
