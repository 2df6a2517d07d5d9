"""``http://localhost:port/`` to a server listening on ::1 only.

User sees: ``ConnectError: cannot connect to localhost:PORT: connection refused by
127.0.0.1:PORT`` where /etc/hosts maps localhost to 127.0.0.1 only (common in containers):
the IPv6 loopback is never tried, so Happy Eyeballs has nothing to race.
Reference: RFC 6761 §6.3 ("Name resolution APIs and libraries SHOULD recognize localhost
names as special and SHOULD always return the IP loopback address for address queries",
IPv4 and IPv6 alike); curl 7.88 answers 200 here (it resolves localhost to ::1 and
127.0.0.1 itself and races them). httpx and requests fail like wirekit.
(Found by the session-16 review of the connect phase; fixed since: the system resolver
answers localhost names with both loopbacks itself.)
"""

from __future__ import annotations

import asyncio

import wirekit
from tests.support.keepalive import KeepAliveServer


def test_sync_localhost_reaches_a_server_on_ipv6_loopback_only() -> None:
    with KeepAliveServer(b"on ::1", host="::1") as server:
        with wirekit.Client(retry=0, timeout=5.0) as client:
            response = client.get(f"http://localhost:{server.port}/")
    assert response.content == b"on ::1"


def test_async_localhost_reaches_a_server_on_ipv6_loopback_only() -> None:
    async def main(port: int) -> bytes:
        async with wirekit.AsyncClient(retry=0, timeout=5.0) as client:
            return (await client.get(f"http://localhost:{port}/")).content

    with KeepAliveServer(b"on ::1", host="::1") as server:
        assert asyncio.run(main(server.port)) == b"on ::1"
