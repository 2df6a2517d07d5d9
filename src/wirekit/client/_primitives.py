"""The few synchronisation primitives the client needs, in an async and a sync flavour.

The async client code names ``AsyncLock`` and ``AsyncSignal``; the generated sync code names
``Lock`` and ``Signal`` (scripts/unasync.py drops the prefix). Under asyncio a critical
section that never awaits is already atomic, so ``AsyncLock`` is a no-op, entered with a
plain ``with`` (an ``async with`` would cost two coroutines per use): code inside
``with lock:`` must not await (the sync twin really locks there).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from wirekit._forks import after_fork_in_child

if TYPE_CHECKING:  # pragma: no cover
    import asyncio

__all__ = [
    "Alarm",
    "AsyncAlarm",
    "AsyncLock",
    "AsyncSignal",
    "Lock",
    "PoolHooks",
    "Signal",
    "async_sleep",
    "let_go_in_child",
    "monotonic",
    "sync_sleep",
]

monotonic = time.monotonic
sync_sleep = time.sleep


async def async_sleep(seconds: float) -> None:
    import asyncio  # here, not at the top: the sync client never needs asyncio

    await asyncio.sleep(seconds)


class AsyncLock:
    """A no-op under asyncio (see module docstring); keeps the code shape of the sync twin.

    It notes whether a section is running, for ``acquire(blocking=False)``: a garbage
    collection (a finalizer) can run in the middle of one, on the same thread."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = False

    def __enter__(self) -> None:
        self._held = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._held = False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Enter if no section is running (then ``release()``). Never waits: under asyncio
        a running section is this thread's own, which waiting could not end."""
        if self._held:
            return False
        self._held = True
        return True

    def release(self) -> None:
        self._held = False


#: The sync twin is the thread lock itself: its ``with`` and ``acquire(timeout=...)``
#: (which a finalizer uses, so that it never waits for good on a lock its own thread holds)
#: are C calls, where a Python wrapper cost four interpreted calls per request.
Lock = threading.Lock


class AsyncSignal:
    """A one-shot wake-up for a task waiting for a pool slot."""

    __slots__ = ("_future",)

    def __init__(self) -> None:
        import asyncio

        self._future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self, timeout: float | None) -> bool:
        """True if woken, False on timeout."""
        import asyncio

        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._future)
        except TimeoutError:
            return self._future.done()
        return True


class Signal:
    """A one-shot wake-up for a thread waiting for a pool slot."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float | None) -> bool:
        return self._event.wait(timeout)


class AsyncAlarm:
    """Calls ``callback`` once, ``delay`` seconds from now, on the running event loop.

    ``start`` returns None outside a running loop (nothing to schedule on); ``live`` is
    False once the loop that would run it is not the current one (a client used under a
    second ``asyncio.run``: that loop is gone), so the caller sets a new one."""

    __slots__ = ("_handle", "_loop", "_running")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        handle: asyncio.TimerHandle,
        running: Callable[[], asyncio.AbstractEventLoop],
    ) -> None:
        self._loop = loop
        self._handle = handle
        self._running = running  # asyncio.get_running_loop

    @classmethod
    def start(cls, delay: float, callback: Callable[[], None]) -> AsyncAlarm | None:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return cls(loop, loop.call_later(delay, callback), asyncio.get_running_loop)

    def live(self) -> bool:
        try:
            return self._running() is self._loop and not self._handle.cancelled()
        except RuntimeError:
            return True  # checked from another thread (a finalizer): leave it be

    def cancel(self) -> None:
        self._handle.cancel()


class Alarm:
    """Calls ``callback`` once, ``delay`` seconds from now, from a daemon timer thread (one
    at a time per pool, only while it has idle connections: no thread of its own for good)."""

    __slots__ = ("_timer",)

    def __init__(self, timer: threading.Timer) -> None:
        self._timer = timer

    @classmethod
    def start(cls, delay: float, callback: Callable[[], None]) -> Alarm | None:
        # A longer wait overflows the thread's timer ("Exception in thread", OverflowError);
        # an alarm that rings early finds nothing due and is set again.
        timer = threading.Timer(min(delay, threading.TIMEOUT_MAX), callback)
        timer.daemon = True
        timer.name = "wirekit-pool-expiry"
        timer.start()
        return cls(timer)

    def live(self) -> bool:
        return not self._timer.finished.is_set()

    def cancel(self) -> None:
        self._timer.cancel()


class PoolHooks:
    """What reaches a pool from outside its own calls: its expiry alarm and, in a forked
    child, the fork handler. The pool holds this object; the alarm and the fork registry
    (``wirekit._forks``) hold only weak references to it, so a client dropped without
    close() is collected (with its sockets) instead of living on until its idle
    connections expire. (A pool itself, compiled by mypyc, takes no weak reference: hence
    this plain object.)"""

    __slots__ = ("__weakref__", "after_fork", "alarm", "collected", "ring")

    def __init__(
        self,
        ring: Callable[[], None],
        after_fork: Callable[[], None],
        collected: Callable[[], None],
    ) -> None:
        self.ring = ring
        self.after_fork = after_fork
        #: Called when the pool (and this object with it) is garbage-collected.
        self.collected = collected
        self.alarm: Alarm | AsyncAlarm | None = None  # the latest, cancelled with the pool
        after_fork_in_child(self, _call_after_fork)

    def weak_ring(self) -> Callable[[], None]:
        """``ring``, called through a weak reference (what an alarm is given)."""
        ref = weakref.ref(self)

        def ring() -> None:
            hooks = ref()
            if hooks is not None:
                hooks.ring()

        return ring

    def __del__(self) -> None:
        # The pool is unreachable (a client dropped without close()); finalizers run
        # before any of the cycle is torn down (PEP 442), so the pool is still whole.
        try:
            alarm = self.alarm
            if isinstance(alarm, Alarm):  # a timer thread would sleep on to no purpose
                alarm.cancel()
            self.collected()
        except Exception:  # a finalizer must not raise: the sockets close themselves then
            pass


def _call_after_fork(hooks: PoolHooks) -> None:
    hooks.after_fork()


#: What a forked child let go of (see ``let_go_in_child``), kept from its finalizers.
_LET_GO: list[object] = []


def let_go_in_child(owner: object, fd: int) -> None:
    """In a forked child, drop its copy of a parent connection's socket without any I/O:
    ``fd`` is pointed at /dev/null (no shutdown, no close_notify, nothing the parent's
    connection would notice; its TCP connection ends when the parent closes it), and
    ``owner`` (the stream holding the fd) is kept, so no finalizer closes or warns about
    it later. Both processes reading one socket would get each other's answers."""
    if fd >= 0:
        null = os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    _LET_GO.append(owner)
