"""A resolver of the other kind than the client: refused when the client is built (sync
client, async resolver), or run where it cannot block the event loop (async client,
blocking resolver).

(Suspected by the session-16 review of the connect phase; fixed since: an async resolver
given to Client failed at the first request with "'coroutine' object is not iterable" and
a never-awaited warning; a blocking one given to AsyncClient failed with "object list
can't be used in 'await' expression".)
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest

import wirekit
from tests.support.keepalive import KeepAliveServer


class _Blocking:
    def __init__(self, port: int, hang: threading.Event | None = None) -> None:
        self.port = port
        self.hang = hang

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        if self.hang is not None:
            self.hang.wait(5)
        return [(socket.AF_INET, ("127.0.0.1", self.port))]


class _Async:
    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        return [(socket.AF_INET, ("127.0.0.1", 9))]


def test_client_refuses_an_async_resolver_when_it_is_built() -> None:
    with pytest.raises(TypeError, match=r"is async \(its resolve\(\) is a coroutine\)"):
        wirekit.Client(resolver=_Async())


@pytest.mark.parametrize("client_class", [wirekit.Client, wirekit.AsyncClient])
def test_a_resolver_without_resolve_is_refused_when_the_client_is_built(
    client_class: type,
) -> None:
    with pytest.raises(TypeError, match=r"has no resolve\(host, port, \*, family\) method"):
        client_class(resolver=object())


def test_async_client_runs_a_blocking_resolver_off_the_event_loop() -> None:
    hang = threading.Event()

    async def main(port: int) -> tuple[str, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.get_running_loop().create_task(tick())
        async with wirekit.AsyncClient(resolver=_Blocking(port, hang), retry=0) as client:
            asyncio.get_running_loop().call_later(0.3, hang.set)
            text = (await client.get("http://name.test/")).text
        ticker.cancel()
        return text, ticks

    with KeepAliveServer(b"resolved") as server:
        started = time.monotonic()
        try:
            text, ticks = asyncio.run(asyncio.wait_for(main(server.port), 5))
        finally:
            hang.set()
    assert text == "resolved"
    assert ticks >= 10, f"the loop stalled during the lookup ({ticks} ticks in 0.3 s)"
    assert time.monotonic() - started < 4


def test_async_client_bounds_a_hung_blocking_resolver_by_the_connect_timeout() -> None:
    hang = threading.Event()

    async def main() -> None:
        async with wirekit.AsyncClient(
            resolver=_Blocking(9, hang), retry=0, timeout=wirekit.Timeout(5, connect=0.2)
        ) as client:
            with pytest.raises(wirekit.ConnectTimeout, match=r"resolving name\.test"):
                await client.get("http://name.test/")

    try:
        asyncio.run(asyncio.wait_for(main(), 5))
    finally:
        hang.set()
