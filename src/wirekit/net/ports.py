"""Is a TCP port open? A connect check that reports which phase failed and how long it took.

:func:`check_port` never raises for network trouble: it returns a :class:`PortCheck` whose
``phase`` says where it stopped ("dns", "refused", "timeout", "unreachable") so callers
and the ``wirekit ping`` command can report it plainly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass
from typing import Literal, TypeAlias

from wirekit._io._shared import host_port
from wirekit._io.sync import SystemResolver, resolve_within
from wirekit.errors import ConnectTimeout, NameResolutionError
from wirekit.net.names import idna_host

__all__ = ["DEFAULT_CHECK_TIMEOUT", "PortCheck", "acheck_port", "check_port"]

#: Seconds the whole check (name lookup and every address tried) may take.
DEFAULT_CHECK_TIMEOUT = 3.0

Phase: TypeAlias = Literal["dns", "refused", "timeout", "unreachable"]


@dataclass(frozen=True, slots=True)
class PortCheck:
    """Result of one port check. ``ok`` is True when a TCP connection was made.

    ``address`` is the last IP address tried (None if the name did not resolve);
    ``phase`` and ``error`` say what failed; ``connect_time`` is the seconds the successful
    (or last) connect attempt took.
    """

    host: str
    port: int
    ok: bool
    address: str | None
    phase: Phase | None
    error: str | None
    connect_time: float | None


def _phase(exc: BaseException) -> Phase:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "unreachable"


def _describe(exc: BaseException, host: str, port: int, address: str) -> str:
    where = host_port(address, port) if address == host else f"{host_port(host, port)} ({address})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, TimeoutError):
        return f"connection to {where} timed out"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot reach {where}: {reason}"


def _dns_failure(host: str, port: int, exc: BaseException) -> PortCheck:
    if isinstance(exc, NameResolutionError) and exc.__cause__ is not None:
        exc = exc.__cause__  # getaddrinfo's own error, for its reason
    reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    error = f"could not resolve host {host!r}: {reason}"
    return PortCheck(host, port, False, None, "dns", error, None)


def _lookup_timeout(host: str, port: int, timeout: float) -> PortCheck:
    # "timeout", not "dns": a slow resolver may well answer next time (ping tries again).
    error = f"resolving {host_port(host, port)} timed out after {timeout} s"
    return PortCheck(host, port, False, None, "timeout", error, None)


def check_port(host: str, port: int, *, timeout: float = DEFAULT_CHECK_TIMEOUT) -> PortCheck:
    """Try a TCP connection to ``host``:``port`` (each resolved address in turn).

    ``timeout`` bounds the whole check, the name lookup included.
    """
    deadline = time.monotonic() + timeout
    try:
        # getaddrinfo cannot be interrupted: resolve_within runs it in a helper thread and
        # stops waiting when the time is up.
        infos = resolve_within(
            SystemResolver(), idna_host(host), port, family=0, timeout=max(timeout, 0.0)
        )
    except NameResolutionError as exc:
        return _dns_failure(host, port, exc)
    except ConnectTimeout:
        return _lookup_timeout(host, port, timeout)
    result: PortCheck | None = None
    for family, sockaddr in infos:
        address = str(sockaddr[0])
        left = deadline - time.monotonic()
        if left <= 0:
            break
        started = time.perf_counter()
        with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
            sock.settimeout(left)
            try:
                sock.connect(sockaddr)
            except OSError as exc:
                elapsed = time.perf_counter() - started
                error = _describe(exc, host, port, address)
                result = PortCheck(host, port, False, address, _phase(exc), error, elapsed)
                continue
            elapsed = time.perf_counter() - started
        return PortCheck(host, port, True, address, None, None, elapsed)
    if result is None:
        error = f"connection to {host}:{port} timed out"
        return PortCheck(host, port, False, None, "timeout", error, None)
    return result


async def acheck_port(host: str, port: int, *, timeout: float = DEFAULT_CHECK_TIMEOUT) -> PortCheck:
    """Async :func:`check_port` on the running event loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        # wait_for gives up on the lookup (its executor thread finishes on its own).
        infos = await asyncio.wait_for(
            loop.getaddrinfo(idna_host(host), port, type=socket.SOCK_STREAM), timeout
        )
    except TimeoutError:
        return _lookup_timeout(host, port, timeout)
    except (socket.gaierror, UnicodeError, NameResolutionError) as exc:
        return _dns_failure(host, port, exc)
    result: PortCheck | None = None
    for family, kind, proto, _, sockaddr in infos:
        address = str(sockaddr[0])
        left = deadline - loop.time()
        if left <= 0:
            break
        started = time.perf_counter()
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, sockaddr), left)
        except OSError as exc:  # TimeoutError is an OSError too
            elapsed = time.perf_counter() - started
            error = _describe(exc, host, port, address)
            result = PortCheck(host, port, False, address, _phase(exc), error, elapsed)
            continue
        finally:
            with contextlib.suppress(OSError):
                sock.close()
        elapsed = time.perf_counter() - started
        return PortCheck(host, port, True, address, None, None, elapsed)
    if result is None:
        error = f"connection to {host}:{port} timed out"
        return PortCheck(host, port, False, None, "timeout", error, None)
    return result
