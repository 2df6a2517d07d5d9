"""Happy Eyeballs with two addresses that both never answer: the connect timeout ends the
race, and the trace must close each ``connect.start`` with a ``connect.failed``.

User sees: ``dns.start, dns.done, connect.start, connect.start`` and then the
ConnectTimeout: neither attempt is ever closed, in either client. A single address that
times out does give ``connect.start, connect.failed`` (tests/client/observe_edges/
test_trace_hooks.py), and so does a refused attempt in a race.
Reference: docs/client.md ("every ``*.start`` is closed by its ``*.done`` or ``*.failed``
(a ``*.failed`` info has the ``error``)"); httpx traces ``connection.connect_tcp.failed``
for a connect timeout.
(Found by the session-16 review of the connect phase; fixed since: every attempt a race
leaves under way gets its connect.failed (the error that ended it, or abandoned).)
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

import wirekit
from tests.support.blackhole import Blackhole


class _Fixed:
    def __init__(self, addresses: list[Any]) -> None:
        self.addresses = addresses

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        return list(self.addresses)


class _AsyncFixed(_Fixed):
    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:  # type: ignore[override]
        return list(self.addresses)


def _silent_pair(port: int) -> list[Any]:
    # Both reach the same full accept queue: SYNs dropped, never refused.
    return [
        (socket.AF_INET, ("127.0.0.1", port)),
        (socket.AF_INET6, ("::ffff:127.0.0.1", port, 0, 0)),
    ]


TIMEOUT = wirekit.Timeout(5.0, connect=0.5)


def _connect_events(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in events if name.startswith("connect.")]


def test_sync_race_timeout_closes_every_attempt_with_connect_failed() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    with Blackhole() as hole:
        resolver = _Fixed(_silent_pair(hole.port))
        with wirekit.Client(
            resolver=resolver, trace=lambda e, i: events.append((e, i)), timeout=TIMEOUT, retry=0
        ) as client:
            with pytest.raises(wirekit.ConnectTimeout):
                client.get("http://race.test/")
    assert _connect_events(events) == [
        "connect.start",
        "connect.start",
        "connect.failed",
        "connect.failed",
    ]
    assert all("error" in info for name, info in events if name == "connect.failed")


def test_async_race_timeout_closes_every_attempt_with_connect_failed() -> None:
    events: list[tuple[str, dict[str, Any]]] = []

    async def main(port: int) -> None:
        async with wirekit.AsyncClient(
            resolver=_AsyncFixed(_silent_pair(port)),
            trace=lambda e, i: events.append((e, i)),
            timeout=TIMEOUT,
            retry=0,
        ) as client:
            with pytest.raises(wirekit.ConnectTimeout):
                await client.get("http://race.test/")

    with Blackhole() as hole:
        asyncio.run(main(hole.port))
    assert _connect_events(events) == [
        "connect.start",
        "connect.start",
        "connect.failed",
        "connect.failed",
    ]
    assert all("error" in info for name, info in events if name == "connect.failed")
