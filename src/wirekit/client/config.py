"""Client configuration values: Timeout (with the total deadline), Limits and Retry.

All of them are small immutable objects built once per Client; the per-request ``Deadline``
(client/deadline.py, re-exported here) turns a ``Timeout`` into the clock the transport
checks at every phase (DESIGN invariant 4). This module stays interpreted in the compiled
build (scripts/compile.py): its checks, not mypyc's, must report a bad value.
"""

from __future__ import annotations

import inspect
import math
import operator
import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from mypy_extensions import mypyc_attr

from wirekit.client.deadline import Deadline

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "Deadline",
    "Limits",
    "Retry",
    "Timeout",
]


class _Unset:
    """Marks an option that was not passed (``None`` means "no limit")."""

    _instance: ClassVar[_Unset | None] = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()

#: Finite defaults (README "Timeouts"): a dead server never hangs a program forever.
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_READ_TIMEOUT: Final = 30.0
DEFAULT_WRITE_TIMEOUT: Final = 30.0
DEFAULT_POOL_TIMEOUT: Final = 10.0
DEFAULT_TOTAL_TIMEOUT: Final = 300.0
DEFAULT_MAX_REDIRECTS: Final = 20  # as requests, httpx and browsers (Chrome stops at 20)


def _seconds(name: str, value: Any) -> float | None:
    """A number of seconds, positive; infinity is "no limit" (None); NaN is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return None if value == math.inf else float(value)


@mypyc_attr(allow_interpreted_subclasses=True)
@dataclass(frozen=True, slots=True)
class Timeout:
    """Time limits for one request, in seconds. ``None`` disables one limit.

    The positional value is the total deadline over the whole request: DNS, pool wait,
    connect, TLS, send, receive, redirects and retries. Per-phase limits sit inside it.

    >>> Timeout(5.0, connect=1.0)
    Timeout(total=5.0, connect=1.0, read=30.0, write=30.0, pool=10.0)
    """

    total: float | None = DEFAULT_TOTAL_TIMEOUT
    connect: float | None = DEFAULT_CONNECT_TIMEOUT
    read: float | None = DEFAULT_READ_TIMEOUT
    write: float | None = DEFAULT_WRITE_TIMEOUT
    pool: float | None = DEFAULT_POOL_TIMEOUT

    def __init__(
        self,
        total: float | _Unset | None = UNSET,
        *,
        connect: float | _Unset | None = UNSET,
        read: float | _Unset | None = UNSET,
        write: float | _Unset | None = UNSET,
        pool: float | _Unset | None = UNSET,
    ) -> None:
        values = {
            "total": (total, DEFAULT_TOTAL_TIMEOUT),
            "connect": (connect, DEFAULT_CONNECT_TIMEOUT),
            "read": (read, DEFAULT_READ_TIMEOUT),
            "write": (write, DEFAULT_WRITE_TIMEOUT),
            "pool": (pool, DEFAULT_POOL_TIMEOUT),
        }
        for name, (value, default) in values.items():
            if isinstance(value, _Unset):
                value = default
            if value is not None:
                value = _seconds(f"Timeout {name}", value)
            object.__setattr__(self, name, value)

    @classmethod
    def coerce(cls, value: Timeout | float | tuple[Any, ...] | _Unset | None) -> Timeout:
        """Accept ``Timeout``, a number (total), ``None`` (no limits at all) or UNSET."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, _Unset):
            return DEFAULT_TIMEOUT
        if value is None:
            return cls(None, connect=None, read=None, write=None, pool=None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(value)
        raise TypeError(f"timeout must be a Timeout, a number or None, not {value!r}")


DEFAULT_TIMEOUT: Final = Timeout()


@mypyc_attr(allow_interpreted_subclasses=True)
@dataclass(frozen=True, slots=True)
class Limits:
    """Connection pool limits.

    ``max_connections``: open connections in all (default 100); ``max_connections_per_host``:
    per origin (default None: only the total applies); ``max_idle_connections``: kept-alive
    idle connections (default 32); ``keepalive_expiry``: seconds an idle connection is kept
    (default 5.0: below the 5-15 s idle timeouts of common servers, so we close first).
    """

    max_connections: int | None = 100
    max_connections_per_host: int | None = None
    max_idle_connections: int | None = 32
    keepalive_expiry: float | None = 5.0

    def __post_init__(self) -> None:
        for name in ("max_connections", "max_connections_per_host", "max_idle_connections"):
            value: Any = getattr(self, name)
            if value is None:
                continue
            if type(value) is not int:
                raise TypeError(f"Limits {name} must be a whole number or None, not {value!r}")
            least = 0 if name == "max_idle_connections" else 1
            if value < least:
                raise ValueError(f"Limits {name} must be at least {least}, got {value!r}")
        expiry: Any = self.keepalive_expiry
        if expiry is not None:
            object.__setattr__(
                self, "keepalive_expiry", _seconds("Limits keepalive_expiry", expiry)
            )


DEFAULT_LIMITS: Final = Limits()

#: Retried by default: "too many requests", and "unavailable" (with Retry-After).
_DEFAULT_RETRY_STATUSES: Final = frozenset({429, 503})


def check_client_settings(max_redirects: Any, retry: Any, limits: Any) -> tuple[int, Retry]:
    """The constructor's checks of these three, naming the option (not an AttributeError
    at the first request or redirect); returns ``max_redirects`` as an int and ``retry`` as
    a :class:`Retry`."""
    try:
        redirects = -1 if isinstance(max_redirects, bool) else operator.index(max_redirects)
    except TypeError:
        redirects = -1
    if redirects < 0:
        raise ValueError(f"max_redirects must be a whole number, 0 or more, got {max_redirects!r}")
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a wirekit.Limits, not {limits!r}")
    if retry is None:
        return redirects, Retry(0)
    if isinstance(retry, Retry):
        return redirects, retry
    if isinstance(retry, int):  # True is 1, as in urllib3
        return redirects, Retry(int(retry))
    raise TypeError(f"retry must be a wirekit.Retry, a whole number or None, not {retry!r}")


#: RFC 9110 §9.2.2: methods whose repetition has the same effect as one request.
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


@mypyc_attr(allow_interpreted_subclasses=True)
@dataclass(frozen=True, slots=True)
class Retry:
    """When and how to try a request again.

    By default only idempotent methods, and only failures where nothing was sent (connect
    errors, DNS failures) or where the status says so (429, and 503 with ``Retry-After``),
    up to ``total`` extra attempts. ``backoff`` is the base of exponential waits
    (``backoff * 2**n``, capped at ``max_backoff``), with full ``jitter``.
    ``respect_retry_after`` honours the server's ``Retry-After`` up to ``max_retry_after``.
    ``Retry(0)`` turns retries off.

    >>> Retry(3, backoff=0.5, jitter=False).wait_for(3, retry_after=None)
    2.0
    """

    total: int = 2
    backoff: float = 0.5
    jitter: bool = True
    statuses: Collection[int] = _DEFAULT_RETRY_STATUSES
    methods: Collection[str] = IDEMPOTENT_METHODS
    respect_retry_after: bool = True
    max_backoff: float = 30.0
    max_retry_after: float = 60.0
    #: Statuses retried only when they carry Retry-After (the server says when to come
    #: back). None: 503 with the default ``statuses``; none when you list them yourself
    #: (as urllib3's status_forcelist retries a 503 without it).
    require_retry_after_for: Collection[int] | None = None

    def __post_init__(self) -> None:
        # Checked and frozen here, naming the option, not at the first retry; sets, so that
        # equal policies compare and hash equal and a caller's list cannot change them.
        total: Any = self.total
        if type(total) is not int or total < 0:
            raise ValueError(f"Retry total must be a whole number, 0 or more, got {total!r}")
        for name in ("backoff", "max_backoff", "max_retry_after"):
            value: Any = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Retry {name} must be a number of seconds, not {value!r}")
            if not 0 <= value < math.inf:
                raise ValueError(f"Retry {name} must be 0 or more seconds, got {value!r}")
            object.__setattr__(self, name, float(value))
        statuses = frozenset(self.statuses)
        object.__setattr__(self, "statuses", statuses)
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))
        needs = self.require_retry_after_for
        if needs is None:
            needs = frozenset({503}) if statuses == _DEFAULT_RETRY_STATUSES else frozenset()
        object.__setattr__(self, "require_retry_after_for", frozenset(needs))

    def allows_method(self, method: str) -> bool:
        return method.upper() in self.methods

    def wait_for(
        self, attempt: int, *, retry_after: float | None, rng: Any = random.random
    ) -> float:
        """Seconds to wait before attempt number ``attempt`` (1 = the first retry)."""
        if retry_after is not None and self.respect_retry_after:
            return min(max(retry_after, 0.0), self.max_retry_after)
        wait = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return wait * float(rng()) if self.jitter else wait


DEFAULT_RETRY: Final = Retry()


def check_callbacks(hooks: Collection[Any], trace: Any, *, is_async: bool) -> None:
    """Refuse what would silently never run: an async ``trace`` (called synchronously, from
    the network layer, in both clients) or an async event hook given to ``Client``."""
    if trace is not None and _is_async_callable(trace):
        raise TypeError(
            f"trace= is called synchronously, but {trace!r} is an async function: its "
            "coroutine would never run (pass a plain function)"
        )
    if not is_async:
        for hook in hooks:
            if _is_async_callable(hook):
                raise TypeError(
                    f"Client calls event hooks synchronously, but {hook!r} is an async "
                    "function: its coroutine would never run (use AsyncClient, or a plain "
                    "function)"
                )


def _is_async_callable(function: Any) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - an object with async __call__
    )
