"""Project-wide test fixtures: the loopback-only socket guard and a clean environment.

The guard wraps ``socket.socket.connect``/``connect_ex``/``sendto`` so that any test reaching
for an address outside loopback (127.0.0.0/8, ::1) or a Unix socket fails at once, loudly,
naming the address. Tests never touch the internet.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

import pytest

pytest_plugins = ["tests.support.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    # `make pytest-compiled` runs the suite on the mypyc build (scripts/compile.py): make
    # sure that is what the tests import, not the editable pure-Python install.
    if os.environ.get("WIREKIT_EXPECT_COMPILED") == "1":
        import wirekit._proto.http1
        import wirekit.server.protocol

        for module in (wirekit._proto.http1, wirekit.server.protocol):
            if not str(module.__file__).endswith(".so"):
                raise pytest.UsageError(
                    f"WIREKIT_EXPECT_COMPILED=1 but {module.__name__} is {module.__file__}"
                    " (run `make compile`, and put build/compiled first on PYTHONPATH)"
                )


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto

# Addresses some tests use on purpose because they can never answer: they must fail locally,
# so they are allowed through to the kernel (which refuses or times out without traffic
# leaving the machine because no route is set up in test namespaces).
_ALLOWED_UNROUTABLE: set[str] = set()


def _check_address(address: Any) -> None:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    host = host.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise AssertionError(
            f"test tried to connect to a name, not an address: {address!r}"
        ) from None
    if ip.is_loopback or host in _ALLOWED_UNROUTABLE:
        return
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped and ip.ipv4_mapped.is_loopback:
        return
    raise AssertionError(f"socket guard: test tried to reach {address!r}, outside loopback")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(address)
    return _real_connect_ex(self, address)


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
    _check_address(args[-1])
    return _real_sendto(self, data, *args)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign,assignment]

_SCRUBBED = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NETRC",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or TLS variables from the developer's shell leak into a test."""
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", os.devnull)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the backend wirekit's async side is written for)."""
    return "asyncio"
