"""Pool slot hand-offs between threads: a wake-up must never be lost."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from tests.support.pool_peers import Peer, keep_alive
from wirekit import Client, Limits, Timeout
from wirekit.client._sync import pool as sync_pool


class _LateSignal(sync_pool.Signal):
    """A waiter thread descheduled right after its wait timed out (before it takes the pool
    lock again): the OS scheduler does this at any time; here it lasts 0.3 s to be sure."""

    __slots__ = ()

    def wait(self, timeout: float | None) -> bool:
        woken = super().wait(timeout)
        if not woken:
            time.sleep(0.3)
        return woken


def test_a_timed_out_waiter_does_not_swallow_the_wake_up_of_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # max_connections=1. A holds the slot (a streamed response). W1 (pool timeout 0.3 s)
    # and then W2 (pool timeout 3 s) wait. W1 times out; before it takes the lock to leave
    # the queue, A closes its response and the connection is handed to W1, the oldest
    # waiter. It once dropped that wake-up (timing out anyway), and W2 slept on with the
    # slot free until its own PoolTimeout. Now W1 uses what it was handed (its slot was
    # counted for it), and W2 is served after it; nothing is lost either way.
    monkeypatch.setattr(sync_pool, "Signal", _LateSignal)
    with Peer(keep_alive(b"hello")) as peer:
        url = f"http://127.0.0.1:{peer.port}/"
        with Client(retry=0, timeout=10, limits=Limits(max_connections=1)) as client:
            results: dict[str, object] = {}

            def wait_for_slot(name: str, pool_timeout: float) -> None:
                try:
                    response = client.get(url, timeout=Timeout(10, pool=pool_timeout))
                    results[name] = response.content
                except Exception as exc:  # collected for the assert
                    results[name] = exc

            with client.stream("GET", url) as held:
                w1 = threading.Thread(target=wait_for_slot, args=("w1", 0.3))
                w1.start()
                time.sleep(0.1)
                w2 = threading.Thread(target=wait_for_slot, args=("w2", 3.0))
                w2.start()
                time.sleep(0.35)  # W1 has timed out and is still leaving the queue
                held.read()
            w1.join(10)
            w2.join(10)
            assert results == {"w1": b"hello", "w2": b"hello"}, results
            counts = client._transport.connection_counts()
            assert counts["open"] == counts["idle"] <= 1, counts


def test_a_response_collected_while_another_thread_is_in_the_pool_frees_its_slot() -> None:
    # max_connections=1. A streamed response holds the slot and W waits for it. The
    # response is dropped unclosed; its finalizer gives the slot back with a non-blocking
    # acquire of the pool lock, which fails while any other thread is inside one of the
    # pool's sections (here a thread taking back its connection, held 0.2 s to be sure).
    # The slot is then queued as an "orphan" that only a later _acquire reaps, so W,
    # already asleep, is never woken: PoolTimeout with the slot free, and open_connections
    # stays 1 for nothing.
    with Peer(keep_alive(b"hello")) as peer:
        url = f"http://127.0.0.1:{peer.port}/"
        with Client(retry=0, timeout=10, limits=Limits(max_connections=1)) as client:
            results: dict[str, object] = {}

            def waiter() -> None:
                try:
                    response = client.get(url, timeout=Timeout(10, pool=2.0))
                    results["w"] = response.content
                except Exception as exc:  # collected for the assert
                    results["w"] = exc

            context = client.stream("GET", url)
            response = context.__enter__()  # a download abandoned without closing it
            pool = client._transport._pool
            w = threading.Thread(target=waiter)
            w.start()
            time.sleep(0.2)  # W is asleep in the pool's queue

            in_section = threading.Event()

            def other_thread_in_a_pool_section() -> None:
                with pool._lock:
                    in_section.set()
                    time.sleep(0.1)  # a section other threads wait out (finalizers: 0.25 s)

            other = threading.Thread(target=other_thread_in_a_pool_section)
            other.start()
            assert in_section.wait(5)
            del context, response
            gc.collect()
            other.join(5)
            w.join(10)
            assert results["w"] == b"hello", results
            counts = client._transport.connection_counts()
            assert counts["open"] == counts["idle"] <= 1, counts
