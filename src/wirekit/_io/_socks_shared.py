"""What the sync and async SOCKS backends share: the proxy URL, the choice of address family,
socket tuning and the translation of ``python-socks`` errors into ours.

The backends themselves are in ``_async/socks.py`` (the source) and ``_sync/socks.py``
(generated from it by ``scripts/unasync.py``); ``wirekit._io.socks`` exports them.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from wirekit._io._shared import host_port
from wirekit._io.base import SocketOption
from wirekit.errors import ConnectTimeout, InvalidURL, ProxyError, WirekitError

__all__ = [
    "DEFAULT_SOCKS_PORT",
    "SocksProxyURL",
    "async_tunnel",
    "sync_tunnel",
    "translate_error",
    "tune_socket",
    "wanted_family",
]

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
    # Kept out of the repr: tracebacks with locals (Sentry, rich, pytest --showlocals) show it.
    password: str | None = field(repr=False)

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
        for value in (username, password):
            # python-socks sends them as ASCII with a one-byte length (RFC 1929 allows
            # 255 bytes): anything else would fail mid-handshake with a bare ValueError.
            if value is not None and (not value.isascii() or len(value) > 255):
                raise InvalidURL(
                    f"SOCKS proxy URL {scheme}://{host_port(parts.hostname, port)}: the user "
                    "name and password must be ASCII, at most 255 characters each"
                )
        return cls(version, remote_dns, parts.hostname, port, username, password)

    @property
    def display(self) -> str:
        """The proxy address without its password, for messages and traces."""
        scheme = {(5, False): "socks5", (5, True): "socks5h", (4, False): "socks4"}.get(
            (self.version, self.remote_dns), "socks4a"
        )
        return f"{scheme}://{host_port(self.host, self.port)}"

    def proxy_arguments(self, address: str | None = None) -> dict[str, object]:
        """python-socks' Proxy arguments; ``address``: the proxy's IP, resolved already."""
        from python_socks import ProxyType

        return {
            "proxy_type": ProxyType.SOCKS5 if self.version == 5 else ProxyType.SOCKS4,
            "host": self.host if address is None else address,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "rdns": self.remote_dns,
        }


#: SOCKS5 replies (RFC 1928 §6) that blame the address asked for, not the proxy: network
#: or host unreachable, connection refused, TTL expired, address type not supported.
TARGET_UNREACHABLE = frozenset({3, 4, 5, 6, 8})


def translate_error(
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
        # From the errno when there is one: asyncio's strerror is "Connect call failed
        # (...)", the sync one "Connection refused"; both clients say the same.
        code = getattr(exc, "errno", None)
        reason = os.strerror(code) if isinstance(code, int) and code > 0 else exc.strerror or exc
        return ProxyError(f"cannot connect to SOCKS proxy {proxy.display}: {reason}")
    return ProxyError(f"SOCKS proxy {proxy.display} could not connect to {target}: {exc}")


def tune_socket(sock: socket.socket, socket_options: Iterable[SocketOption] | None) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for level, option, value in socket_options or ():
        sock.setsockopt(level, option, value)


def wanted_family(proxy: SocksProxyURL, family: int) -> int:
    """The address family to resolve the target in, for local DNS."""
    # SOCKS4 carries only IPv4 addresses (SOCKS4a carries names instead).
    return socket.AF_INET if proxy.version == 4 else family


async def async_tunnel(
    proxy: SocksProxyURL,
    host: str,
    port: int,
    *,
    timeout: float | None,
    local_address: str | None,
    proxy_address: str | None = None,
) -> socket.socket:
    """A socket tunnelled to ``host:port`` through ``proxy``; ``timeout`` bounds it all
    (python-socks' asyncio Proxy runs the whole exchange under one timeout)."""
    from python_socks.async_.asyncio import Proxy

    connector = Proxy(**proxy.proxy_arguments(proxy_address))  # type: ignore[arg-type]
    local = None if local_address is None else (local_address, 0)
    return await connector.connect(host, port, timeout=timeout, local_addr=local)


def sync_tunnel(
    proxy: SocksProxyURL,
    host: str,
    port: int,
    *,
    timeout: float | None,
    local_address: str | None,
    proxy_address: str | None = None,
) -> socket.socket:
    """The blocking twin of ``async_tunnel`` (``scripts/unasync.py`` renames the call).

    python-socks' sync Proxy only sets a timeout on each recv, so a proxy that sends its
    reply a byte at a time could hold the exchange for any length of time: a watchdog
    shuts the socket down when ``timeout`` runs out, and the failure that follows is
    reported as the timeout it is.
    """
    from python_socks import ProxyConnectionError, ProxyTimeoutError
    from python_socks.sync import Proxy

    local = None if local_address is None else (local_address, 0)
    # (No local holding the arguments: a frame's locals are what error trackers such as
    # Sentry record, and they include the password.)
    if timeout is None:
        connector = Proxy(**proxy.proxy_arguments(proxy_address))  # type: ignore[arg-type]
        return connector.connect(host, port, timeout=timeout, local_addr=local)
    watchdog = _Watchdog(proxy, local, ProxyConnectionError, ProxyTimeoutError)
    # The watchdog opens the TCP connection to the proxy (python-socks asks a "forward"
    # proxy for it), so it holds the socket it may have to shut down.
    connector = Proxy(**proxy.proxy_arguments(proxy_address), forward=watchdog)  # type: ignore[arg-type]
    timer = threading.Timer(timeout, watchdog.expire)
    timer.daemon = True
    timer.start()
    try:
        sock = connector.connect(host, port, timeout=timeout)
    except Exception as exc:
        if watchdog.finish():
            raise ProxyTimeoutError(f"Proxy connection timed out: {timeout}") from exc
        raise
    finally:
        timer.cancel()
    if watchdog.finish():  # ran out just as the reply completed: too late all the same
        sock.close()
        raise ProxyTimeoutError(f"Proxy connection timed out: {timeout}")
    return sock


class _Watchdog:
    """Connects to the proxy for python-socks (as its ``forward``) and shuts that socket
    down when the time runs out (``expire``, from a timer thread)."""

    def __init__(
        self,
        proxy: SocksProxyURL,
        local: tuple[str, int] | None,
        connection_error: type[OSError],
        timeout_error: type[OSError],
    ) -> None:
        self._proxy = proxy
        self._local = local
        self._connection_error = connection_error
        self._timeout_error = timeout_error
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._expired = False
        self._finished = False

    def connect(self, dest_host: str, dest_port: int, timeout: float | None) -> socket.socket:
        """What python-socks calls on a forward proxy: here, the TCP connection itself (as
        python-socks makes it, errors included)."""
        try:
            sock = socket.create_connection(
                (dest_host, dest_port), timeout, source_address=self._local
            )
        except TimeoutError as exc:
            raise self._timeout_error(f"Proxy connection timed out: {timeout}") from exc
        except OSError as exc:
            message = f"Could not connect to proxy {dest_host}:{dest_port} [{exc.strerror}]"
            raise self._connection_error(exc.errno, message) from exc
        with self._lock:
            self._sock = sock
            expired = self._expired
        if expired:
            sock.close()
            raise self._timeout_error(f"Proxy connection timed out: {timeout}")
        return sock

    def expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._expired = True
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked recv or send
            except OSError:
                pass

    def finish(self) -> bool:
        """The exchange is over: no shutdown from now on. Whether the time ran out."""
        with self._lock:
            self._finished = True
            return self._expired
