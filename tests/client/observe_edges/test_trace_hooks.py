"""Observing a request with ``trace=``: every phase reported, the same in both clients, and
a trace callback that raises must not leak the connection.

Real peers: a loopback port whose SYNs are dropped (tests/support/blackhole.py) and a
keep-alive responder (tests/support/keepalive.py).

(Found by a differential review of fetch, tracing, the debug log and responses; fixed
since.)
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest

import wirekit
from tests.support.blackhole import Blackhole
from tests.support.keepalive import KeepAliveServer


def _sync_events(url: str, **options: Any) -> tuple[list[str], BaseException | None]:
    events: list[str] = []
    error: BaseException | None = None
    with wirekit.Client(trace=lambda e, i: events.append(e), retry=0, **options) as client:
        try:
            client.get(url)
        except wirekit.TransportError as exc:
            error = exc
    return events, error


def _async_events(url: str, **options: Any) -> tuple[list[str], BaseException | None]:
    events: list[str] = []
    error: BaseException | None = None

    async def main() -> None:
        nonlocal error
        async with wirekit.AsyncClient(
            trace=lambda e, i: events.append(e), retry=0, **options
        ) as client:
            try:
                await client.get(url)
            except wirekit.TransportError as exc:
                error = exc

    asyncio.run(main())
    return events, error


def test_connect_timeout_is_traced_as_connect_failed_in_both_clients() -> None:
    """A TCP connect that times out (SYN dropped), ``Timeout(5, connect=0.3)``.

    User sees: ``Client`` traces ``connect.start``, ``connect.failed``; ``AsyncClient``
    traces only ``connect.start`` and then nothing: the attempt that failed is never closed
    in the trace, so a tracer cannot tell which phase (or address) failed, nor when.
    Reference: docs/client.md lists ``connect.failed`` among the trace events and says both
    clients "share every behaviour" (the sync code is generated from the async one); a
    refused connect does give ``connect.failed`` in both. httpx's trace reports
    ``connection.connect_tcp.failed`` for a timeout in both of its clients.
    Why it matters: a trace-based monitor (the CLI's ``--timing``, an APM span) leaves the
    connect span of every timed-out async request open forever.
    """
    with Blackhole() as hole:
        timeout = wirekit.Timeout(5.0, connect=0.3)
        sync_events, sync_error = _sync_events(hole.url + "/", timeout=timeout)
        async_events, async_error = _async_events(hole.url + "/", timeout=timeout)
    assert isinstance(sync_error, wirekit.ConnectTimeout)
    assert isinstance(async_error, wirekit.ConnectTimeout)
    assert sync_events == ["connect.start", "connect.failed"]
    assert async_events == sync_events


class _TraceBroke(Exception):
    pass


def _raise_on(event: str) -> Any:
    def trace(name: str, info: dict[str, Any]) -> None:
        if name == event:
            raise _TraceBroke(name)

    return trace


def _unclosed_socket_warnings(run: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
        gc.collect()
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) and "socket" in str(w.message)
    ]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_trace_that_raises_at_connect_done_does_not_leak_the_socket(flavour: str) -> None:
    """A ``trace`` callback raises on ``connect.done`` (a bug in the user's tracer, or a
    tracer that aborts the request on purpose).

    User sees: the exception propagates (fine), but the freshly connected socket is never
    closed: it stays open (the server keeps an established connection) until the garbage
    collector finds it and Python reports ``ResourceWarning: unclosed <socket.socket ...>``.
    The pool's books say 0 connections open, so nothing will ever close it.
    Reference: wirekit's own contract (client/_async/connection.py docstring, DESIGN
    invariant 5): "the socket belongs to exactly one connection and is closed on every path
    (success, error, cancellation)". An exception raised by an httpx trace callback or
    event hook ends the request with the connection closed.
    Why it matters: a long-running service with a faulty tracer leaks one file descriptor
    per request until it hits the open-file limit.
    """
    trace = _raise_on("connect.done")
    with KeepAliveServer(b"hi") as server:
        url = server.url + "/"

        def run_sync() -> None:
            with wirekit.Client(trace=trace, retry=0) as client:
                with pytest.raises(_TraceBroke):
                    client.get(url)

        def run_async() -> None:
            async def main() -> None:
                async with wirekit.AsyncClient(trace=trace, retry=0) as client:
                    with pytest.raises(_TraceBroke):
                        await client.get(url)

            asyncio.run(main())

        leaked = _unclosed_socket_warnings(run_sync if flavour == "sync" else run_async)
    assert leaked == []
