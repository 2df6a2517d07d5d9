"""A TTL cache in front of the system resolver (getaddrinfo), usable as the client resolver.

getaddrinfo reports no TTL, so answers live for a configured time; definite failures
("no such name") are cached for a shorter time, temporary ones never. Thread-safe, bounded
in entries (least recently used go first), with an injectable clock and lookup function.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from wirekit.errors import NameResolutionError
from wirekit.net.names import idna_host

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_NEGATIVE_TTL",
    "DEFAULT_TTL",
    "CachingResolver",
    "ResolvedAddress",
]

#: Seconds a positive answer is reused. getaddrinfo hides the real TTL; one minute is the
#: order of what browsers use (Chrome keeps host-cache entries for about a minute).
DEFAULT_TTL = 60.0
#: Seconds a "no such name" answer is reused, so a typo in a loop does not hammer DNS.
DEFAULT_NEGATIVE_TTL = 5.0
#: Cached (host, port, family) keys kept at most; the least recently used is dropped.
DEFAULT_MAX_ENTRIES = 1024

#: (address family, socket address) as ``socket.connect`` takes it.
ResolvedAddress: TypeAlias = tuple[int, tuple[Any, ...]]
GetAddrInfo: TypeAlias = Callable[..., list[tuple[Any, Any, int, str, tuple[Any, ...]]]]

# Failures that mean "this name does not exist" and so are worth remembering. EAI_AGAIN
# (server unreachable, try later) must not be cached, or a short outage lasts a full TTL.
_DEFINITE_FAILURES = {
    getattr(socket, name)
    for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY", "EAI_FAIL")
    if hasattr(socket, name)
}


@dataclass(slots=True)
class _Entry:
    expires: float
    addresses: list[ResolvedAddress] | None
    error: str | None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class CachingResolver:
    """Resolve (host, port) to socket addresses, remembering answers for ``ttl`` seconds.

    >>> resolver = CachingResolver(ttl=30)
    >>> resolver.resolve("localhost", 80, family=socket.AF_INET)
    [(2, ('127.0.0.1', 80))]
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        getaddrinfo: GetAddrInfo = socket.getaddrinfo,
    ) -> None:
        if ttl < 0 or negative_ttl < 0:
            raise ValueError("ttl and negative_ttl must be >= 0")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self._clock = clock
        self._getaddrinfo = getaddrinfo
        self._entries: OrderedDict[tuple[str, int, int], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._entries.clear()

    def _cached(self, key: tuple[str, int, int]) -> list[ResolvedAddress] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
        if entry.error is not None:
            raise NameResolutionError(entry.error, host=key[0])
        return list(entry.addresses or [])

    def _store(self, key: tuple[str, int, int], entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def _lookup(self, host: str, port: int, family: int) -> list[ResolvedAddress]:
        """Ask the resolver; cache the answer or a definite failure."""
        key = (host.lower(), port, family)
        try:
            infos = self._getaddrinfo(host, port, family, socket.SOCK_STREAM)
        except UnicodeError as exc:  # the idna codec refused the name: nothing was sent
            raise NameResolutionError(
                f"could not resolve host {host!r}: not a valid host name ({exc})", host=host
            ) from exc
        except socket.gaierror as exc:
            message = f"could not resolve host {host!r}: {exc.strerror or exc}"
            if exc.errno in _DEFINITE_FAILURES and self.negative_ttl > 0:
                self._store(key, _Entry(self._clock() + self.negative_ttl, None, message))
            raise NameResolutionError(message, host=host) from exc
        seen: dict[ResolvedAddress, None] = {}
        for family_found, _type, _proto, _canon, sockaddr in infos:
            seen.setdefault((int(family_found), tuple(sockaddr)), None)
        addresses = list(seen)
        if self.ttl > 0 and not _is_ip(host):
            self._store(key, _Entry(self._clock() + self.ttl, addresses, None))
        return list(addresses)

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[ResolvedAddress]:
        """Addresses for ``host``, from the cache when fresh, else from the resolver.

        Literal IP addresses skip the cache. Raises NameResolutionError naming the host.
        Internationalised names are asked in their IDNA 2008 form, as names.lookup does.
        """
        host = idna_host(host)
        if _is_ip(host):
            return self._lookup(host, port, family)
        cached = self._cached((host.lower(), port, family))
        if cached is not None:
            return cached
        return self._lookup(host, port, family)

    async def aresolve(self, host: str, port: int, *, family: int = 0) -> list[ResolvedAddress]:
        """Async :meth:`resolve`: a cache miss asks the resolver in a worker thread."""
        host = idna_host(host)
        if not _is_ip(host):
            cached = self._cached((host.lower(), port, family))
            if cached is not None:
                return cached
        # getaddrinfo blocks; asyncio's own loop.getaddrinfo also uses the default executor.
        return await asyncio.to_thread(self._lookup, host, port, family)
