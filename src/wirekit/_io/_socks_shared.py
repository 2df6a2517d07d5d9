"""What the sync and async SOCKS backends share: the proxy URL, the choice of address family,
socket tuning and the translation of ``python-socks`` errors into ours.

The backends themselves are in ``_async/socks.py`` (the source) and ``_sync/socks.py``
(generated from it by ``scripts/unasync.py``); ``wirekit._io.socks`` exports them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from wirekit._io._shared import host_port
from wirekit._io.base import SocketOption
from wirekit.errors import ConnectTimeout, InvalidURL, ProxyError, WirekitError

__all__ = ["DEFAULT_SOCKS_PORT", "SocksProxyURL", "translate_error", "tune_socket", "wanted_family"]

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
        return ProxyError(f"cannot connect to SOCKS proxy {proxy.display}: {exc.strerror or exc}")
    return ProxyError(f"SOCKS proxy {proxy.display} could not connect to {target}: {exc}")


def tune_socket(sock: socket.socket, socket_options: Iterable[SocketOption] | None) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for level, option, value in socket_options or ():
        sock.setsockopt(level, option, value)


def wanted_family(proxy: SocksProxyURL, family: int) -> int:
    """The address family to resolve the target in, for local DNS."""
    # SOCKS4 carries only IPv4 addresses (SOCKS4a carries names instead).
    return socket.AF_INET if proxy.version == 4 else family
