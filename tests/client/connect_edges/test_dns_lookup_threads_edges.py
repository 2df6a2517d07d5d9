"""A few hung lookups of one bad name must not make every later lookup of a good name time
out: the connect timeout bounds each lookup, it must not turn into a shared outage.

User sees: after a dozen requests to a name whose DNS never answers (each correctly ends in
``ConnectTimeout: resolving slowN.test timed out``), a request to a name the resolver
answers at once fails too, with ``resolving fast.test:80 timed out after 0.2 s``. The
abandoned lookups still occupy every lookup thread (sync: ``_LookupThreads.MAX_THREADS``
= 8; async: the loop's default executor), so the good name waits in the queue.
Reference: curl's threaded resolver runs each lookup in its own thread; httpx's async
client (anyio ``getaddrinfo``, abandon-on-cancel threads) answers the good name at once.
(Found by the session-16 review of the connect phase; fixed since: both backends run system
lookups in wirekit._io.lookups, whose threads held by abandoned lookups no longer count
against the limit.)
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import pytest

import wirekit
from tests.support.keepalive import KeepAliveServer

HUNG = 12  # more than any worker pool in play (sync: 8 threads; async: cpu + 4)


class _HangsOnSlowNames:
    """Answers 127.0.0.1:port at once, except for names starting with "slow", which hang
    until ``release`` is set."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.release = threading.Event()

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        if host.startswith("slow"):
            self.release.wait(10)
        return [(socket.AF_INET, ("127.0.0.1", self.port))]


def test_sync_hung_lookups_do_not_starve_the_lookup_of_another_name() -> None:
    with KeepAliveServer(b"fast") as server:
        resolver = _HangsOnSlowNames(server.port)
        timeout = wirekit.Timeout(5.0, connect=0.2)
        try:
            with wirekit.Client(resolver=resolver, timeout=timeout, retry=0) as client:
                for n in range(HUNG):
                    with pytest.raises(wirekit.ConnectTimeout):
                        client.get(f"http://slow{n}.test/")
                response = client.get("http://fast.test/")
        finally:
            resolver.release.set()
    assert response.content == b"fast"


def test_async_hung_lookups_do_not_starve_the_lookup_of_another_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default resolver (loop.getaddrinfo); socket.getaddrinfo hangs on slow names."""
    real_getaddrinfo = socket.getaddrinfo
    release = threading.Event()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).startswith("slow"):
            release.wait(10)
        return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    async def main(port: int) -> bytes:
        timeout = wirekit.Timeout(5.0, connect=0.2)
        try:
            async with wirekit.AsyncClient(timeout=timeout, retry=0) as client:
                for n in range(HUNG):
                    with pytest.raises(wirekit.ConnectTimeout):
                        await client.get(f"http://slow{n}.test:{port}/")
                response = await client.get(f"http://fast.test:{port}/")
                return response.content
        finally:
            release.set()  # before asyncio.run() waits for its executor's threads

    with KeepAliveServer(b"fast") as server:
        assert asyncio.run(main(server.port)) == b"fast"
