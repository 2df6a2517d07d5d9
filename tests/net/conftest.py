"""Fixtures for the wirekit.net tests: the local DNS server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.net.dns_server import DNSServer, running_dns_server


@pytest.fixture
def dns_server() -> Iterator[DNSServer]:
    """A DNS server for the test zone on 127.0.0.1 (UDP and TCP, same port 0-chosen port)."""
    with running_dns_server() as server:
        yield server
