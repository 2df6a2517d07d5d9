"""Happy Eyeballs (RFC 8305): the sans-IO plan on a virtual clock, then real races on
loopback for both backends (listener on ::1 only, on 127.0.0.1 only, a silent address)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.io.peers import (
    AsyncFakeResolver,
    FakeResolver,
    listener,
    refused_port,
    v4,
    v6,
)
from tests.support.blackhole import Blackhole
from tests.support.helpers import open_fds
from wirekit._io.asyncio import AsyncIOBackend
from wirekit._io.happy_eyeballs import AttemptPlan, format_address, interleave_addresses
from wirekit._io.sync import SyncBackend
from wirekit.errors import ConnectError, ConnectTimeout, NameResolutionError

# A short delay keeps the races quick; the default (250 ms) is what the RFC recommends.
DELAY = 0.05


def test_interleave_alternates_families_starting_with_the_first() -> None:
    addresses = [v6(1), v6(2), v6(3), v4(4), v4(5)]
    ordered = interleave_addresses(addresses)
    assert [a[1][1] for a in ordered] == [1, 4, 2, 5, 3]


def test_interleave_first_family_count_and_duplicates() -> None:
    addresses = [v4(1), v4(1), v4(2), v6(3)]
    assert [a[1][1] for a in interleave_addresses(addresses)] == [1, 3, 2]
    assert [a[1][1] for a in interleave_addresses(addresses, first_family_count=2)] == [1, 2, 3]
    assert interleave_addresses([]) == []


def test_plan_staggers_attempts_by_the_delay_on_a_virtual_clock() -> None:
    plan = AttemptPlan([v6(1), v4(2), v6(3)], attempt_delay=0.25)
    assert plan.next_start_time(10.0) == 10.0
    assert plan.start_next(10.0) == v6(1)
    assert plan.next_start_time(10.1) == 10.25  # not yet: the first attempt still runs
    assert plan.start_next(10.25) == v4(2)
    assert plan.next_start_time(10.3) == 10.5


def test_plan_starts_the_next_attempt_at_once_after_a_failure() -> None:
    plan = AttemptPlan([v6(1), v4(2)], attempt_delay=0.25)
    first = plan.start_next(0.0)
    plan.attempt_failed(first, ConnectionRefusedError(111, "refused"), 0.01)
    assert plan.next_start_time(0.01) == 0.01
    plan.start_next(0.01)
    assert plan.exhausted
    assert plan.next_start_time(0.02) is None


def test_plan_all_refused_and_format_address() -> None:
    plan = AttemptPlan([v4(1)])
    plan.attempt_failed(plan.start_next(0), ConnectionRefusedError(111, "x"), 0)
    assert plan.all_refused()
    assert format_address(v6(80)) == "[::1]:80"
    assert format_address(("127.0.0.1", 80)) == "127.0.0.1:80"


def _events(trace_log: list[tuple[str, dict[str, Any]]], name: str) -> list[Any]:
    return [info.get("address") for event, info in trace_log if event == name]


@pytest.mark.parametrize(("listen_on", "answers"), [("::1", [v4, v6]), ("127.0.0.1", [v6, v4])])
def test_sync_falls_back_to_the_family_that_listens(listen_on: str, answers: list[Any]) -> None:
    with listener(listen_on) as server:
        port = server.getsockname()[1]
        resolver = FakeResolver([make(port) for make in answers])
        log: list[tuple[str, dict[str, Any]]] = []
        backend = SyncBackend(resolver=resolver, attempt_delay=DELAY)
        stream = backend.connect_tcp(
            "dual.test", port, timeout=10, trace=lambda e, i: log.append((e, i))
        )
        try:
            assert stream.get_extra_info("peername")[0] == listen_on
        finally:
            stream.close()
    assert resolver.questions == [("dual.test", port, 0)]
    assert len(_events(log, "connect.failed")) == 1  # the other family was refused
    assert _events(log, "connect.done")[0][0] == listen_on
    assert [e for e, _ in log][:2] == ["dns.start", "dns.done"]


@pytest.mark.anyio
@pytest.mark.parametrize(("listen_on", "answers"), [("::1", [v4, v6]), ("127.0.0.1", [v6, v4])])
async def test_async_falls_back_to_the_family_that_listens(
    listen_on: str, answers: list[Any]
) -> None:
    with listener(listen_on) as server:
        port = server.getsockname()[1]
        resolver = AsyncFakeResolver([make(port) for make in answers])
        log: list[tuple[str, dict[str, Any]]] = []
        backend = AsyncIOBackend(resolver=resolver, attempt_delay=DELAY)
        stream = await backend.connect_tcp(
            "dual.test", port, timeout=10, trace=lambda e, i: log.append((e, i))
        )
        try:
            assert stream.get_extra_info("peername")[0] == listen_on
        finally:
            await stream.aclose()
    assert len(_events(log, "connect.failed")) == 1
    assert _events(log, "connect.done")[0][0] == listen_on


def test_sync_silent_first_address_loses_the_race(blackhole: Blackhole) -> None:
    before = open_fds()
    with listener("::1") as server:
        good = server.getsockname()[1]
        resolver = FakeResolver([v4(blackhole.port), v6(good)])
        log: list[tuple[str, dict[str, Any]]] = []
        backend = SyncBackend(resolver=resolver, attempt_delay=DELAY)
        stream = backend.connect_tcp(
            "race.test", 80, timeout=10, trace=lambda e, i: log.append((e, i))
        )
        assert stream.get_extra_info("peername")[:2] == ("::1", good)
        assert [a[1] for a in _events(log, "connect.start")] == [blackhole.port, good]
        # The silent attempt was abandoned: its start is closed, marked as such.
        abandoned = [info for event, info in log if event == "connect.failed"]
        assert [info["address"][1] for info in abandoned] == [blackhole.port]
        assert abandoned[0]["abandoned"] is True
        assert "abandoned: another address connected" in str(abandoned[0]["error"])
        stream.close()
    assert open_fds() == before  # the abandoned attempt's socket was closed


@pytest.mark.anyio
async def test_async_silent_first_address_loses_the_race(blackhole: Blackhole) -> None:
    before = open_fds()
    with listener("::1") as server:
        good = server.getsockname()[1]
        resolver = AsyncFakeResolver([v4(blackhole.port), v6(good)])
        log: list[tuple[str, dict[str, Any]]] = []
        backend = AsyncIOBackend(resolver=resolver, attempt_delay=DELAY)
        stream = await backend.connect_tcp(
            "race.test", 80, timeout=10, trace=lambda e, i: log.append((e, i))
        )
        assert stream.get_extra_info("peername")[:2] == ("::1", good)
        abandoned = [info for event, info in log if event == "connect.failed"]
        assert [info["address"][1] for info in abandoned] == [blackhole.port]
        assert abandoned[0]["abandoned"] is True
        await stream.aclose()
    assert open_fds() == before


def test_sync_family_forces_one_family() -> None:
    with listener("127.0.0.1") as four, listener("::1") as six:
        resolver = FakeResolver([v4(four.getsockname()[1]), v6(six.getsockname()[1])])
        backend = SyncBackend(resolver=resolver)
        stream = backend.connect_tcp("dual.test", 80, family=socket.AF_INET6, timeout=10)
        assert stream.get_extra_info("peername")[0] == "::1"
        stream.close()
        stream = backend.connect_tcp("dual.test", 80, family=socket.AF_INET, timeout=10)
        assert stream.get_extra_info("peername")[0] == "127.0.0.1"
        stream.close()
    assert resolver.questions[0][2] == socket.AF_INET6


@pytest.mark.anyio
async def test_async_family_forces_one_family() -> None:
    with listener("127.0.0.1") as four, listener("::1") as six:
        resolver = AsyncFakeResolver([v4(four.getsockname()[1]), v6(six.getsockname()[1])])
        backend = AsyncIOBackend(resolver=resolver)
        stream = await backend.connect_tcp("dual.test", 80, family=socket.AF_INET6, timeout=10)
        assert stream.get_extra_info("peername")[0] == "::1"
        await stream.aclose()


def test_sync_forced_family_without_such_address_is_a_resolution_error() -> None:
    backend = SyncBackend(resolver=FakeResolver([v4(1)]))
    with pytest.raises(NameResolutionError, match="no IPv6 address") as info:
        backend.connect_tcp("only4.test", 80, family=socket.AF_INET6)
    assert info.value.host == "only4.test"


def test_sync_all_refused_names_every_address_and_is_not_a_timeout() -> None:
    port = refused_port()
    backend = SyncBackend(resolver=FakeResolver([v6(port), v4(port)]), attempt_delay=DELAY)
    with pytest.raises(ConnectError) as info:
        backend.connect_tcp("dual.test", port, timeout=10)
    assert not isinstance(info.value, TimeoutError)
    message = str(info.value)
    assert f"cannot connect to dual.test:{port}" in message
    assert f"connection refused by [::1]:{port}" in message
    assert f"connection refused by 127.0.0.1:{port}" in message
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.anyio
async def test_async_all_refused_names_every_address() -> None:
    port = refused_port()
    backend = AsyncIOBackend(resolver=AsyncFakeResolver([v6(port), v4(port)]), attempt_delay=DELAY)
    with pytest.raises(ConnectError, match=rf"connection refused by \[::1\]:{port}") as info:
        await backend.connect_tcp("dual.test", port, timeout=10)
    assert not isinstance(info.value, TimeoutError)


def test_sync_race_of_silent_addresses_times_out(blackhole: Blackhole) -> None:
    before = open_fds()
    second = Blackhole()
    try:
        resolver = FakeResolver([v4(blackhole.port), v4(second.port)])
        backend = SyncBackend(resolver=resolver, attempt_delay=DELAY)
        with pytest.raises(
            ConnectTimeout, match=r"connect to silent.test:80 timed out after 0.3 s"
        ):
            backend.connect_tcp("silent.test", 80, timeout=0.3)
    finally:
        second.close()
    assert open_fds() == before


@pytest.mark.anyio
async def test_async_race_of_silent_addresses_times_out(blackhole: Blackhole) -> None:
    before = open_fds()
    second = Blackhole()
    try:
        resolver = AsyncFakeResolver([v4(blackhole.port), v4(second.port)])
        backend = AsyncIOBackend(resolver=resolver, attempt_delay=DELAY)
        with pytest.raises(
            ConnectTimeout, match=r"connect to silent.test:80 timed out after 0.3 s"
        ):
            await backend.connect_tcp("silent.test", 80, timeout=0.3)
    finally:
        second.close()
    assert open_fds() == before
