"""Host names through the system resolver: forward and reverse lookups, local names.

Uses ``getaddrinfo`` (so /etc/hosts, nsswitch and search domains behave as for any other
program), accepts URLs and internationalised names, and raises NameResolutionError naming
the host. Every function has an ``a``-prefixed async twin using the running loop's resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import idna

from wirekit.errors import NameResolutionError

__all__ = [
    "LocalNames",
    "ReverseCheck",
    "aforward_confirmed",
    "alocal_names",
    "alookup",
    "alookup_one",
    "areverse",
    "forward_confirmed",
    "host_of",
    "local_names",
    "lookup",
    "lookup_one",
    "reverse",
]

Family: TypeAlias = Literal["ipv4", "ipv6"] | None
_FAMILIES: dict[str | None, int] = {
    None: socket.AF_UNSPEC,
    "ipv4": socket.AF_INET,
    "ipv6": socket.AF_INET6,
}
AddrInfo: TypeAlias = tuple[Any, Any, int, str, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class ReverseCheck:
    """Result of :func:`forward_confirmed`.

    ``confirmed`` is True when ``name`` (the reverse name of ``ip``) resolves back to ``ip``.
    This is a consistency check, not authentication: whoever controls the reverse zone of an
    address and any forward zone can make it pass.
    """

    ip: str
    name: str | None
    forward_addresses: tuple[str, ...]
    confirmed: bool


@dataclass(frozen=True, slots=True)
class LocalNames:
    """This machine's host name, fully qualified name and primary (non-loopback) addresses."""

    hostname: str
    fqdn: str
    addresses: tuple[str, ...]


def host_of(host_or_url: str) -> str:
    """The bare host name or address in ``host_or_url``, IDN names converted to ASCII.

    Strips a scheme, user info, port and IPv6 brackets: ``"https://u@[::1]:8443/x"`` -> ``"::1"``.
    """
    text = host_or_url.strip()
    if "://" in text:
        try:
            host = urllib.parse.urlsplit(text).hostname
        except ValueError as exc:
            raise NameResolutionError(
                f"cannot read a host from {text!r}: {exc}", host=text
            ) from exc
        if not host:
            raise NameResolutionError(f"no host in URL {text!r}", host=text)
        text = _decode_zone(host)
    elif text.startswith("[") and "]" in text:
        text = _decode_zone(text[1 : text.index("]")])
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]  # "host:port"
    text = text.rstrip(".") if text not in (".", "") else text
    if not text:
        raise NameResolutionError("empty host name", host=host_or_url)
    if text.isascii():
        if ":" in text or _is_ip(text):
            return text
        _check_lengths(text, host_or_url)
        return text.lower()
    try:
        # UTS #46 mapping first (case folding, width), then IDNA 2008: what browsers do.
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise NameResolutionError(
            f"{host_or_url!r} is not a valid internationalised host name: {exc}", host=text
        ) from exc


def idna_host(host: str) -> str:
    """``host`` as the resolver must get it: unchanged when ASCII, else its IDNA 2008 form.

    getaddrinfo's own "idna" codec is IDNA 2003, which maps "faß.example" to another
    domain ("fass.example"); :func:`host_of` does what browsers do (UTS #46, IDNA 2008).
    Raises NameResolutionError for a name with no valid form.
    """
    return host if host.isascii() else host_of(host)


def _decode_zone(host: str) -> str:
    # RFC 6874: inside brackets a zone id's "%" is written "%25" ("[fe80::1%25eth0]").
    # A bare "%" (what people type, and what curl also takes) stays as it is.
    if "%" not in host:
        return host
    return urllib.parse.unquote(host)


def _check_lengths(name: str, original: str) -> None:
    # RFC 1035 §2.3.4: labels of at most 63 octets, names of at most 253 characters in text.
    # Checked here so a bad name fails at once, with a reason, and never reaches the network.
    if len(name) > 253:
        raise NameResolutionError(
            f"{original!r} is not a valid host name: longer than 253 characters", host=name
        )
    if any(len(label) > 63 or not label for label in name.split(".")):
        raise NameResolutionError(
            f"{original!r} is not a valid host name: empty label or label over 63 characters",
            host=name,
        )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _family(family: Family) -> int:
    try:
        return _FAMILIES[family]
    except KeyError:
        raise ValueError(f"family must be None, 'ipv4' or 'ipv6', not {family!r}") from None


def _flags(host: str) -> int:
    # AI_ADDRCONFIG: no IPv6 answers on a host without IPv6 configured. Not for literal
    # addresses, or "::1" would fail to "resolve" on an IPv4-only host.
    return 0 if _is_ip(host) else socket.AI_ADDRCONFIG


def _address_text(sockaddr: tuple[Any, ...]) -> str:
    """The address of a socket address, with its zone ("fe80::1%eth0") when it has one:
    a link-local address is unusable without it (connect() fails with EINVAL)."""
    address = str(sockaddr[0])
    if len(sockaddr) >= 4 and sockaddr[3] and "%" not in address:
        try:
            zone = socket.if_indextoname(sockaddr[3])
        except OSError:  # the interface went away: its index still works as a zone
            zone = str(sockaddr[3])
        address = f"{address}%{zone}"
    return address


def _unique_addresses(infos: Iterable[AddrInfo]) -> list[str]:
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(_address_text(info[4]), None)
    return list(seen)


def _resolution_error(host: str, exc: Exception) -> NameResolutionError:
    reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    return NameResolutionError(f"could not resolve host {host!r}: {reason}", host=host)


def lookup(host_or_url: str, *, family: Family = None, port: int | None = None) -> list[str]:
    """Every address the system resolver gives for a host, in its order, without repeats.

    ``host_or_url`` may be a host, an address, "host:port" or a URL. ``family`` limits the
    answers to "ipv4" or "ipv6". ``port`` is handed to the resolver as a connect would.
    """
    host = host_of(host_or_url)
    try:
        infos = socket.getaddrinfo(host, port, _family(family), socket.SOCK_STREAM, 0, _flags(host))
    except (socket.gaierror, UnicodeError) as exc:
        raise _resolution_error(host, exc) from exc
    return _unique_addresses(infos)


async def alookup(host_or_url: str, *, family: Family = None, port: int | None = None) -> list[str]:
    """Async :func:`lookup`, on the running event loop's resolver."""
    host = host_of(host_or_url)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            host, port, family=_family(family), type=socket.SOCK_STREAM, flags=_flags(host)
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise _resolution_error(host, exc) from exc
    return _unique_addresses(infos)


def _pick(addresses: list[str], prefer: Family) -> str:
    wanted = {"ipv4": 4, "ipv6": 6}.get(prefer or "")
    if wanted is not None:
        for address in addresses:
            if ipaddress.ip_address(address.split("%", 1)[0]).version == wanted:
                return address
    return addresses[0]


def lookup_one(host_or_url: str, *, prefer: Family = None, port: int | None = None) -> str:
    """One address for a host: the first of family ``prefer`` if any, else the first of all."""
    addresses = lookup(host_or_url, port=port)
    return _pick(addresses, prefer)


async def alookup_one(host_or_url: str, *, prefer: Family = None, port: int | None = None) -> str:
    """Async :func:`lookup_one`."""
    return _pick(await alookup(host_or_url, port=port), prefer)


def _reverse_target(ip: str) -> tuple[Any, ...]:
    if not _is_ip(ip):
        raise NameResolutionError(f"not an IP address for a reverse lookup: {ip!r}", host=ip)
    return (ip, 0)


def reverse(ip: str) -> str:
    """The name the system resolver gives for ``ip`` (PTR or /etc/hosts)."""
    try:
        name, _ = socket.getnameinfo(_reverse_target(ip), socket.NI_NAMEREQD)
    except OSError as exc:
        raise NameResolutionError(
            f"no reverse name for {ip}: {exc.strerror or exc}", host=ip
        ) from exc
    return name


async def areverse(ip: str) -> str:
    """Async :func:`reverse`."""
    loop = asyncio.get_running_loop()
    try:
        name, _ = await loop.getnameinfo(_reverse_target(ip), socket.NI_NAMEREQD)
    except OSError as exc:
        raise NameResolutionError(
            f"no reverse name for {ip}: {exc.strerror or exc}", host=ip
        ) from exc
    return name


def _same_ip(a: str, b: str) -> bool:
    return ipaddress.ip_address(a.split("%", 1)[0]) == ipaddress.ip_address(b.split("%", 1)[0])


def _check(ip: str, name: str | None, forward: list[str]) -> ReverseCheck:
    confirmed = any(_same_ip(ip, address) for address in forward)
    return ReverseCheck(ip=ip, name=name, forward_addresses=tuple(forward), confirmed=confirmed)


def forward_confirmed(ip: str) -> ReverseCheck:
    """Forward-confirmed reverse DNS: does the reverse name of ``ip`` resolve back to it?

    A consistency check (as mail servers do), never proof of identity. A missing reverse or
    forward answer gives ``confirmed=False`` rather than an error.
    """
    try:
        name = reverse(ip)
        forward = lookup(name)
    except NameResolutionError:
        return ReverseCheck(ip=ip, name=None, forward_addresses=(), confirmed=False)
    return _check(ip, name, forward)


async def aforward_confirmed(ip: str) -> ReverseCheck:
    """Async :func:`forward_confirmed`."""
    try:
        name = await areverse(ip)
        forward = await alookup(name)
    except NameResolutionError:
        return ReverseCheck(ip=ip, name=None, forward_addresses=(), confirmed=False)
    return _check(ip, name, forward)


def local_names() -> LocalNames:
    """Host name, FQDN and the non-loopback addresses of the up interfaces and host name."""
    # Imported here: interfaces reads /sys and /proc, which plain name lookups never need.
    from wirekit.net.interfaces import interfaces

    hostname = socket.gethostname()
    fqdn = socket.getfqdn(hostname)
    found: dict[str, None] = {}
    for interface in interfaces():
        if interface.is_up and not interface.is_loopback:
            for entry in interface.addresses:
                found.setdefault(entry.address, None)
    try:
        for address in lookup(hostname):
            if address.split("%", 1)[0] not in found:  # interfaces list no zone
                found.setdefault(address, None)
    except NameResolutionError:
        pass  # a host name missing from DNS and /etc/hosts is common on laptops
    primary = [a for a in found if not ipaddress.ip_address(a.split("%", 1)[0]).is_loopback]
    return LocalNames(hostname=hostname, fqdn=fqdn, addresses=tuple(primary))


async def alocal_names() -> LocalNames:
    """Async :func:`local_names` (the file reads run in a worker thread)."""
    return await asyncio.to_thread(local_names)
