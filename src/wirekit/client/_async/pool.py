"""The connection pool: keep-alive connections per origin, within limits, shared safely.

One pool serves all of a client's routes (direct, and each proxy), so ``max_connections``
bounds them together. Idle connections are kept per route and origin in a LIFO stack (the most recently used is the most
likely to be alive), so taking one is O(1) and never scans the pool (httpcore#1035). A
request that finds the pool full queues for a slot, up to the pool timeout; the queue is
served in order (as httpcore does): a released connection, or a freed slot, is handed to the
oldest request that can use it, under the lock, so a task sending request after request
cannot take it back before the one that waited runs. A cancelled or failed request always
gives back its slot, and whatever it was handed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

from wirekit._io.base import Trace
from wirekit._models.messages import Request, Response
from wirekit._models.url import Origin
from wirekit.client._async.connection import AsyncHTTPConnection, AsyncRoute
from wirekit.client._primitives import AsyncAlarm, AsyncLock, AsyncSignal, PoolHooks, monotonic
from wirekit.client.config import IDEMPOTENT_METHODS, Limits
from wirekit.client.deadline import Deadline
from wirekit.errors import PoolTimeout, ReadError, RemoteProtocolError, WriteError

__all__ = ["AsyncConnectionPool"]

#: Errors that, on a connection reused from the pool before any response byte arrived, mean
#: the server closed it while idle (a race the staleness check cannot close): the request
#: is sent once more on a fresh connection (as urllib3 and browsers do).
_STALE_ERRORS = (ReadError, WriteError, RemoteProtocolError)
_SWEEP_INTERVAL = 1.0
#: Seconds the expiry alarm fires after the first idle connection is due (not before it:
#: an alarm on the dot could find it not yet expired, and go again at once).
_ALARM_SLACK = 0.05
#: Seconds a finalizer waits for the pool's lock to give back an orphaned slot.
_ORPHAN_LOCK_WAIT = 0.25


class AsyncConnectionPool:
    """Connections to any number of origins, over any number of routes (``routes``: keyed
    as the transport chooses, made by it; see ``AsyncRoute``)."""

    def __init__(
        self,
        *,
        limits: Limits,
        local_address: str | None = None,
        socket_options: Any = None,
        uds: str | None = None,
        family: int = 0,
        protocol_limits: dict[str, Any] | None = None,
    ) -> None:
        self._limits = limits
        self.routes: dict[str | None, AsyncRoute] = {}
        self._local_address = local_address
        # Listed once: an iterator would be used up by the first connection.
        self._socket_options = None if socket_options is None else list(socket_options)
        self._uds = uds
        self._family = family
        self._protocol_limits = protocol_limits or {}
        self._lock = AsyncLock()
        self._open_per_origin: dict[Origin, int] = {}
        self._open = 0
        self._idle_count = 0
        self._waiters: deque[_Waiter] = deque()
        self._closed = False
        self._last_sweep = monotonic()
        #: Lent-out connections whose response was garbage-collected unclosed: their slots
        #: are given back under the lock (see ``release_orphan``).
        self._orphans: deque[AsyncHTTPConnection] = deque()
        #: Closes idle connections as they expire, so a client gone quiet closes them before
        #: the server does (no CLOSE_WAIT sockets); set while any connection is idle.
        self._alarm: AsyncAlarm | None = None
        #: Which process's connections are on the books: a forked child starts a new
        #: generation, and those of its parent are let go, never used (``_after_fork``).
        self._generation = 0
        #: The alarm's and the fork handler's way in, by weak reference (see PoolHooks).
        self._hooks = PoolHooks(self._ring, self._after_fork, self._collected)

    # -- introspection (tests, the CLI) --------------------------------------------------
    @property
    def open_connections(self) -> int:
        return self._open

    @property
    def idle_connections(self) -> int:
        return self._idle_count

    # -- the one call ----------------------------------------------------------------------
    async def handle_async_request(
        self, request: Request, deadline: Deadline, route: AsyncRoute, trace: Trace | None = None
    ) -> Response:
        origin = request.url.origin
        for attempt in (1, 2):
            # A stale connection's resend goes out on a new connection (fresh=True), not on
            # another idle one: those are older than the one the server just closed.
            connection = (
                self._take_idle(route, origin) if attempt == 1 else None
            ) or await self._acquire(route, origin, deadline, trace, fresh=attempt == 2)
            reused = connection.is_connected
            try:
                if not reused:
                    await connection.connect(deadline, trace)
                response = await connection.handle_async_request(request, deadline, trace)
            except BaseException as exc:
                failure = exc
            else:
                response.stream._pool = self
                return response
            # Discarded outside the handler: a compiled (mypyc) coroutine must not await in
            # one (tests/test_compiled_sources.py).
            await self.discard(connection)
            if (
                isinstance(failure, _STALE_ERRORS)
                and attempt == 1
                and reused
                and not connection.answered
                and _can_resend(request)
            ):
                if trace is not None:
                    trace("connection.stale", {"origin": origin})
                content = request.content
                if content is not None:
                    content.rewind()
                continue
            raise failure
        raise AssertionError("unreachable")  # pragma: no cover

    # -- slots -------------------------------------------------------------------------------
    def _take_idle(self, route: AsyncRoute, origin: Origin) -> AsyncHTTPConnection | None:
        """The usual case, without a coroutine: the newest idle connection to ``origin`` if
        it is usable and fresh. None sends the caller to ``_acquire``, which also sweeps,
        drops stale connections, opens new ones and waits for a free slot."""
        try:
            with self._lock:
                stack = route.idle.get(origin)
                if not stack or self._closed:
                    return None
                now = monotonic()
                if now - self._last_sweep > _SWEEP_INTERVAL:
                    return None
                candidate = stack[-1]
                if not candidate.is_usable() or self._expired(candidate, now):
                    return None
                stack.pop()
                self._idle_count -= 1
                return candidate
        finally:
            if self._orphans:
                self._reap_deferred()

    async def _acquire(
        self,
        route: AsyncRoute,
        origin: Origin,
        deadline: Deadline,
        trace: Trace | None,
        *,
        fresh: bool = False,
    ) -> AsyncHTTPConnection:
        """A connection to ``origin``: an idle one, a new one, or one freed while waiting.
        ``fresh``: the origin's idle connections are dropped first (a stale one just failed)."""
        wait_ends: float | None = None  # the pool timeout runs once, not anew per wake-up
        new_only = fresh  # a stale connection's resend: never on one used before
        while True:
            stale: list[AsyncHTTPConnection] = []
            waiter: _Waiter | None = None
            found: AsyncHTTPConnection | None = None
            with self._lock:
                if self._closed:
                    raise RuntimeError("the client has been closed")
                if self._orphans:
                    self._reap_orphans()
                alarm = self._alarm
                if alarm is not None and not alarm.live():
                    # Set on an event loop since gone (a second asyncio.run): the next
                    # connection to go idle sets one on this loop. Checked here, on the way
                    # to a new connection, not on the fast path of every reuse.
                    self._alarm = None
                now = monotonic()
                if now - self._last_sweep > _SWEEP_INTERVAL:
                    stale.extend(self._sweep(now))
                stack = route.idle.get(origin)
                while stack:
                    candidate = stack.pop()
                    self._idle_count -= 1
                    if not fresh and candidate.is_usable() and not self._expired(candidate, now):
                        found = candidate
                        break
                    self._forget(candidate)
                    stale.append(candidate)
                if stack is not None and not stack:
                    del route.idle[origin]  # no empty stack kept per origin ever visited
                fresh = False  # idle ones are checked once: those freed later are newer
                if stale and self._waiters:
                    self._hand_slots()  # older requests first
                if found is None:
                    # Evicting another origin's idle connection makes room only when the
                    # total is what blocks, never past this origin's own limit.
                    if self._has_room(origin) or (
                        self._host_has_room(origin) and self._evict_idle(stale)
                    ):
                        found = self._new_connection(route, origin)
                    else:
                        waiter = _Waiter(route, origin, AsyncSignal())
                        self._waiters.append(waiter)
            if self._orphans:
                self._reap_deferred()
            closing_failed = await close_all(stale)
            if closing_failed is not None:
                # Cancelled here: the slot taken must come back, or the queue be left (a
                # waiter left in it would be handed the next connection, lost with it).
                if found is not None:
                    await self.discard(found)
                elif waiter is not None:
                    self._abandon(waiter)
                raise closing_failed
            if found is not None:
                return found
            assert waiter is not None
            seconds, binding = deadline.for_phase(deadline.timeout.pool, "waiting for the pool")
            if seconds is not None:
                now = monotonic()
                if wait_ends is None:
                    wait_ends = now + seconds
                seconds = max(0.0, wait_ends - now)
            try:
                woken = await waiter.signal.wait(seconds)
            except BaseException:
                self._abandon(waiter)  # cancelled while queued
                raise
            with self._lock:
                handed = self._leave_queue(waiter, keep=True)
            if self._orphans:
                self._reap_deferred()
            if handed is not None:
                # Handed a connection, even if at the moment the wait ran out: it is this
                # request's, and its slot counted, so it is used.
                if not handed.is_connected or (not new_only and handed.is_usable()):
                    return handed
                # A reuse like any other, so checked like an idle one (bytes the server sent
                # after its answer, or its close, since), and never the resend of a request
                # a stale connection failed: replaced by a new connection in the same slot,
                # before anything is sent on it.
                with self._lock:
                    self._forget(handed)
                    replacement = self._new_connection(route, origin)
                closing_failed = await close_all([handed])
                if closing_failed is not None:
                    await self.discard(replacement)  # cancelled here: the slot comes back
                    raise closing_failed
                return replacement
            if not woken:
                if binding:
                    raise deadline.exceeded("waiting for a free connection in the pool")
                waited = deadline.timeout.pool  # as set: not what was left at a wake-up
                raise PoolTimeout(
                    f"no connection to {origin.host}:{origin.port} became free within "
                    f"{waited if waited is not None else seconds:g} s (pool limits: max_connections="
                    f"{self._limits.max_connections}, max_connections_per_host="
                    f"{self._limits.max_connections_per_host})"
                )

    def _has_room(self, origin: Origin) -> bool:
        limits = self._limits
        if limits.max_connections is not None and self._open >= limits.max_connections:
            return False
        return self._host_has_room(origin)

    def _host_has_room(self, origin: Origin) -> bool:
        per_host = self._limits.max_connections_per_host
        return per_host is None or self._open_per_origin.get(origin, 0) < per_host

    def _evict_idle(self, closing: list[AsyncHTTPConnection]) -> bool:
        """Pool full of idle connections to other origins: close the oldest to make room."""
        if not self._idle_count:
            return False
        oldest: AsyncHTTPConnection | None = None
        # A copy: another thread may add a route (the transport's _route_for) meanwhile.
        for route in tuple(self.routes.values()):
            for stack in route.idle.values():
                if stack and (oldest is None or stack[0].idle_since() < oldest.idle_since()):
                    oldest = stack[0]
        if oldest is None:
            return False
        idle = oldest.route.idle
        stack = idle[oldest.origin]
        stack.remove(oldest)
        if not stack:
            del idle[oldest.origin]
        self._idle_count -= 1
        self._forget(oldest)
        closing.append(oldest)
        return True

    def _new_connection(self, route: AsyncRoute, origin: Origin) -> AsyncHTTPConnection:
        self._open += 1
        self._open_per_origin[origin] = self._open_per_origin.get(origin, 0) + 1
        connection = AsyncHTTPConnection(
            origin,
            route=route,
            local_address=self._local_address,
            socket_options=self._socket_options,
            uds=self._uds,
            family=self._family,
            limits=self._protocol_limits,
        )
        connection.generation = self._generation
        return connection

    def owns(self, connection: AsyncHTTPConnection) -> bool:
        """False for a connection this process inherited from its parent (a fork)."""
        return connection.generation == self._generation

    def _collected(self) -> None:
        """The client was dropped without close() and is garbage-collected: its idle
        connections are closed now, without I/O (a finalizer cannot await), not when they
        expire; an event loop would keep an async one's socket open for good."""
        for route in tuple(self.routes.values()):
            for stack in tuple(route.idle.values()):
                for connection in stack:
                    connection.abort()

    def _after_fork(self) -> None:
        """In a forked child (os.register_at_fork): the parent's connections stay the
        parent's (both processes reading one socket would get each other's answers) and its
        threads are gone (a lock one of them held would never be released, an alarm never
        ring). The books start empty; idle connections are let go without I/O; lent-out
        ones are let go when their response ends (``owns``)."""
        self._lock = AsyncLock()
        self._alarm = None
        self._hooks.alarm = None
        self._waiters = deque()
        self._orphans = deque()
        inherited = self._take_all_idle()
        self._open = 0
        self._open_per_origin = {}
        self._generation += 1
        for connection in inherited:
            connection.let_go()

    def _forget(self, connection: AsyncHTTPConnection) -> None:
        self._open -= 1
        origin = connection.origin
        left = self._open_per_origin[origin] - 1
        if left:
            self._open_per_origin[origin] = left
        else:
            del self._open_per_origin[origin]

    def _expired(self, connection: AsyncHTTPConnection, now: float) -> bool:
        expiry = self._limits.keepalive_expiry
        return expiry is not None and now - connection.idle_since() > expiry

    def _sweep(self, now: float) -> list[AsyncHTTPConnection]:
        self._last_sweep = now
        expired: list[AsyncHTTPConnection] = []
        for route in tuple(self.routes.values()):
            idle = route.idle
            for origin, stack in list(idle.items()):
                keep = [c for c in stack if not self._expired(c, now)]
                if len(keep) != len(stack):
                    expired.extend(c for c in stack if self._expired(c, now))
                if not keep:
                    del idle[origin]  # (emptied by takes since: pruned here, off the fast path)
                elif len(keep) != len(stack):
                    idle[origin] = keep
        for connection in expired:
            self._idle_count -= 1
            self._forget(connection)
        return expired

    # -- the queue (under the lock) ----------------------------------------------------------
    def _hand_slots(self) -> None:
        """Slots were freed: each queued request there is room for now, oldest first, is
        handed a new connection (counted at once, so no later request takes the slot)."""
        limit = self._limits.max_connections
        for waiter in list(self._waiters):
            if limit is not None and self._open >= limit:
                return
            if self._host_has_room(waiter.origin):
                self._waiters.remove(waiter)
                waiter.hand(self._new_connection(waiter.route, waiter.origin))

    def _place(self, connection: AsyncHTTPConnection) -> bool:
        """A connection that can serve again: handed to the oldest queued request for its
        origin, or kept idle. False when it must be closed instead: an older request to
        another origin needs its slot (``discard`` then hands it on), or the idle limit."""
        if self._closed:
            return False
        origin = connection.origin
        route = connection.route
        waiters = self._waiters
        if waiters:  # (no iterator made in the usual case)
            for waiter in waiters:
                if waiter.origin == origin and waiter.route is route:
                    waiters.remove(waiter)
                    waiter.hand(connection)
                    return True
                if self._host_has_room(waiter.origin):
                    return False
        max_idle = self._limits.max_idle_connections
        if max_idle is not None and self._idle_count >= max_idle:
            return False
        connection.mark_idle(monotonic())
        route.idle.setdefault(origin, []).append(connection)
        self._idle_count += 1
        if self._alarm is None:
            self._arm(self._limits.keepalive_expiry)
        return True

    def _arm(self, delay: float | None) -> None:
        """Set the expiry alarm ``delay`` seconds on (None: no expiry, no alarm)."""
        alarm = (
            None
            if delay is None
            else AsyncAlarm.start(delay + _ALARM_SLACK, self._hooks.weak_ring())
        )
        self._alarm = self._hooks.alarm = alarm

    def _ring(self) -> None:
        """The expiry alarm: close the idle connections past ``keepalive_expiry``, without
        I/O (a plain close: the server reads an end of stream), and set the alarm again for
        the next one due."""
        with self._lock:
            self._alarm = None
            if self._closed:
                return
            now = monotonic()
            expired = self._sweep(now)
            if expired:
                self._hand_slots()
            expiry = self._limits.keepalive_expiry
            if self._idle_count and expiry is not None:
                due = min(
                    c.idle_since()
                    for r in tuple(self.routes.values())
                    for st in r.idle.values()
                    for c in st
                )
                self._arm(max(0.0, due + expiry - now))
        if self._orphans:
            self._reap_deferred()
        for connection in expired:
            connection.abort()

    def _abandon(self, waiter: _Waiter) -> None:
        """A queued request was cancelled: it leaves the queue, or gives back what it was
        handed (a connection it cannot give on is closed, without I/O)."""
        with self._lock:
            dropped = self._leave_queue(waiter, keep=False)
        if self._orphans:
            self._reap_deferred()
        if dropped is not None:
            dropped.abort()

    def _leave_queue(self, waiter: _Waiter, *, keep: bool) -> AsyncHTTPConnection | None:
        """The request stops waiting. ``keep``: it returns what it was handed (None: nothing,
        it is off the queue). Else it gives that back (passed on, or its slot freed) and
        returns a connection the caller must abort, if any."""
        handed, waiter.connection = waiter.connection, None
        if handed is None:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass  # woken by the pool's close
            return None
        if keep:
            return handed
        if handed.is_connected and self._place(handed):
            return None
        self._forget(handed)
        self._hand_slots()
        return handed if handed.is_connected else None

    def release_orphan(self, connection: AsyncHTTPConnection) -> None:
        """Give back the slot of a lent-out connection whose response was garbage-collected
        without being closed (the connection is already aborted). Runs from a finalizer, so
        possibly inside one of this pool's sections, on this thread or another: then the
        section gives the slot back as it ends (``_reap_deferred``)."""
        if connection.generation != self._generation:
            return  # the parent's (a fork): its slot is not on these books
        self._orphans.append(connection)  # before trying the lock: see _reap_deferred
        lock = self._lock
        # Another thread's section lets go of the lock within moments: wait for it, and the
        # slot (and a waiter's wake-up) is given back now. This thread's own section (the
        # finalizer ran inside it) never would: after the short wait, it gives it back.
        if lock.acquire(timeout=_ORPHAN_LOCK_WAIT):
            try:
                self._reap_orphans()
            finally:
                lock.release()

    def _reap_deferred(self) -> None:
        """After a section: give back the slots of orphans a finalizer could not (it found
        the lock held, by this section). An orphan is queued before its finalizer tries the
        lock, so a section that held the lock then sees it here."""
        if self._orphans:
            with self._lock:
                self._reap_orphans()

    def _reap_orphans(self) -> None:
        orphans = self._orphans
        while orphans:
            self._forget(orphans.popleft())
        self._hand_slots()

    def keep_idle(self, connection: AsyncHTTPConnection) -> bool:
        """Take back a connection that can serve again, as idle (no coroutine: the usual
        end of a response). False when the pool cannot keep it: ``discard`` it then."""
        if connection.generation != self._generation:
            connection.let_go()  # the parent's (a fork): never used here
            return True
        try:
            with self._lock:
                if self._closed or not connection.is_connected:
                    return False
                return self._place(connection)
        finally:
            if self._orphans:
                self._reap_deferred()

    async def discard(self, connection: AsyncHTTPConnection) -> None:
        """Close a lent-out connection and give its slot to a waiter."""
        if connection.generation != self._generation:
            connection.let_go()  # the parent's (a fork): no I/O, no slot on these books
            return
        with self._lock:
            self._forget(connection)
            self._hand_slots()
        if self._orphans:
            self._reap_deferred()
        await connection.aclose()

    async def aclose(self) -> None:
        """Close every idle connection; connections lent out close when their response does."""
        failure = await close_all(self._close_books())
        if failure is not None:
            raise failure

    def abort(self) -> None:
        """Close, without I/O, every idle connection (a client's close was interrupted)."""
        for connection in self._close_books():
            connection.abort()

    def _take_all_idle(self) -> list[AsyncHTTPConnection]:
        """Every idle connection, taken off the routes (the caller closes or lets go of
        them, and keeps the open counts right)."""
        routes = tuple(self.routes.values())
        idle = [c for r in routes for stack in r.idle.values() for c in stack]
        for route in routes:
            route.idle.clear()
        self._idle_count = 0
        return idle

    def _close_books(self) -> list[AsyncHTTPConnection]:
        """Mark the pool closed and take its idle connections off its books."""
        with self._lock:
            self._closed = True
            if self._alarm is not None:
                self._alarm.cancel()
                self._alarm = self._hooks.alarm = None
            idle = self._take_all_idle()
            for connection in idle:
                self._forget(connection)
            while self._waiters:
                self._waiters.popleft().signal.set()  # wakes to find the pool closed
        return idle


class _Waiter:
    """A request queued for a connection to ``origin`` by ``route``; ``connection`` is what
    it is handed (an idle connection, or a new one for a freed slot) just before ``signal``
    wakes it."""

    __slots__ = ("connection", "origin", "route", "signal")

    def __init__(self, route: AsyncRoute, origin: Origin, signal: AsyncSignal) -> None:
        self.route = route
        self.origin = origin
        self.signal = signal
        self.connection: AsyncHTTPConnection | None = None

    def hand(self, connection: AsyncHTTPConnection) -> None:
        self.connection = connection
        self.signal.set()


class _Closable(Protocol):
    async def aclose(self) -> None: ...

    def abort(self) -> None: ...


async def close_all(items: Sequence[_Closable]) -> BaseException | None:
    """Close each of ``items`` (connections, or a client's pools), which nothing else holds
    any more. If one close fails or is cancelled (an anyio scope cancels every await again),
    the rest are aborted without I/O, so none stays open with no owner; that failure is
    returned for the caller to raise."""
    for index, item in enumerate(items):
        failure: BaseException | None = None
        try:
            await item.aclose()
        except BaseException as exc:
            failure = exc
        if failure is not None:
            for rest in items[index + 1 :]:
                rest.abort()
            return failure
    return None


def _can_resend(request: Request) -> bool:
    if request.method not in IDEMPOTENT_METHODS:
        return False
    content = request.content
    return content is None or bool(getattr(content, "is_replayable", False))
