"""wirekit.net.dnscache: TTL, negative caching, eviction, with a fake clock and resolver."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from wirekit.errors import NameResolutionError
from wirekit.net import CachingResolver


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeGetAddrInfo:
    """Answers 10.0.0.N for "hostN"; "missing" is NXDOMAIN, "flaky" a temporary failure."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, family: int = 0, kind: int = 0) -> list[Any]:
        self.calls.append(host)
        if host == "missing":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if host == "flaky":
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        number = host.removeprefix("host")
        sockaddr = (f"10.0.0.{number}", port)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", sockaddr)] * 2


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lookups() -> FakeGetAddrInfo:
    return FakeGetAddrInfo()


def test_answers_are_reused_until_ttl(clock: FakeClock, lookups: FakeGetAddrInfo) -> None:
    resolver = CachingResolver(ttl=60, clock=clock, getaddrinfo=lookups)
    expected = [(socket.AF_INET, ("10.0.0.1", 80))]
    assert resolver.resolve("host1", 80) == expected
    clock.now += 59
    assert resolver.resolve("HOST1", 80) == expected
    assert lookups.calls == ["host1"]
    clock.now += 2
    assert resolver.resolve("host1", 80) == expected
    assert lookups.calls == ["host1", "host1"]


def test_negative_answers_cached_for_negative_ttl(
    clock: FakeClock, lookups: FakeGetAddrInfo
) -> None:
    resolver = CachingResolver(negative_ttl=5, clock=clock, getaddrinfo=lookups)
    for _ in range(3):
        with pytest.raises(NameResolutionError, match="could not resolve host 'missing'"):
            resolver.resolve("missing", 80)
    assert lookups.calls == ["missing"]
    clock.now += 6
    with pytest.raises(NameResolutionError):
        resolver.resolve("missing", 80)
    assert lookups.calls == ["missing", "missing"]


def test_temporary_failures_are_not_cached(lookups: FakeGetAddrInfo) -> None:
    resolver = CachingResolver(getaddrinfo=lookups)
    for _ in range(2):
        with pytest.raises(NameResolutionError, match="Temporary failure"):
            resolver.resolve("flaky", 80)
    assert lookups.calls == ["flaky", "flaky"]


def test_max_entries_evicts_least_recently_used(clock: FakeClock, lookups: FakeGetAddrInfo) -> None:
    resolver = CachingResolver(max_entries=2, clock=clock, getaddrinfo=lookups)
    resolver.resolve("host1", 80)
    resolver.resolve("host2", 80)
    resolver.resolve("host1", 80)  # host1 is now the most recent
    resolver.resolve("host3", 80)  # evicts host2
    assert len(resolver) == 2
    resolver.resolve("host1", 80)
    resolver.resolve("host2", 80)
    assert lookups.calls == ["host1", "host2", "host3", "host2"]
    with pytest.raises(ValueError, match="max_entries"):
        CachingResolver(max_entries=0)


def test_port_and_family_are_part_of_the_key(lookups: FakeGetAddrInfo) -> None:
    resolver = CachingResolver(getaddrinfo=lookups)
    assert resolver.resolve("host1", 80) == [(socket.AF_INET, ("10.0.0.1", 80))]
    assert resolver.resolve("host1", 443) == [(socket.AF_INET, ("10.0.0.1", 443))]
    resolver.resolve("host1", 80, family=socket.AF_INET)
    assert len(lookups.calls) == 3


def test_thread_safety_under_concurrent_use(lookups: FakeGetAddrInfo) -> None:
    resolver = CachingResolver(max_entries=8, getaddrinfo=lookups)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(200):
                assert resolver.resolve(f"host{(i + offset) % 20}", 80)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(resolver) <= 8


def test_real_resolver_and_literal_ip() -> None:
    resolver = CachingResolver()
    assert (socket.AF_INET, ("127.0.0.1", 8080)) in resolver.resolve("localhost", 8080)
    assert resolver.resolve("127.0.0.1", 1) == [(socket.AF_INET, ("127.0.0.1", 1))]
    assert len(resolver) == 1  # literal addresses are not cached


@pytest.mark.anyio
async def test_async_resolve_shares_the_cache(lookups: FakeGetAddrInfo) -> None:
    resolver = CachingResolver(getaddrinfo=lookups)
    assert await resolver.aresolve("host7", 80) == [(socket.AF_INET, ("10.0.0.7", 80))]
    assert resolver.resolve("host7", 80) == [(socket.AF_INET, ("10.0.0.7", 80))]
    assert lookups.calls == ["host7"]
    with pytest.raises(NameResolutionError):
        await resolver.aresolve("missing", 80)
