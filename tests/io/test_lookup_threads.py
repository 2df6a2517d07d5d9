"""The lookup threads both backends run resolvers in under a time limit
(wirekit._io.lookups): a lookup that hangs past its caller's limit must not hold a thread
later lookups need, and the threads it made start come back to the usual number."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from wirekit._io.lookups import LookupThreads


class _Gate:
    """Answers at once, except names starting with "slow": they wait for ``release``."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        if host.startswith("slow"):
            self.release.wait(10)
        return [(socket.AF_INET, ("127.0.0.1", port))]


def _wait_for(condition: Any, seconds: float = 5.0) -> bool:
    ends = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > ends:
            return False
        time.sleep(0.01)
    return True


def test_held_threads_are_replaced_then_leave_once_their_lookups_return() -> None:
    threads = LookupThreads()
    threads.MAX_THREADS = 2
    gate = _Gate()
    try:
        for n in range(5):
            assert threads.run(gate, f"slow{n}.test", 80, 0, 0.05) is None
        # Five threads are held by lookups nobody waits for; a sixth serves new ones.
        assert threads.run(gate, "fast.test", 80, 0, 2.0) == [(socket.AF_INET, ("127.0.0.1", 80))]
        assert threads._threads == 6
    finally:
        gate.release.set()
    assert _wait_for(lambda: threads._threads == threads.MAX_THREADS), threads._threads
    assert threads._held == 0
    assert threads.run(gate, "fast.test", 81, 0, 2.0) == [(socket.AF_INET, ("127.0.0.1", 81))]


def test_past_the_cap_of_held_threads_lookups_queue_and_time_out() -> None:
    threads = LookupThreads()
    threads.MAX_THREADS = 1
    threads.MAX_HELD = 3
    gate = _Gate()
    try:
        for n in range(3):
            assert threads.run(gate, f"slow{n}.test", 80, 0, 0.05) is None
        assert threads._threads == 3  # no fourth: the cap holds however many names hang
        assert threads.run(gate, "fast.test", 80, 0, 0.1) is None
        gate.release.set()
        assert threads.run(gate, "fast.test", 80, 0, 2.0) == [(socket.AF_INET, ("127.0.0.1", 80))]
    finally:
        gate.release.set()


def test_an_error_of_the_resolver_reaches_the_caller() -> None:
    class Failing:
        def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    threads = LookupThreads()
    with pytest.raises(socket.gaierror) as caught:
        threads.run(Failing(), "nowhere.test", 80, 0, 2.0)
    assert caught.value.errno == socket.EAI_NONAME
