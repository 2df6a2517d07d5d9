"""Helpers for tests of code shared by threads."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def switch_interval(seconds: float = 1e-6) -> Iterator[None]:
    """A tiny GIL switch interval: thread interleavings that users hit rarely then happen
    within a bounded run. Restored on exit."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(work: Callable[[], None], count: int, timeout: float = 60.0) -> None:
    """Run ``work`` in ``count`` threads at once and wait for them (each at most ``timeout``)."""
    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
