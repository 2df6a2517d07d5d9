"""``family=socket.AF_INET6`` and a URL whose host is an IPv4 literal (and the reverse).

User sees: the IP literal is handed to the resolver as if it were a name. With the system
resolver the request fails with ``NameResolutionError: cannot resolve '127.0.0.1':
Address family for hostname not supported`` (a "DNS" failure, retried as one); with an
injected resolver (a pinning or caching resolver) the literal is looked up and the request
goes to whatever address the resolver returns: ``http://127.0.0.1:port/`` lands on ``::1``.
Reference: an IP literal is never a DNS name (RFC 3986 §3.2.2: IP-literal/IPv4address are
not reg-name); wirekit itself never consults the resolver for a literal when family is 0.
curl ``-6 http://127.0.0.1/`` fails with a connect error (7), not a resolve error (6).
(Found by the session-16 review of the connect phase; fixed since: an IP literal of the
other family is a ConnectError before any resolver is asked.)
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

import wirekit
from tests.support.keepalive import KeepAliveServer


class _Recording:
    """Maps every name to ::1:port and records what it was asked."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.questions: list[str] = []

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        self.questions.append(host)
        return [(socket.AF_INET6, ("::1", self.port, 0, 0))]


class _AsyncRecording(_Recording):
    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:  # type: ignore[override]
        return _Recording.resolve(self, host, port, family=family)


def test_sync_ipv4_literal_with_family_inet6_is_not_resolved() -> None:
    with KeepAliveServer(b"v6", host="::1") as v6:
        resolver = _Recording(v6.port)
        with wirekit.Client(resolver=resolver, family=socket.AF_INET6, retry=0) as client:
            with pytest.raises(wirekit.ConnectError) as caught:
                client.get(f"http://127.0.0.1:{v6.port}/")
    assert resolver.questions == []  # a literal is not a name
    assert not isinstance(caught.value, wirekit.NameResolutionError)
    assert "127.0.0.1" in str(caught.value)


def test_async_ipv4_literal_with_family_inet6_is_not_resolved() -> None:
    async def main(resolver: _AsyncRecording, port: int) -> BaseException:
        async with wirekit.AsyncClient(
            resolver=resolver, family=socket.AF_INET6, retry=0
        ) as client:
            with pytest.raises(wirekit.ConnectError) as caught:
                await client.get(f"http://127.0.0.1:{port}/")
        return caught.value

    with KeepAliveServer(b"v6", host="::1") as v6:
        resolver = _AsyncRecording(v6.port)
        error = asyncio.run(main(resolver, v6.port))
    assert resolver.questions == []
    assert not isinstance(error, wirekit.NameResolutionError)
    assert "127.0.0.1" in str(error)
