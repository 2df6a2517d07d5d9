"""The DNS cache of wirekit.net plugs into both clients as their resolver."""

from __future__ import annotations

import socket

import pytest

import wirekit
from tests.support.keepalive import KeepAliveServer
from wirekit.net import CachingResolver


@pytest.mark.anyio
async def test_caching_resolver_is_used_and_caches() -> None:
    calls: list[str] = []

    def counting_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    resolver = CachingResolver(getaddrinfo=counting_getaddrinfo)
    with KeepAliveServer(b"cached") as server:
        url = f"http://cache-test.internal:{server.port}/"
        async with wirekit.AsyncClient(
            resolver=resolver, limits=wirekit.Limits(max_idle_connections=0)
        ) as client:
            for _ in range(3):
                response = await client.get(url)
                assert response.content == b"cached"
    # Three connections (no keep-alive), one lookup: the other two came from the cache.
    assert calls == ["cache-test.internal"]
