"""Recover the real client, scheme and host from headers set by trusted reverse proxies.

Reads one family of headers, the one the proxy sets: ``X-Forwarded-For/-Proto`` (the
default, what nginx and most proxies send) or ``Forwarded`` (RFC 7239), and only when the
directly connected peer is a trusted proxy: anyone else could forge them. The other family
is ignored: a proxy passes through what it does not set, so a client's own ``Forwarded``
must not override the ``X-Forwarded-For`` its proxy appended. The forwarded host
(``X-Forwarded-Host``, ``host=``) replaces Host only when asked for (``forwarded_host``),
as werkzeug's ProxyFix does: a proxy that sets Host itself passes the client's through.
Garbage never raises; it stops the walk and the last address known to be good is kept.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["DEFAULT_TRUSTED", "HEADER_FORMATS", "MAX_FORWARDED_HOPS", "ProxyHeadersPolicy"]

#: The header families a proxy may set (``ServerConfig.forwarded_headers``).
HEADER_FORMATS: Final = ("x-forwarded", "forwarded")

#: Trust only a proxy on the same machine unless told otherwise (as uvicorn and gunicorn do).
DEFAULT_TRUSTED: Final = ("127.0.0.1", "::1")
#: Hops examined per header; longer chains are cut to their rightmost (closest) hops, so a
#: client cannot make every request cost a long parse by sending a huge list.
MAX_FORWARDED_HOPS: Final = 32

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 7230 §3.2.6 token (RFC 7239 §4 reuses it for parameter names and unquoted values).
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PAIR = re.compile(rf"\s*({_TOKEN})=({_TOKEN}|{_QUOTED})\s*")
# RFC 7239 §6.3: obfuscated identifiers start with "_"; §6.2: "unknown".
_OBFUSCATED = re.compile(r"_[A-Za-z0-9._\-]+")
# Host names as DNS uses them (RFC 1123 letters, digits, "-", "."; "_" seen in practice)
# or a bracketed IPv6 literal, with an optional port. Stricter than RFC 3986 reg-name on
# purpose: commas, quotes or spaces in a forwarded host are never legitimate.
_HOST = re.compile(r"(?:[A-Za-z0-9\-._]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
#: Forwarded protos we take, as the scheme of an HTTP request: a proxy (Traefik) that says
#: "wss" on a WebSocket upgrade means https (a websocket scope turns it back into wss).
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


class ProxyHeadersPolicy:
    """Which peers may speak for the client, and how to read what they say.

    ``trusted`` holds addresses (``"10.0.0.1"``), networks (``"10.0.0.0/8"``), ``"*"``
    (trust every peer: only behind a proxy that always overwrites these headers), and
    ``"unix"`` (trust peers on a Unix socket, where ``peer`` is ``None``).

    ``header_format`` names the one family read (``HEADER_FORMATS``); the other is ignored,
    so a client cannot slip a forged value past a proxy that sets just one.
    ``forwarded_host``: let the forwarded host replace the request's Host.
    """

    __slots__ = ("_forwarded_host", "_header_format", "_networks", "_trust_all", "_trust_unix")

    def __init__(
        self,
        trusted: Iterable[str] = DEFAULT_TRUSTED,
        *,
        header_format: str = "x-forwarded",
        forwarded_host: bool = False,
    ) -> None:
        if header_format not in HEADER_FORMATS:
            raise ValueError(
                f"forwarded headers format {header_format!r} is not one of {', '.join(HEADER_FORMATS)}"
            )
        self._header_format = header_format
        self._forwarded_host = forwarded_host
        networks: list[_Network] = []
        self._trust_all = False
        self._trust_unix = False
        for entry in [trusted] if isinstance(trusted, str) else trusted:
            entry = entry.strip()
            if entry == "*":
                self._trust_all = True
            elif entry == "unix":
                self._trust_unix = True
            else:
                try:
                    network = ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(
                        f"trusted proxy {entry!r} is not an address, a network, '*' or 'unix'"
                    ) from None
                networks.append(_unmapped(network))
        self._networks = tuple(networks)

    def is_trusted(self, host: str | None) -> bool:
        """Whether ``host`` (an address as text; ``None`` for a Unix socket) is trusted."""
        if host is None:
            return self._trust_unix or self._trust_all
        address = _parse_ip(host)
        if address is None:
            return False
        if self._trust_all:
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._networks)

    def resolve(
        self,
        peer: tuple[str, int] | None,
        scheme: str,
        headers: Sequence[tuple[bytes, bytes]],
    ) -> tuple[tuple[str, int] | None, str, str | None]:
        """Return ``(client, scheme, host)`` for a request from ``peer``.

        ``host`` is the forwarded Host, or ``None`` when no trusted proxy set one (keep the
        request's own ``Host``). An untrusted peer gets back exactly what it passed in.
        """
        if not self.is_trusted(peer[0] if peer is not None else None):
            return peer, scheme, None
        forwarded: list[bytes] = []
        for_values: list[bytes] = []
        proto_values: list[bytes] = []
        host_values: list[bytes] = []
        for name, value in headers:
            lower = name.lower()
            if lower == b"forwarded":
                forwarded.append(value)
            elif lower == b"x-forwarded-for":
                for_values.append(value)
            elif lower == b"x-forwarded-proto":
                proto_values.append(value)
            elif lower == b"x-forwarded-host":
                host_values.append(value)
        if self._header_format == "forwarded":
            client, scheme, host = self._from_forwarded(peer, scheme, forwarded)
        else:
            client, scheme, host = self._from_x_forwarded(
                peer, scheme, for_values, proto_values, host_values
            )
        return client, scheme, host if self._forwarded_host else None

    # -- RFC 7239 --------------------------------------------------------------------------
    def _from_forwarded(
        self, peer: tuple[str, int] | None, scheme: str, values: list[bytes]
    ) -> tuple[tuple[str, int] | None, str, str | None]:
        elements = _split_elements(values)
        client, chosen = peer, None
        # Walk from the proxy closest to us towards the client; the first hop we do not
        # trust is the client (anything left of it may be forged by that client).
        for element in reversed(elements):
            if element is None:
                break
            node = element.get("for")
            if node is None:
                # A proxy that states proto/host but not who connected: keep its values and
                # the client found so far; nothing further left can be attributed.
                chosen = element
                break
            address = _parse_node(node)
            if address is None:
                break
            client, chosen = address, element
            if not self.is_trusted(address[0]):
                break
        if chosen is None:
            return peer, scheme, None
        proto = chosen.get("proto", "").lower()
        host = chosen.get("host")
        return (
            client,
            _SCHEMES.get(proto, scheme),
            host if host is not None and _HOST.fullmatch(host) else None,
        )

    # -- X-Forwarded-* --------------------------------------------------------------------
    def _from_x_forwarded(
        self,
        peer: tuple[str, int] | None,
        scheme: str,
        for_values: list[bytes],
        proto_values: list[bytes],
        host_values: list[bytes],
    ) -> tuple[tuple[str, int] | None, str, str | None]:
        hops = _split_list(for_values)
        client = peer
        chosen_index: int | None = None
        for index in range(len(hops) - 1, -1, -1):
            address = _parse_node(hops[index], allow_bare_ipv6=True)
            if address is None:
                break
            client, chosen_index = address, index
            if not self.is_trusted(address[0]):
                break
        protos = _split_list(proto_values)
        hosts = _split_list(host_values)
        proto = _pick(protos, chosen_index, len(hops)).lower()
        host = _pick(hosts, chosen_index, len(hops))
        return (
            client,
            _SCHEMES.get(proto, scheme),
            host if host and _HOST.fullmatch(host) else None,
        )


def _pick(values: list[str], index: int | None, hop_count: int) -> str:
    """The value matching the chosen hop when each proxy appended one, else the last."""
    if not values:
        return ""
    if index is not None and len(values) == hop_count:
        return values[index]
    return values[-1]


def _split_list(values: list[bytes]) -> list[str]:
    items = [
        item.strip()
        for value in values
        for item in value.decode("latin-1").split(",")
        if item.strip()
    ]
    return items[-MAX_FORWARDED_HOPS:]


def _split_elements(values: list[bytes]) -> list[dict[str, str] | None]:
    """RFC 7239 §4 elements as dicts of lower-cased parameter names; ``None`` for garbage."""
    elements: list[dict[str, str] | None] = []
    for raw in values:
        text = raw.decode("latin-1")
        for element_text in _split_outside_quotes(text, ","):
            if not element_text.strip():
                continue
            element: dict[str, str] | None = {}
            for pair_text in _split_outside_quotes(element_text, ";"):
                if not pair_text.strip():
                    continue  # §4: forwarded-pair lists may have empty items ("a=b;;c=d;")
                match = _PAIR.fullmatch(pair_text)
                if match is None or element is None:
                    element = None
                    continue
                name, value = match.group(1).lower(), match.group(2)
                if value.startswith('"'):
                    value = re.sub(r"\\(.)", r"\1", value[1:-1])
                if name in element:  # §4: each parameter at most once per element
                    element = None
                    continue
                element[name] = value
            elements.append(element)
    return elements[-MAX_FORWARDED_HOPS:]


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for character in text:
        if escaped:
            escaped = False
        elif quoted and character == "\\":
            escaped = True
        elif character == '"':
            quoted = not quoted
        elif character == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(character)
    parts.append("".join(current))
    return parts


_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def _unmapped(network: _Network) -> _Network:
    """``::ffff:10.0.0.0/104`` as ``10.0.0.0/8``: peers are compared in their IPv4 form (a
    dual-stack socket shows an IPv4 proxy as ``::ffff:a.b.c.d``)."""
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _parse_ip(text: str) -> _Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _parse_node(text: str, *, allow_bare_ipv6: bool = False) -> tuple[str, int] | None:
    """A node (RFC 7239 §6) as (host, port): IPv4, "[IPv6]", "unknown" or "_obfuscated",
    each optionally with ":port" (port 0 when absent or obfuscated). ``None`` for garbage."""
    text = text.strip()
    port_text = ""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            return None
        host, rest = text[1:close], text[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
        address = _parse_ip(host)
        if not isinstance(address, ipaddress.IPv6Address):
            return None
        return _with_port(str(address), port_text)
    if allow_bare_ipv6 and text.count(":") > 1:
        address = _parse_ip(text)
        return (str(address), 0) if isinstance(address, ipaddress.IPv6Address) else None
    host, _, port_text = text.partition(":")
    if host == "unknown" or _OBFUSCATED.fullmatch(host):
        return _with_port(host, port_text)
    address = _parse_ip(host)
    if not isinstance(address, ipaddress.IPv4Address):
        return None
    return _with_port(str(address), port_text)


def _with_port(host: str, port_text: str) -> tuple[str, int] | None:
    if not port_text or _OBFUSCATED.fullmatch(port_text):
        return host, 0
    if port_text.isascii() and port_text.isdigit() and len(port_text) <= 5:
        port = int(port_text)
        if port <= 65535:
            return host, port
    return None
