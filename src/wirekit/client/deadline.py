"""The clock of one request: a ``Timeout``'s total budget and per-phase limits.

Apart from config.py so that the compiled build compiles it: every phase of every request
asks it for its time (config.py's settings classes stay interpreted, scripts/compile.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from wirekit.errors import DeadlineExceeded

if TYPE_CHECKING:  # pragma: no cover - config.py imports this module
    from wirekit.client.config import Timeout

__all__ = ["Deadline"]


class Deadline:
    """The clock of one request: total budget plus per-phase limits.

    ``for_phase(limit)`` returns the seconds a phase may take (the smaller of its own limit
    and what remains of the total) and whether the total is the binding one, so a timeout
    can be reported as :class:`DeadlineExceeded` rather than a phase timeout.
    """

    __slots__ = ("expires_at", "started_at", "timeout", "total", "url")

    def __init__(self, timeout: Timeout, *, now: float | None = None) -> None:
        self.timeout = timeout
        self.started_at = time.monotonic() if now is None else now
        self.total = timeout.total
        self.expires_at = None if self.total is None else self.started_at + self.total
        #: The URL being fetched (set per hop by the client), named when the deadline runs out.
        self.url: Any = None

    def remaining(self) -> float | None:
        if self.expires_at is None:
            return None
        return self.expires_at - time.monotonic()

    def for_phase(self, limit: float | None, phase: str) -> tuple[float | None, bool]:
        """Seconds allowed for ``phase`` and whether the total deadline is what binds."""
        if self.expires_at is None:
            return limit, False
        remaining = self.expires_at - time.monotonic()
        if remaining <= 0:
            raise self.exceeded(phase)
        if limit is None or remaining < limit:
            return remaining, True
        return limit, False

    def exceeded(self, phase: str) -> DeadlineExceeded:
        url = self.url
        where = "" if url is None else f" ({url.host}:{url.effective_port})"
        return DeadlineExceeded(
            f"the request's total deadline of {self.total:g} s ran out during {phase}{where}"
        )
