"""UDP request/reply with retransmission, and a small threaded UDP server.

:func:`udp_request` sends a datagram and waits for the answer, resending with exponential
backoff and jitter, on a connected socket so the kernel drops datagrams from anyone else.
With ``request_id=True`` an 8-byte random id leads every request and must lead its reply,
so late replies to earlier attempts and duplicates are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeAlias

from wirekit.errors import ConnectError, NameResolutionError, ReadTimeout, RemoteLimitExceeded
from wirekit.net.addresses import IPNetwork, NetworkSpec, _networks, in_network
from wirekit.net.names import idna_host

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_JITTER",
    "DEFAULT_MAX_BACKOFF",
    "DEFAULT_MAX_DATAGRAM_BYTES",
    "DEFAULT_RETRIES",
    "DEFAULT_UDP_TIMEOUT",
    "REQUEST_ID_BYTES",
    "AsyncUDPServer",
    "UDPServer",
    "UDPTimeout",
    "audp_request",
    "serve_udp",
    "udp_request",
]

#: Seconds to wait for the first reply; later attempts wait longer (see ``backoff``).
DEFAULT_UDP_TIMEOUT = 1.0
#: Resends after the first attempt (so 4 datagrams at most by default).
DEFAULT_RETRIES = 3
#: Each wait is the previous one times this (RFC 8085 §3.1.3: back off exponentially).
DEFAULT_BACKOFF = 2.0
#: Each wait is moved by up to this fraction either way, so clients do not retry in step.
DEFAULT_JITTER = 0.1
#: No single wait is longer than this many seconds.
DEFAULT_MAX_BACKOFF = 10.0
#: Largest datagram read (the UDP maximum payload over IPv4).
DEFAULT_MAX_DATAGRAM_BYTES = 65507
#: Length of the random id that prefixes requests and replies when ``request_id=True``.
REQUEST_ID_BYTES = 8

Address: TypeAlias = tuple[str, int]
Handler: TypeAlias = Callable[[bytes, tuple[Any, ...]], "bytes | None"]

logger = logging.getLogger("wirekit.net.udp")


class UDPTimeout(ReadTimeout):
    """No reply came after every attempt. ``address`` and ``attempts`` say to whom and how often."""

    def __init__(self, message: str, *, address: Address, attempts: int) -> None:
        super().__init__(message)
        self.address = address
        self.attempts = attempts


def _waits(
    timeout: float, retries: int, backoff: float, jitter: float, max_backoff: float
) -> list[float]:
    if timeout <= 0 or retries < 0 or backoff < 1 or not 0 <= jitter < 1:
        raise ValueError("need timeout > 0, retries >= 0, backoff >= 1 and 0 <= jitter < 1")
    waits = []
    base = min(timeout, max_backoff)
    for _attempt in range(retries + 1):
        # Capped after the jitter: max_backoff bounds every single wait.
        waits.append(min(base * (1 + random.uniform(-jitter, jitter)), max_backoff))
        # Grown step by step and held at the cap: backoff**attempt overflows a float.
        base = min(base * backoff, max_backoff)
    return waits


def _resolve(address: Address) -> tuple[int, tuple[Any, ...]]:
    host, port = address
    host = idna_host(host)
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise NameResolutionError(f"could not resolve host {host!r}: {exc}", host=host) from exc
    return family, sockaddr


def _refused(address: Address, exc: OSError) -> ConnectError:
    # A connected UDP socket reports ICMP port-unreachable as ECONNREFUSED: nobody listens.
    return ConnectError(f"UDP request refused by {address[0]}:{address[1]} (no listener): {exc}")


def _too_long(address: Address, max_datagram_bytes: int) -> RemoteLimitExceeded:
    return RemoteLimitExceeded(
        f"UDP reply from {address[0]}:{address[1]} is longer than "
        f"max_datagram_bytes={max_datagram_bytes}",
        limit="max_datagram_bytes",
        value=max_datagram_bytes,
    )


def _unwrap(data: bytes, ident: bytes) -> bytes | None:
    if not ident:
        return data
    if data[: len(ident)] != ident:
        return None  # a late reply to an earlier attempt, or someone else's
    return data[len(ident) :]


def udp_request(
    address: Address,
    payload: bytes,
    *,
    timeout: float = DEFAULT_UDP_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    jitter: float = DEFAULT_JITTER,
    max_backoff: float = DEFAULT_MAX_BACKOFF,
    request_id: bool = False,
    max_datagram_bytes: int = DEFAULT_MAX_DATAGRAM_BYTES,
) -> bytes:
    """Send ``payload`` to ``address`` (host, port) and return the reply datagram.

    Resends up to ``retries`` times, waiting ``timeout`` then ``timeout * backoff``... (each
    moved by ``jitter``, none longer than ``max_backoff``). Raises UDPTimeout naming the
    address and attempt count, ConnectError when the host reports nobody listening, and
    RemoteLimitExceeded when the reply is longer than ``max_datagram_bytes``.
    """
    waits = _waits(timeout, retries, backoff, jitter, max_backoff)
    family, sockaddr = _resolve(address)
    ident = os.urandom(REQUEST_ID_BYTES) if request_id else b""
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            raise ConnectError(f"cannot reach {address[0]}:{address[1]}: {exc}") from exc
        for wait in waits:
            try:
                sock.send(ident + payload)
            except ConnectionRefusedError as exc:
                raise _refused(address, exc) from exc
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    # One byte more than the limit: a longer datagram is then seen as such
                    # instead of cut to the limit by the kernel, silently.
                    data = sock.recv(max_datagram_bytes + 1)
                except TimeoutError:
                    break
                except ConnectionRefusedError as exc:
                    raise _refused(address, exc) from exc
                reply = _unwrap(data, ident)
                if reply is not None:
                    if len(data) > max_datagram_bytes:
                        raise _too_long(address, max_datagram_bytes)
                    return reply
    raise UDPTimeout(
        f"no UDP reply from {address[0]}:{address[1]} after {len(waits)} attempts",
        address=address,
        attempts=len(waits),
    )


class _ReplyProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | OSError] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self.queue.put_nowait(exc)


async def audp_request(
    address: Address,
    payload: bytes,
    *,
    timeout: float = DEFAULT_UDP_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    jitter: float = DEFAULT_JITTER,
    max_backoff: float = DEFAULT_MAX_BACKOFF,
    request_id: bool = False,
    max_datagram_bytes: int = DEFAULT_MAX_DATAGRAM_BYTES,
) -> bytes:
    """Async :func:`udp_request` on the running event loop."""
    waits = _waits(timeout, retries, backoff, jitter, max_backoff)
    loop = asyncio.get_running_loop()
    host = idna_host(address[0])
    try:
        infos = await loop.getaddrinfo(host, address[1], type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NameResolutionError(
            f"could not resolve host {address[0]!r}: {exc}", host=address[0]
        ) from exc
    family, sockaddr = infos[0][0], infos[0][4]
    ident = os.urandom(REQUEST_ID_BYTES) if request_id else b""
    # Connected, as in udp_request: the kernel drops datagrams from other sources. The whole
    # socket address is kept: an IPv6 link-local address needs its scope id.
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.connect(sockaddr)
    except OSError as exc:
        sock.close()
        raise ConnectError(f"cannot reach {address[0]}:{address[1]}: {exc}") from exc
    try:
        transport, protocol = await loop.create_datagram_endpoint(_ReplyProtocol, sock=sock)
    except BaseException:
        sock.close()
        raise
    try:
        for wait in waits:
            transport.sendto(ident + payload)
            deadline = loop.time() + wait
            while (left := deadline - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(protocol.queue.get(), left)
                except TimeoutError:
                    break
                if isinstance(item, ConnectionRefusedError):
                    raise _refused(address, item) from item
                if isinstance(item, OSError):
                    continue  # other ICMP errors may be transient: keep waiting
                reply = _unwrap(item, ident)
                if reply is not None:
                    if len(item) > max_datagram_bytes:
                        raise _too_long(address, max_datagram_bytes)
                    return reply
    finally:
        transport.close()
    raise UDPTimeout(
        f"no UDP reply from {address[0]}:{address[1]} after {len(waits)} attempts",
        address=address,
        attempts=len(waits),
    )


class UDPServer:
    """Answer each datagram with ``handler(data, sender)`` (None means no reply).

    Runs in one background thread. ``request_id=True`` strips the 8-byte id before the
    handler sees the data and puts it back in front of the reply. A handler exception is
    logged and the server carries on. ``allow`` limits which senders are served (a bad
    entry is InvalidAddress here, at construction). Datagrams longer than
    ``max_datagram_bytes`` are dropped, never handed over cut.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        request_id: bool = False,
        allow: NetworkSpec | None = None,
        max_datagram_bytes: int = DEFAULT_MAX_DATAGRAM_BYTES,
    ) -> None:
        self.handler = handler
        self.request_id = request_id
        self.allow = allow
        # Parsed once, now: a typo is an error for the caller, not for the serving thread.
        self._allowed: list[IPNetwork] | None = None if allow is None else _networks(allow)
        self.max_datagram_bytes = max_datagram_bytes
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET6 and host == "::":
            # Dual stack: also take IPv4 datagrams (as ::ffff:a.b.c.d).
            self._sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self._sock.bind((host, port))
        self._address: tuple[Any, ...] = tuple(self._sock.getsockname())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[Any, ...]:
        """The bound (host, port), with the real port when 0 was asked for."""
        return self._address

    def _serve_one(self, data: bytes, sender: tuple[Any, ...]) -> None:
        if len(data) > self.max_datagram_bytes:
            logger.debug(
                "dropped datagram from %s: longer than max_datagram_bytes=%d",
                sender[0],
                self.max_datagram_bytes,
            )
            return
        if self._allowed is not None and not in_network(sender[0], self._allowed):
            logger.debug("dropped datagram from %s: not in allow list", sender[0])
            return
        ident = b""
        if self.request_id:
            if len(data) < REQUEST_ID_BYTES:
                return
            ident, data = data[:REQUEST_ID_BYTES], data[REQUEST_ID_BYTES:]
        try:
            reply = self.handler(data, sender)
        except Exception:
            logger.exception("UDP handler failed for a datagram from %s", sender[0])
            return
        if reply is not None:
            self._send(ident + reply, sender)

    def _send(self, datagram: bytes, sender: tuple[Any, ...]) -> None:
        try:
            self._sock.sendto(datagram, sender)
        except OSError as exc:
            logger.warning("could not reply to %s: %s", sender[0], exc)

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not selector.select(timeout=0.05):
                    continue
                try:
                    # One byte over the limit, so _serve_one sees a datagram was too long.
                    data, sender = self._sock.recvfrom(self.max_datagram_bytes + 1)
                except OSError:
                    continue  # ICMP errors from earlier replies surface here
                self._serve_one(data, sender)

    def start(self) -> UDPServer:
        """Start serving in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wirekit-udp", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close the socket (waits up to ``timeout`` for the thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> UDPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class AsyncUDPServer(UDPServer):
    """The same server on the running asyncio loop instead of a thread.

    ``async with AsyncUDPServer(handler) as server:`` serves until the block ends; the
    handler is called on the loop, so it must not block (same rules, ``allow`` list and
    request-id framing as :class:`UDPServer`).
    """

    _transport: asyncio.DatagramTransport | None = None

    async def __aenter__(self) -> AsyncUDPServer:
        loop = asyncio.get_running_loop()
        server = self

        class _Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
                server._serve_one(data, addr)  # drops what is over max_datagram_bytes

            def error_received(self, exc: Exception) -> None:
                pass  # ICMP errors from earlier replies: nothing to do, as in UDPServer

        self._transport, _ = await loop.create_datagram_endpoint(_Protocol, sock=self._sock)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _send(self, datagram: bytes, sender: tuple[Any, ...]) -> None:
        if self._transport is not None:
            self._transport.sendto(datagram, sender)


def serve_udp(
    handler: Handler,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    request_id: bool = False,
    allow: NetworkSpec | None = None,
) -> UDPServer:
    """Start a :class:`UDPServer` and return it (use it as a context manager to stop it)."""
    return UDPServer(handler, host=host, port=port, request_id=request_id, allow=allow).start()
