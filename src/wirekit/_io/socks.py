"""SOCKS5 / SOCKS4(a) tunnels as network backends, on top of the ``python-socks`` package.

``SocksBackend("socks5h://user:pass@127.0.0.1:1080")`` is a drop-in ``NetworkBackend``:
``connect_tcp`` returns an ordinary stream tunnelled through the proxy. ``socks5`` and
``socks4`` resolve the target locally (our resolver), ``socks5h`` and ``socks4a`` let the
proxy resolve it (remote DNS).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from wirekit._io._shared import host_port, literal_addresses
from wirekit._io.asyncio import AsyncIOBackend, AsyncIOStream, AsyncSystemResolver, open_stream
from wirekit._io.base import (
    AsyncNetworkBackend,
    AsyncNetworkStream,
    AsyncResolver,
    NetworkBackend,
    NetworkStream,
    Resolver,
    SocketOption,
    Trace,
)
from wirekit._io.sync import SyncBackend, SyncStream, SystemResolver
from wirekit.errors import ConnectTimeout, InvalidURL, ProxyError, WirekitError

__all__ = ["DEFAULT_SOCKS_PORT", "AsyncSocksBackend", "SocksBackend", "SocksProxyURL"]

#: RFC 1928 §3: SOCKS listens on TCP port 1080 unless told otherwise.
DEFAULT_SOCKS_PORT = 1080

_SCHEMES = {
    # scheme: (SOCKS version, proxy resolves the name)
    "socks5": (5, False),
    "socks5h": (5, True),
    "socks4": (4, False),
    "socks4a": (4, True),
}


@dataclass(frozen=True, slots=True)
class SocksProxyURL:
    """A parsed ``socks5h://user:password@host:port`` proxy address."""

    version: int
    remote_dns: bool
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SocksProxyURL:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise InvalidURL(
                f"SOCKS proxy URL {parts.scheme}://{parts.hostname}: scheme must be one of "
                + ", ".join(sorted(_SCHEMES))
            )
        if not parts.hostname:
            raise InvalidURL(f"SOCKS proxy URL {scheme}://... has no host")
        try:
            port = parts.port or DEFAULT_SOCKS_PORT
        except ValueError as exc:
            raise InvalidURL(f"SOCKS proxy URL for {parts.hostname}: bad port") from exc
        version, remote_dns = _SCHEMES[scheme]
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(version, remote_dns, parts.hostname, port, username, password)

    @property
    def display(self) -> str:
        """The proxy address without its password, for messages and traces."""
        scheme = {(5, False): "socks5", (5, True): "socks5h", (4, False): "socks4"}.get(
            (self.version, self.remote_dns), "socks4a"
        )
        return f"{scheme}://{host_port(self.host, self.port)}"

    def proxy_arguments(self) -> dict[str, object]:
        from python_socks import ProxyType

        return {
            "proxy_type": ProxyType.SOCKS5 if self.version == 5 else ProxyType.SOCKS4,
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "rdns": self.remote_dns,
        }


def _translate(
    proxy: SocksProxyURL, host: str, port: int, timeout: float | None, exc: Exception
) -> WirekitError:
    """python-socks errors -> ProxyError (ConnectTimeout when the time ran out)."""
    from python_socks import ProxyConnectionError, ProxyTimeoutError

    target = host_port(host, port)
    if isinstance(exc, ProxyTimeoutError):
        return ConnectTimeout(
            f"connect to {target} through SOCKS proxy {proxy.display} timed out after {timeout} s"
        )
    if isinstance(exc, ProxyConnectionError):
        return ProxyError(f"cannot connect to SOCKS proxy {proxy.display}: {exc.strerror or exc}")
    return ProxyError(f"SOCKS proxy {proxy.display} could not connect to {target}: {exc}")


def _tune(sock: socket.socket, socket_options: Iterable[SocketOption] | None) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for level, option, value in socket_options or ():
        sock.setsockopt(level, option, value)


def _wanted_family(proxy: SocksProxyURL, family: int) -> int:
    # SOCKS4 carries only IPv4 addresses (SOCKS4a carries names instead).
    return socket.AF_INET if proxy.version == 4 else family


class SocksBackend:
    """A :class:`NetworkBackend` whose TCP connections go through a SOCKS proxy."""

    def __init__(
        self,
        proxy_url: str,
        *,
        backend: NetworkBackend | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.proxy = SocksProxyURL.parse(proxy_url)
        self.backend: NetworkBackend = backend if backend is not None else SyncBackend()
        # Local DNS (socks5://, socks4://) asks the wrapped backend's resolver by default, so
        # an injected resolver keeps working when a SOCKS proxy is configured.
        inherited = getattr(self.backend, "resolver", None)
        self.resolver: Resolver = resolver or inherited or SystemResolver()

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
    ) -> SyncStream:
        from python_socks import ProxyError as SocksError
        from python_socks.sync import Proxy

        started = time.monotonic()
        target = host
        if not self.proxy.remote_dns and literal_addresses(host, port, family) is None:
            wanted = _wanted_family(self.proxy, family)
            if trace is not None:
                trace("dns.start", {"host": host})
            addresses = self.resolver.resolve(host, port, family=wanted)
            target = addresses[0][1][0]
            if trace is not None:
                trace("dns.done", {"host": host, "addresses": [a[1][0] for a in addresses]})
        remaining = None if timeout is None else max(timeout - (time.monotonic() - started), 1e-3)
        if trace is not None:
            trace("connect.start", {"address": (self.proxy.host, self.proxy.port)})
        proxy = Proxy(**self.proxy.proxy_arguments())  # type: ignore[arg-type]
        local = None if local_address is None else (local_address, 0)
        try:
            sock = proxy.connect(target, port, timeout=remaining, local_addr=local)
        except (SocksError, OSError) as exc:
            error = _translate(self.proxy, host, port, timeout, exc)
            if trace is not None:
                trace(
                    "connect.failed",
                    {"address": (self.proxy.host, self.proxy.port), "error": error},
                )
            raise error from exc
        try:
            _tune(sock, socket_options)
        except OSError as exc:
            sock.close()
            raise ProxyError(f"cannot set socket options on the tunnel to {host}: {exc}") from exc
        if trace is not None:
            trace("connect.done", {"address": (self.proxy.host, self.proxy.port)})
        return SyncStream(sock, host_port(host, port), trace)

    def connect_unix_socket(
        self,
        path: str,
        *,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        trace: Trace | None = None,
    ) -> NetworkStream:
        """Unix sockets are local: they never go through the proxy."""
        return self.backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options, trace=trace
        )

    def sleep(self, seconds: float) -> None:
        self.backend.sleep(seconds)


class AsyncSocksBackend:
    """An :class:`AsyncNetworkBackend` whose TCP connections go through a SOCKS proxy."""

    def __init__(
        self,
        proxy_url: str,
        *,
        backend: AsyncNetworkBackend | None = None,
        resolver: AsyncResolver | None = None,
    ) -> None:
        self.proxy = SocksProxyURL.parse(proxy_url)
        self.backend: AsyncNetworkBackend = backend if backend is not None else AsyncIOBackend()
        inherited = getattr(self.backend, "resolver", None)
        self.resolver: AsyncResolver = resolver or inherited or AsyncSystemResolver()

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
    ) -> AsyncIOStream:
        import asyncio

        from python_socks import ProxyError as SocksError
        from python_socks.async_.asyncio import Proxy

        loop = asyncio.get_running_loop()
        started = loop.time()
        target = host
        if not self.proxy.remote_dns and literal_addresses(host, port, family) is None:
            wanted = _wanted_family(self.proxy, family)
            if trace is not None:
                trace("dns.start", {"host": host})
            addresses = await self.resolver.resolve(host, port, family=wanted)
            target = addresses[0][1][0]
            if trace is not None:
                trace("dns.done", {"host": host, "addresses": [a[1][0] for a in addresses]})
        remaining = None if timeout is None else max(timeout - (loop.time() - started), 1e-3)
        if trace is not None:
            trace("connect.start", {"address": (self.proxy.host, self.proxy.port)})
        proxy = Proxy(**self.proxy.proxy_arguments(), loop=loop)  # type: ignore[arg-type]
        local = None if local_address is None else (local_address, 0)
        try:
            sock = await proxy.connect(target, port, timeout=remaining, local_addr=local)
        except (SocksError, OSError) as exc:
            error = _translate(self.proxy, host, port, timeout, exc)
            if trace is not None:
                trace(
                    "connect.failed",
                    {"address": (self.proxy.host, self.proxy.port), "error": error},
                )
            raise error from exc
        try:
            _tune(sock, socket_options)
        except OSError as exc:
            sock.close()
            raise ProxyError(f"cannot set socket options on the tunnel to {host}: {exc}") from exc
        stream = await open_stream(sock, host_port(host, port), trace=trace)
        if trace is not None:
            trace("connect.done", {"address": (self.proxy.host, self.proxy.port)})
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        *,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        trace: Trace | None = None,
    ) -> AsyncNetworkStream:
        """Unix sockets are local: they never go through the proxy."""
        return await self.backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options, trace=trace
        )

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)
