"""The seam between wirekit's protocol code and the network: typing.Protocol classes only.

Transports talk to sockets through an ``AsyncNetworkBackend`` (or its sync twin
``NetworkBackend``); tests inject fakes here. Each async name has a sync twin with the same
name minus ``Async`` (``scripts/unasync.py`` relies on it).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeAlias

__all__ = [
    "Address",
    "AsyncNetworkBackend",
    "AsyncNetworkStream",
    "AsyncResolver",
    "NetworkBackend",
    "NetworkStream",
    "Resolver",
    "SocketOption",
    "Trace",
]

#: ``trace(event, info)``: "dns.start" {"host"}, "dns.done" {"host", "addresses"},
#: "connect.start" {"address"}, "connect.done" {"address"}, "connect.failed" {"address",
#: "error"}, "tls.start" {"server_hostname"}, "tls.done" {"version", "cipher", "alpn"}.
Trace: TypeAlias = Callable[[str, dict[str, Any]], None]

#: ``(level, option, value)`` as passed to ``socket.setsockopt``.
SocketOption: TypeAlias = tuple[int, int, int]

#: One resolved address: ``(family, sockaddr)`` as in ``getaddrinfo``'s first and last fields.
Address: TypeAlias = tuple[int, tuple[Any, ...]]


class AsyncNetworkStream(Protocol):
    """One connected byte stream (TCP, TLS or Unix socket) owned by exactly one caller."""

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Up to ``max_bytes`` bytes; ``b""`` at end of stream. ReadTimeout / ReadError."""
        ...

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        """Send all of ``data``. WriteTimeout / WriteError."""
        ...

    async def aclose(self) -> None:
        """Close the stream. Idempotent, never raises."""
        ...

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        """Upgrade to TLS; the returned stream replaces this one. TLSError / ConnectTimeout."""
        ...

    def get_extra_info(self, name: str) -> Any:
        """ "ssl_object", "peername", "sockname", "socket", "alpn_protocol", or None."""
        ...

    def is_readable(self) -> bool:
        """True if the peer sent data or EOF while the stream was idle (a stale keep-alive)."""
        ...


class AsyncNetworkBackend(Protocol):
    """Opens streams. Replaceable, so tests can inject faults and fake networks."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        *,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        family: int = 0,
        trace: Trace | None = None,
    ) -> AsyncNetworkStream: ...

    async def connect_unix_socket(
        self,
        path: str,
        *,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        trace: Trace | None = None,
    ) -> AsyncNetworkStream: ...

    async def sleep(self, seconds: float) -> None: ...


class NetworkStream(Protocol):
    """Sync twin of :class:`AsyncNetworkStream`."""

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes: ...

    def write(self, data: bytes, timeout: float | None = None) -> None: ...

    def close(self) -> None: ...

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None = None,
    ) -> NetworkStream: ...

    def get_extra_info(self, name: str) -> Any: ...

    def is_readable(self) -> bool: ...


class NetworkBackend(Protocol):
    """Sync twin of :class:`AsyncNetworkBackend`."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        *,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        family: int = 0,
        trace: Trace | None = None,
    ) -> NetworkStream: ...

    def connect_unix_socket(
        self,
        path: str,
        *,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        trace: Trace | None = None,
    ) -> NetworkStream: ...

    def sleep(self, seconds: float) -> None: ...


class AsyncResolver(Protocol):
    """Turns a host name into addresses, in the order the system prefers them."""

    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]: ...


class Resolver(Protocol):
    """Sync twin of :class:`AsyncResolver`."""

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]: ...
