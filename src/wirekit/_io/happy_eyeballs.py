"""Happy Eyeballs v2 (RFC 8305) as sans-IO logic shared by the sync and asyncio backends.

It decides *which* address to try next and *when*; the backends own the sockets and the
clock. Time is passed in, so tests drive it with a virtual clock (as trio's tests do).
"""

from __future__ import annotations

from collections.abc import Sequence

from wirekit._io.base import Address

__all__ = [
    "CONNECTION_ATTEMPT_DELAY",
    "FIRST_ADDRESS_FAMILY_COUNT",
    "AttemptPlan",
    "format_address",
    "interleave_addresses",
]

#: RFC 8305 §5 "Connection Attempt Delay": start the next address if the current attempt has
#: not finished after this many seconds. The RFC recommends 250 ms (and at least 100 ms).
CONNECTION_ATTEMPT_DELAY = 0.25

#: RFC 8305 §4 "First Address Family Count": how many addresses of the preferred family are
#: tried before the first address of the other family. The RFC's default is 1.
FIRST_ADDRESS_FAMILY_COUNT = 1


def interleave_addresses(
    addresses: Sequence[Address], *, first_family_count: int = FIRST_ADDRESS_FAMILY_COUNT
) -> list[Address]:
    """Order addresses as RFC 8305 §4 asks: alternate families, preferred family first.

    The preferred family is the family of the first address (the resolver already sorted by
    RFC 6724 preference). Duplicates are dropped, keeping the first.
    """
    unique: list[Address] = []
    seen: set[tuple[int, tuple[object, ...]]] = set()
    for family, sockaddr in addresses:
        key = (family, tuple(sockaddr[:2]))
        if key not in seen:
            seen.add(key)
            unique.append((family, sockaddr))
    if not unique:
        return []
    first_family = unique[0][0]
    preferred = [a for a in unique if a[0] == first_family]
    others = [a for a in unique if a[0] != first_family]
    ordered: list[Address] = preferred[:first_family_count]
    preferred = preferred[first_family_count:]
    while preferred or others:
        if others:
            ordered.append(others.pop(0))
        if preferred:
            ordered.append(preferred.pop(0))
    return ordered


def format_address(address: Address | tuple[object, ...] | str) -> str:
    """``127.0.0.1:80``, ``[::1]:80`` or a Unix socket path, for error messages."""
    if isinstance(address, str):
        return address
    if len(address) == 2 and isinstance(address[0], int) and isinstance(address[1], tuple):
        sockaddr: tuple[object, ...] = address[1]
    else:
        sockaddr = address
    host, port = sockaddr[0], sockaddr[1]
    if isinstance(host, str) and ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


class AttemptPlan:
    """Which address to try next, and when (RFC 8305 §5), for one ``connect_tcp`` call.

    The backend loop: while ``next_start_time(now)`` is due, ``start_next(now)`` gives an
    address to connect; report each outcome with ``attempt_failed`` (which makes the next
    attempt due at once, as §5 allows) or stop on the first success. When nothing is
    running and ``exhausted`` is true, every address failed: ``errors`` holds why.
    """

    def __init__(
        self,
        addresses: Sequence[Address],
        *,
        attempt_delay: float = CONNECTION_ATTEMPT_DELAY,
        first_family_count: int = FIRST_ADDRESS_FAMILY_COUNT,
    ) -> None:
        self._queue = interleave_addresses(addresses, first_family_count=first_family_count)
        self._attempt_delay = attempt_delay
        self._due: float | None = None  # None: the first attempt is due immediately
        self.running = 0
        self.errors: list[tuple[Address, OSError]] = []

    @property
    def exhausted(self) -> bool:
        """No address left to start."""
        return not self._queue

    def next_start_time(self, now: float) -> float | None:
        """When the next attempt should start (``<= now``: start it), None if none left."""
        if not self._queue:
            return None
        if self._due is None or self.running == 0:
            return now
        return self._due

    def start_next(self, now: float) -> Address:
        """Take the next address; the one after it becomes due ``attempt_delay`` later."""
        address = self._queue.pop(0)
        self.running += 1
        self._due = now + self._attempt_delay
        return address

    def attempt_failed(self, address: Address, error: OSError, now: float) -> None:
        """Record a failed attempt; the next address becomes due now (RFC 8305 §5)."""
        self.running -= 1
        self.errors.append((address, error))
        self._due = now

    def all_refused(self) -> bool:
        return bool(self.errors) and all(
            isinstance(e, ConnectionRefusedError) for _, e in self.errors
        )
