"""Name lookups under a time limit: shared daemon threads that run blocking resolvers.

A lookup cannot be interrupted (getaddrinfo, or a resolver's own blocking call): the caller
waits at most its time left and leaves an overrunning lookup to finish in its thread. Both
backends use these threads: the blocking one waits on an event, the asyncio one on a
future the thread settles. Written here rather than with ``concurrent.futures`` or the
loop's default executor because a hung call must not hold a worker that later lookups
need: a thread held by an abandoned lookup stops counting against ``MAX_THREADS`` and
another is started (curl gives every lookup a thread for the same reason), up to
``MAX_HELD`` in all.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable

from wirekit._io.base import Address, Resolver


class Lookup:
    """One name lookup handed to the lookup threads, and its outcome."""

    __slots__ = (
        "abandoned",
        "done",
        "error",
        "family",
        "held",
        "host",
        "notify",
        "port",
        "resolver",
        "result",
        "running",
    )

    def __init__(
        self,
        resolver: Resolver,
        host: str,
        port: int,
        family: int,
        notify: Callable[[Lookup], None] | None,
    ) -> None:
        self.resolver = resolver
        self.host = host
        self.port = port
        self.family = family
        #: Called in the lookup's thread once it is done (the asyncio backend's wake-up).
        self.notify = notify
        self.done = threading.Event()
        self.result: list[Address] | None = None
        self.error: BaseException | None = None
        #: The caller stopped waiting: a lookup not started yet is skipped.
        self.abandoned = False
        self.running = False  # a thread is in the resolver's call
        self.held = False  # abandoned while running: its thread is counted apart


class LookupThreads:
    """Threads started on demand, up to ``MAX_THREADS`` serving lookups, and kept."""

    #: Threads serving lookups, not counting those held by abandoned (hung) lookups.
    MAX_THREADS = 8
    #: Threads in all, held ones included: past it, lookups queue (and time out).
    MAX_HELD = 64

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Lookup] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._held = 0  # threads in a lookup their caller abandoned
        self._outstanding = 0  # submitted and not finished

    def submit(
        self,
        resolver: Resolver,
        host: str,
        port: int,
        family: int,
        notify: Callable[[Lookup], None] | None = None,
    ) -> Lookup:
        job = Lookup(resolver, host, port, family, notify)
        with self._lock:
            self._outstanding += 1
            start = self._need_thread()
        self._jobs.put(job)
        if start:
            self._start()
        return job

    def abandon(self, job: Lookup) -> None:
        """The caller stopped waiting for ``job``: its thread, if stuck in it, is replaced."""
        with self._lock:
            job.abandoned = True
            start = False
            if job.running and not job.held:
                job.held = True
                self._held += 1
                start = self._need_thread()
        if start:
            self._start()

    def run(
        self, resolver: Resolver, host: str, port: int, family: int, timeout: float
    ) -> list[Address] | None:
        """The resolver's answer (or its exception, raised here); None when ``timeout``
        ran out first."""
        job = self.submit(resolver, host, port, family)
        if not job.done.wait(max(timeout, 0.0)):
            self.abandon(job)
            return None
        error = job.error
        if error is not None:
            job.error = None  # no reference cycle through the traceback
            raise error
        return job.result

    def _need_thread(self) -> bool:
        """Under the lock: a lookup waits with no free thread, and one may be started."""
        if (
            self._outstanding > self._threads
            and self._threads - self._held < self.MAX_THREADS
            and self._threads < self.MAX_HELD
        ):
            self._threads += 1
            return True
        return False

    def _start(self) -> None:
        try:
            threading.Thread(target=self._work, name="wirekit-dns", daemon=True).start()
        except BaseException:
            with self._lock:
                self._threads -= 1  # the lookups queued wait for another thread
            raise

    def _work(self) -> None:
        jobs = self._jobs
        lock = self._lock
        while True:
            job = jobs.get()
            with lock:
                job.running = not job.abandoned
            if job.running:
                try:
                    job.result = job.resolver.resolve(job.host, job.port, family=job.family)
                except BaseException as exc:  # handed to the caller, raised in its thread
                    job.error = exc
            with lock:
                job.running = False
                self._outstanding -= 1
                if job.held:
                    self._held -= 1
                leave = self._threads - self._held > self.MAX_THREADS
                if leave:  # a held thread came back: one too many now serve lookups
                    self._threads -= 1
            job.done.set()
            notify = job.notify
            if notify is not None:
                job.notify = None
                try:
                    notify(job)
                except Exception:  # never the thread's end: the waiter's side is gone
                    pass
            if leave:
                return


_threads = LookupThreads()


def lookup_threads() -> LookupThreads:
    """The process's lookup threads (a new set in a forked child)."""
    return _threads


def _after_fork() -> None:
    """After fork(): the child has none of the parent's threads."""
    global _threads
    _threads = LookupThreads()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
