"""IP address helpers: classify an address, test network membership, split "host:port".

Pure functions over :mod:`ipaddress` (no I/O except the services database read by
:func:`service_port`). Bad input raises :class:`InvalidAddress`, which names what was given.
"""

from __future__ import annotations

import enum
import ipaddress
import socket
from collections.abc import Iterable
from typing import NamedTuple, TypeAlias

from wirekit.errors import WirekitError

__all__ = [
    "AddressKind",
    "HostPort",
    "InvalidAddress",
    "classify",
    "in_network",
    "parse_hostport",
    "service_port",
]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
NetworkSpec: TypeAlias = "str | IPNetwork | Iterable[str | IPNetwork]"

# Documentation ranges: RFC 5737 (IPv4), RFC 3849 and RFC 9637 (IPv6). ``ipaddress`` folds
# them into "private", which would tell a user an example address is on their LAN.
_DOCUMENTATION_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("192.0.2.0/24"),
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("203.0.113.0/24"),
    ipaddress.ip_network("2001:db8::/32"),
    ipaddress.ip_network("3fff::/20"),
)


class InvalidAddress(WirekitError, ValueError):
    """An address, network, "host:port" string or service name could not be understood."""


class AddressKind(enum.StrEnum):
    """What an IP address is for. Compares equal to its plain string value."""

    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    MULTICAST = "multicast"
    GLOBAL = "global"
    DOCUMENTATION = "documentation"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"


class HostPort(NamedTuple):
    """A host (name or address, IPv6 without brackets) and a port (None when absent)."""

    host: str
    port: int | None


def _address(ip: str | IPAddress) -> IPAddress:
    if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        address: IPAddress = ip
    else:
        try:
            # A zone ("fe80::1%eth0") says which link, not what kind of address it is.
            address = ipaddress.ip_address(ip.split("%", 1)[0].strip("[]"))
        except ValueError:
            raise InvalidAddress(f"not an IP address: {ip!r}") from None
    # ::ffff:10.0.0.1 is an IPv4 address carried in IPv6 (RFC 4291 §2.5.5.2): judge the v4.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def classify(ip: str | IPAddress) -> AddressKind:
    """Say what kind of address ``ip`` is (see :class:`AddressKind`).

    >>> classify("127.0.0.1"), classify("192.0.2.7"), classify("fe80::1")
    (<AddressKind.LOOPBACK: 'loopback'>, <AddressKind.DOCUMENTATION: 'documentation'>, \
<AddressKind.LINK_LOCAL: 'link-local'>)
    """
    address = _address(ip)
    if address.is_unspecified:
        return AddressKind.UNSPECIFIED
    if address.is_loopback:
        return AddressKind.LOOPBACK
    if any(address in network for network in _DOCUMENTATION_NETWORKS):
        return AddressKind.DOCUMENTATION
    if address.is_link_local:
        return AddressKind.LINK_LOCAL
    if address.is_multicast:
        return AddressKind.MULTICAST
    if address.is_reserved:
        # Checked before "private": ipaddress counts 240.0.0.0/4 (IETF reserved) as private.
        return AddressKind.RESERVED
    if address.is_private:
        return AddressKind.PRIVATE
    if address.is_global:
        return AddressKind.GLOBAL
    # Shared address space (100.64/10), 240/4, benchmarking ranges...: not usable as a
    # public destination, not a LAN either.
    return AddressKind.RESERVED


def _networks(spec: NetworkSpec) -> list[IPNetwork]:
    items: Iterable[str | IPNetwork]
    if isinstance(spec, (str, ipaddress.IPv4Network, ipaddress.IPv6Network)):
        items = [spec]
    else:
        items = spec
    networks: list[IPNetwork] = []
    for item in items:
        if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            networks.append(item)
            continue
        try:
            # strict=False: "10.1.2.3/8" is a common way to write "the /8 around 10.1.2.3".
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise InvalidAddress(f"not an IP network: {item!r}") from None
    return networks


def in_network(ip: str | IPAddress, networks: NetworkSpec) -> bool:
    """True if ``ip`` is inside ``networks`` (one CIDR string or network, or a list of them).

    An IPv4-mapped IPv6 address matches IPv4 networks; a family mismatch is simply False.
    """
    address = _address(ip)
    return any(
        address.version == network.version and address in network for network in _networks(networks)
    )


def parse_hostport(text: str, default_port: int | None = None) -> HostPort:
    """Split ``"host:port"``, ``"[v6]:port"``, ``"[v6]"``, a bare IPv6 address or a host.

    A missing port gives ``default_port``. IPv6 addresses come back without brackets.

    >>> parse_hostport("[::1]:8080"), parse_hostport("::1", 53), parse_hostport("example.org")
    (HostPort(host='::1', port=8080), HostPort(host='::1', port=53), \
HostPort(host='example.org', port=None))
    """
    original = text
    text = text.strip()
    if not text:
        raise InvalidAddress("empty host:port")
    port_text: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise InvalidAddress(f"missing ']' in {original!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise InvalidAddress(f"unexpected text after ']' in {original!r}")
            port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise InvalidAddress(f"not an IPv6 address inside brackets: {original!r}") from None
    elif text.count(":") > 1:
        # Several colons and no brackets: a bare IPv6 address, which cannot carry a port
        # (RFC 3986 §3.2.2 requires the brackets for exactly this ambiguity).
        try:
            ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            raise InvalidAddress(
                f"not an IPv6 address (use [address]:port to add a port): {original!r}"
            ) from None
        host = text
    elif ":" in text:
        host, port_text = text.split(":", 1)
    else:
        host = text
    if not host:
        raise InvalidAddress(f"missing host in {original!r}")
    if port_text is None:
        return HostPort(host, default_port)
    port = _port_number(port_text)
    if port is None:
        raise InvalidAddress(f"port must be a number from 0 to 65535 in {original!r}")
    return HostPort(host, port)


def _is_port_text(text: str) -> bool:
    # ASCII digits only: str.isdigit() also takes "²" and "٨٠", which int() refuses or
    # reads as another number, and no URL or host:port syntax allows them (RFC 3986 §3.2.3).
    return text.isascii() and text.isdigit()


def _port_number(text: str) -> int | None:
    """The port in ``text`` (ASCII digits, 0-65535), or None. Leading zeros are allowed,
    up to 5 digits in all: longer is never a port, and int() of a huge string is slow."""
    if not _is_port_text(text) or len(text) > 5:
        return None
    port = int(text)
    return port if port <= 65535 else None


def service_port(name: str | int, proto: str = "tcp") -> int:
    """The port number of a service name ("https" -> 443), from the system services database.

    A number (or numeric string) is returned as is, after a range check.
    """
    if isinstance(name, int):
        if not 0 <= name <= 65535:
            raise InvalidAddress(f"port out of range 0-65535: {name!r}")
        return int(name)
    if _is_port_text(name):
        port = _port_number(name)
        if port is None:
            raise InvalidAddress(f"port out of range 0-65535: {name[:20]!r}")
        return port
    if not name.isascii():
        # Service names are ASCII (RFC 6335 §5.1); "٤٤٣" is no name and no port either.
        raise InvalidAddress(f"unknown service name {name[:40]!r} for protocol {proto!r}")
    try:
        return socket.getservbyname(name.lower(), proto)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        raise InvalidAddress(f"unknown service name {name!r} for protocol {proto!r}") from None
