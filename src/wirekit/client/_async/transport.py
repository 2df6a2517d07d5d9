"""The network transport: picks the route (direct, HTTP proxy, CONNECT tunnel, SOCKS) and
the pool for each request. Its one call, ``handle_async_request(request)``, is the seam the
client talks through (DESIGN invariant 3): mock, WSGI and ASGI transports plug in there too.
"""

from __future__ import annotations

import ssl
from base64 import b64encode
from typing import Any, Protocol, Self

from mypy_extensions import mypyc_attr

from wirekit._io.backends import AsyncDefaultBackend
from wirekit._io.base import AsyncNetworkBackend
from wirekit._io.tls import CertTypes, VerifyTypes, create_ssl_context
from wirekit._models.messages import Request, Response
from wirekit._models.url import URL, redact
from wirekit.client._async.connection import AsyncRoute, ProxyRoute
from wirekit.client._async.pool import AsyncConnectionPool
from wirekit.client.config import DEFAULT_LIMITS, DEFAULT_TIMEOUT, Limits
from wirekit.client.deadline import Deadline
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

    async def __aenter__(self) -> Self:
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
        verify: VerifyTypes = True,
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
        self._uds = uds
        protocol_limits: dict[str, Any] = {}
        if max_header_bytes is not None:
            protocol_limits["max_header_bytes"] = max_header_bytes
        if max_header_count is not None:
            protocol_limits["max_header_count"] = max_header_count
        if proxy is not None:
            self._proxies = explicit_proxies(proxy)
        elif trust_env:
            self._proxies = environment_proxies()
        else:
            self._proxies = ProxyConfig()
        # One pool for every route (direct, and one per proxy and scheme), so the limits
        # hold across them; created here, so threads sharing a new Client never race for it.
        self._pool = AsyncConnectionPool(
            limits=limits,
            local_address=local_address,
            socket_options=socket_options,
            uds=uds,
            family=family,
            protocol_limits=protocol_limits,
        )

    def use_environment_proxies(self, on: bool) -> None:
        """Take the proxies from the environment (again), or use none: ``Client.trust_env``
        set after construction. Connections already open stay in the pool, for their route."""
        self._proxies = environment_proxies() if on else ProxyConfig()

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """Built on first HTTPS use, then reused (contexts are cached per configuration)."""
        if self._ssl_context is None:
            self._ssl_context = create_ssl_context(
                self._verify, cert=self._cert, trust_env=self._trust_env
            )
        return self._ssl_context

    def _route_for(self, url: URL) -> AsyncRoute:
        proxies = self._proxies
        # uds= is where every request goes (curl --unix-socket and httpx do the same): a
        # proxy from the environment would get the requests and its password on that socket.
        proxy = (
            proxy_for(url, proxies) if (proxies.http or proxies.https) and not self._uds else None
        )
        key = None if proxy is None else f"{url.scheme}>{proxy}"
        routes = self._pool.routes
        route = routes.get(key)
        if route is None:
            backend = self._backend
            via: ProxyRoute | None = None
            if proxy is not None and proxy.scheme.startswith("socks"):
                from wirekit._io.socks import AsyncSocksBackend

                backend = AsyncSocksBackend(str(proxy), backend=backend)
            elif proxy is not None:
                via = _route(url, proxy, self.ssl_context if proxy.scheme == "https" else None)
            made = AsyncRoute(backend, via, self.ssl_context if url.scheme == "https" else None)
            # Threads sharing a new Client race here: one route wins for all of them.
            route = routes.setdefault(key, made)
        if url.scheme == "https" and route.ssl_context is None:
            route.ssl_context = self.ssl_context
        return route

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
        return await self._pool.handle_async_request(request, deadline, self._route_for(url), trace)

    async def aclose(self) -> None:
        await self._pool.aclose()

    def connection_counts(self) -> dict[str, int]:
        """Open and idle connections, over every route (for tests and diagnostics)."""
        pool = self._pool
        return {"open": pool.open_connections, "idle": pool.idle_connections}


def _route(url: URL, proxy: URL, ssl_context: ssl.SSLContext | None) -> ProxyRoute:
    headers: list[tuple[bytes, bytes]] = []
    if proxy.username:
        # URL.username/password are already percent-decoded (decoding again turned a
        # password "p%41ss", written p%2541ss, into "pAss").
        credentials = f"{proxy.username}:{proxy.password}".encode()
        headers.append((b"Proxy-Authorization", b"Basic " + b64encode(credentials)))
    mode = "tunnel" if url.scheme == "https" else "forward"
    return ProxyRoute(proxy, mode, headers, ssl_context)
