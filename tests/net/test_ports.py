"""wirekit.net.ports: open, refused, unresolvable; sync and async."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support.blackhole import Blackhole
from wirekit.net import acheck_port, check_port


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_open_port(listening_port: int) -> None:
    result = check_port("127.0.0.1", listening_port, timeout=5)
    assert result.ok
    assert result.address == "127.0.0.1"
    assert result.phase is None
    assert result.error is None
    assert result.connect_time is not None
    assert result.connect_time >= 0


def test_refused_port(closed_port: int) -> None:
    result = check_port("127.0.0.1", closed_port, timeout=5)
    assert not result.ok
    assert result.phase == "refused"
    assert result.error == f"connection refused by 127.0.0.1:{closed_port}"


def test_refused_ipv6_port_names_the_address_in_brackets() -> None:
    # "connection refused by ::1:8000" cannot be read back (nor given to wirekit ping).
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        port = int(sock.getsockname()[1])
    result = check_port("::1", port, timeout=5)
    assert result.phase == "refused"
    assert result.error == f"connection refused by [::1]:{port}"


def test_unresolvable_name() -> None:
    invalid = "x" * 64 + ".invalid"  # refused locally: no query leaves the machine
    result = check_port(invalid, 80, timeout=5)
    assert (result.ok, result.phase, result.address) == (False, "dns", None)
    assert invalid in (result.error or "")


def test_names_show_the_address_tried(listening_port: int) -> None:
    result = check_port("localhost", listening_port, timeout=5)
    assert result.ok
    assert result.address in ("127.0.0.1", "::1")


def test_timeout_phase() -> None:
    with Blackhole() as blackhole:  # a real listener whose connects never complete
        result = check_port("127.0.0.1", blackhole.port, timeout=0.3)
    assert not result.ok
    assert result.phase == "timeout"
    assert result.error == f"connection to 127.0.0.1:{blackhole.port} timed out"


@pytest.mark.anyio
async def test_async_check(listening_port: int, closed_port: int) -> None:
    assert (await acheck_port("127.0.0.1", listening_port, timeout=5)).ok
    refused = await acheck_port("127.0.0.1", closed_port, timeout=5)
    assert refused.phase == "refused"
    assert (await acheck_port("x" * 64 + ".invalid", 1)).phase == "dns"
