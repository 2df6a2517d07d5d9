"""The network transport: picks the route (direct, HTTP proxy, CONNECT tunnel, SOCKS) and
the pool for each request. Its one call, ``handle_async_request(request)``, is the seam the
client talks through (DESIGN invariant 3): mock, WSGI and ASGI transports plug in there too.
"""

from __future__ import annotations

import ssl
from base64 import b64encode
from typing import Any, Protocol

from mypy_extensions import mypyc_attr

from wirekit._io.backends import AsyncDefaultBackend
from wirekit._io.base import AsyncNetworkBackend
from wirekit._io.tls import CertTypes, create_ssl_context
from wirekit._models.messages import Request, Response
from wirekit._models.url import URL, redact
from wirekit.client._async.connection import ProxyRoute
from wirekit.client._async.pool import AsyncConnectionPool, close_all
from wirekit.client.config import DEFAULT_LIMITS, DEFAULT_TIMEOUT, Deadline, Limits
from wirekit.client.proxies import ProxyConfig, environment_proxies, explicit_proxies, proxy_for
from wirekit.errors import InvalidURL

__all__ = ["AsyncBaseTransport", "AsyncHTTPTransport", "AsyncTransport"]


class AsyncTransport(Protocol):
    """What a client calls on its transport. ``AsyncBaseTransport`` is the class to subclass;
    any object with these two methods (a wrapper, a recorder) will do as well."""

    async def handle_async_request(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...


@mypyc_attr(allow_interpreted_subclasses=True)
class AsyncBaseTransport:
    """What a client needs from a transport: one call, and closing."""

    async def handle_async_request(self, request: Request) -> Response:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> AsyncBaseTransport:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()


@mypyc_attr(allow_interpreted_subclasses=True)
class AsyncHTTPTransport(AsyncBaseTransport):
    """HTTP/1.1 over TCP or TLS, through proxies when asked, with pooled keep-alive.

    ``verify``: True (OS trust store, certifi fallback), False, a CA bundle path or an
    ``ssl.SSLContext``. ``cert``: a client certificate file, or ``(certfile, keyfile)``.
    ``proxy``: a proxy URL (http, https, socks5, socks5h, socks4, socks4a) or None; with
    ``trust_env`` the environment's proxies apply when ``proxy`` is None.
    ``family``: 0 (Happy Eyeballs over IPv6 and IPv4), ``socket.AF_INET`` or ``AF_INET6``.
    ``resolver``: replaces the system resolver (e.g. ``wirekit.net.CachingResolver``);
    ``backend``: replaces the whole network layer (tests inject faults here).
    """

    def __init__(
        self,
        *,
        verify: bool | str | ssl.SSLContext = True,
        cert: CertTypes | None = None,
        trust_env: bool = True,
        proxy: Any = None,
        limits: Limits = DEFAULT_LIMITS,
        local_address: str | None = None,
        uds: str | None = None,
        family: int = 0,
        socket_options: Any = None,
        backend: AsyncNetworkBackend | None = None,
        resolver: Any = None,
        max_header_bytes: int | None = None,
        max_header_count: int | None = None,
    ) -> None:
        self._verify = verify
        self._cert = cert
        self._trust_env = trust_env
        self._ssl_context: ssl.SSLContext | None = None
        if backend is None:
            backend = AsyncDefaultBackend(resolver=resolver)
        self._backend = backend
        self._limits = limits
        self._local_address = local_address
        self._uds = uds
        self._family = family
        self._socket_options = socket_options
        protocol_limits: dict[str, Any] = {}
        if max_header_bytes is not None:
            protocol_limits["max_header_bytes"] = max_header_bytes
        if max_header_count is not None:
            protocol_limits["max_header_count"] = max_header_count
        self._protocol_limits = protocol_limits
        if proxy is not None:
            self._proxies = explicit_proxies(proxy)
        elif trust_env:
            self._proxies = environment_proxies()
        else:
            self._proxies = ProxyConfig()
        # One pool per route: direct, and one per proxy URL (keyed by its string form).
        self._pools: dict[str | None, AsyncConnectionPool] = {}
        self._closed = False

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """Built on first HTTPS use, then reused (contexts are cached per configuration)."""
        if self._ssl_context is None:
            self._ssl_context = create_ssl_context(
                self._verify, cert=self._cert, trust_env=self._trust_env
            )
        return self._ssl_context

    def _pool_for(self, url: URL) -> AsyncConnectionPool:
        proxies = self._proxies
        # uds= is where every request goes (curl --unix-socket and httpx do the same): a
        # proxy from the environment would get the requests and its password on that socket.
        proxy = (
            proxy_for(url, proxies) if (proxies.http or proxies.https) and not self._uds else None
        )
        key = None if proxy is None else f"{url.scheme}>{proxy}"
        pool = self._pools.get(key)
        if pool is None:
            backend = self._backend
            route = None
            if proxy is not None and proxy.scheme.startswith("socks"):
                from wirekit._io.socks import AsyncSocksBackend

                backend = AsyncSocksBackend(str(proxy), backend=backend)
            elif proxy is not None:
                route = _route(url, proxy, self.ssl_context if proxy.scheme == "https" else None)
            pool = AsyncConnectionPool(
                backend=backend,
                ssl_context=self.ssl_context if url.scheme == "https" else None,
                limits=self._limits,
                proxy=route,
                local_address=self._local_address,
                socket_options=self._socket_options,
                uds=self._uds,
                family=self._family,
                protocol_limits=self._protocol_limits,
            )
            # Threads sharing a new Client race here: one pool wins for all of them (a
            # replaced one kept its connection open, unclosed, and its own limits).
            pool = self._pools.setdefault(key, pool)
            if self._closed:
                # Another thread closed the client in the middle of this request (between
                # redirect hops or retries): no new pool, whose connection nothing would close.
                self._pools.pop(key, None)
                raise RuntimeError("the client has been closed")
        elif url.scheme == "https" and pool._ssl_context is None:
            pool._ssl_context = self.ssl_context
        return pool

    async def handle_async_request(self, request: Request) -> Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise InvalidURL(
                f"unsupported URL scheme {url.scheme!r} in {redact(str(url))} (http, https)"
            )
        if not url.host:
            raise InvalidURL(f"URL {redact(str(url))} has no host")
        deadline = request.extensions.get("deadline")
        if deadline is None:
            deadline = Deadline(request.extensions.get("timeout", DEFAULT_TIMEOUT))
        if deadline.url is None:  # used without a client: name the host all the same
            deadline.url = url
        trace = request.extensions.get("trace")
        pool = self._pool_for(url)
        return await pool.handle_async_request(request, deadline, trace)

    async def aclose(self) -> None:
        self._closed = True
        pools, self._pools = list(self._pools.values()), {}
        failure = await close_all(pools)  # interrupted: the rest are closed without I/O
        if failure is not None:
            raise failure

    def connection_counts(self) -> dict[str, int]:
        """Open and idle connections over every pool (for tests and diagnostics)."""
        pools = self._pools.values()
        return {
            "open": sum(p.open_connections for p in pools),
            "idle": sum(p.idle_connections for p in pools),
        }


def _route(url: URL, proxy: URL, ssl_context: ssl.SSLContext | None) -> ProxyRoute:
    headers: list[tuple[bytes, bytes]] = []
    if proxy.username:
        # URL.username/password are already percent-decoded (decoding again turned a
        # password "p%41ss", written p%2541ss, into "pAss").
        credentials = f"{proxy.username}:{proxy.password}".encode()
        headers.append((b"Proxy-Authorization", b"Basic " + b64encode(credentials)))
    mode = "tunnel" if url.scheme == "https" else "forward"
    return ProxyRoute(proxy, mode, headers, ssl_context)
