"""``AsyncSocksBackend``: TCP connections tunnelled through a SOCKS proxy.

This file is the source of truth for ``SocksBackend`` too (generated into ``_sync`` by
``scripts/unasync.py``); import both from ``wirekit._io.socks``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable

from wirekit._io._shared import host_port, literal_addresses, resolve_timeout
from wirekit._io._socks_shared import (
    TARGET_UNREACHABLE,
    SocksProxyURL,
    async_tunnel,
    translate_error,
    tune_socket,
    wanted_family,
)
from wirekit._io.asyncio import (
    AsyncIOBackend,
    AsyncIOStream,
    AsyncSystemResolver,
    open_stream,
    resolve_within,
)
from wirekit._io.base import (
    AsyncNetworkBackend,
    AsyncNetworkStream,
    AsyncResolver,
    SocketOption,
    Trace,
)
from wirekit.errors import ConnectTimeout, ProxyError, chained

__all__ = ["AsyncSocksBackend"]


def _left(timeout: float | None, started: float) -> float | None:
    """What is left of ``timeout`` since ``started`` (never quite nothing: python-socks
    reads 0 as "no limit")."""
    return None if timeout is None else max(timeout - (time.monotonic() - started), 1e-3)


class AsyncSocksBackend:
    """A network backend (``AsyncNetworkBackend``) whose TCP connections go through a SOCKS
    proxy."""

    def __init__(
        self,
        proxy_url: str,
        *,
        backend: AsyncNetworkBackend | None = None,
        resolver: AsyncResolver | None = None,
    ) -> None:
        self.proxy = SocksProxyURL.parse(proxy_url)
        self.backend: AsyncNetworkBackend = backend if backend is not None else AsyncIOBackend()
        # Local DNS (socks5://, socks4://) asks the wrapped backend's resolver by default, so
        # an injected resolver keeps working when a SOCKS proxy is configured.
        # (Tested with "is None", not truth: a resolver with a cache may have a __len__.)
        if resolver is None:
            resolver = getattr(self.backend, "resolver", None)
        self.resolver: AsyncResolver = AsyncSystemResolver() if resolver is None else resolver

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
        from python_socks import ProxyConnectionError as SocksConnectionError
        from python_socks import ProxyError as SocksError

        started = time.monotonic()
        targets = [host]
        if not self.proxy.remote_dns and literal_addresses(host, port, family) is None:
            if trace is not None:
                trace("dns.start", {"host": host})
            wanted = wanted_family(self.proxy, family)
            # Local DNS is part of connecting: the same time limit bounds it.
            addresses = await resolve_within(
                self.resolver, host, port, family=wanted, timeout=timeout
            )
            # Each address in turn (the proxy connects to one only): "localhost" is ::1
            # then 127.0.0.1, and a server may listen on one of them alone.
            targets = list(dict.fromkeys(str(a[1][0]) for a in addresses))
            if trace is not None:
                trace("dns.done", {"host": host, "addresses": [a[1][0] for a in addresses]})
        proxy = self.proxy
        # The proxy's own name is looked up here, with our resolver and within the time
        # limit: python-socks would call getaddrinfo itself, which nothing bounds in the
        # sync client and which an injected resolver would never see.
        proxy_addresses: list[str | None] = [None]
        if literal_addresses(proxy.host, proxy.port, 0) is None:
            if trace is not None:
                trace("dns.start", {"host": proxy.host})
            try:
                resolved = await resolve_within(
                    self.resolver, proxy.host, proxy.port, family=0, timeout=_left(timeout, started)
                )
            except ConnectTimeout as exc:
                # What was left of the timeout bounded the lookup; the message says the
                # timeout as configured, and whose name it was.
                message = resolve_timeout(f"the name of SOCKS proxy {proxy.display}", timeout)
                raise chained(message, exc) from exc
            proxy_addresses = [info[1][0] for info in resolved]
            if trace is not None:
                trace("dns.done", {"host": proxy.host, "addresses": proxy_addresses})
        address = (proxy.host, proxy.port)
        if trace is not None:
            trace("connect.start", {"address": address})
        sock: socket.socket | None = None
        failure: Exception | None = None
        for target in targets:
            for proxy_address in proxy_addresses:
                try:
                    sock = await async_tunnel(
                        proxy,
                        target,
                        port,
                        timeout=_left(timeout, started),
                        local_address=local_address,
                        proxy_address=proxy_address,
                    )
                    break
                except (SocksError, OSError) as exc:
                    failure = exc
                if not isinstance(failure, SocksConnectionError):
                    break  # the proxy answered: its other addresses would answer the same
            if sock is not None or getattr(failure, "error_code", None) not in TARGET_UNREACHABLE:
                break  # connected, or failed for a reason another address would not change
        if sock is None:
            assert failure is not None
            error = translate_error(proxy, host, port, timeout, failure)
            if trace is not None:
                trace("connect.failed", {"address": address, "error": error})
            raise error from failure
        try:
            tune_socket(sock, socket_options)
        except OSError as exc:
            sock.close()
            raise ProxyError(f"cannot set socket options on the tunnel to {host}: {exc}") from exc
        stream = await open_stream(sock, host_port(host, port), trace=trace)
        if trace is not None:
            trace("connect.done", {"address": address})
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
