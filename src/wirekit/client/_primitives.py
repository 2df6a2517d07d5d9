"""The few synchronisation primitives the client needs, in an async and a sync flavour.

The async client code names ``AsyncLock`` and ``AsyncSignal``; the generated sync code names
``Lock`` and ``Signal`` (scripts/unasync.py drops the prefix). Under asyncio a critical
section that never awaits is already atomic, so ``AsyncLock`` is a no-op, entered with a
plain ``with`` (an ``async with`` would cost two coroutines per use): code inside
``with lock:`` must not await (the sync twin really locks there).
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import asyncio

__all__ = [
    "AsyncLock",
    "AsyncSignal",
    "Lock",
    "Signal",
    "async_sleep",
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
