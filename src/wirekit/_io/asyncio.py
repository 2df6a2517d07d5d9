"""The asyncio network backend, built on an ``asyncio.Protocol`` rather than asyncio streams.

The protocol keeps one receive buffer and one waiter future; a stream's timeouts share one
lazily re-armed timer (see ``AsyncIOStream._wait``). Measured against ``StreamReader`` +
``asyncio.timeout`` (2-core shared box, medians): a read of already-buffered data costs
3-4 us instead of 21-28 us, a read that waits for data 34-39 us instead of 40-55 us, bulk
loopback reads 1.1-1.6x faster.
Cancelled reads, writes and connects leave no socket open; a closed stream leaves no timer.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import os
import select
import socket
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any, NoReturn, cast

from wirekit._io._shared import (
    connect_failure,
    connect_timeout,
    describe,
    host_port,
    keep_family,
    literal_addresses,
    new_socket,
    read_failure,
    read_timeout,
    resolution_failure,
    resolve_timeout,
    tls_details,
    tls_failure,
    tls_timeout,
    trace_done,
    trace_unfinished,
    unix_socket,
    write_failure,
    write_timeout,
)
from wirekit._io.base import Address, AsyncResolver, Resolver, SocketOption, Trace
from wirekit._io.happy_eyeballs import CONNECTION_ATTEMPT_DELAY, AttemptPlan
from wirekit._io.lookups import Lookup, lookup_threads
from wirekit._io.sync import SystemResolver
from wirekit.errors import ConnectError

__all__ = [
    "CLOSE_TIMEOUT",
    "READ_BUFFER_HIGH_WATER",
    "AsyncIOBackend",
    "AsyncIOStream",
    "AsyncSystemResolver",
    "open_stream",
    "resolve_within",
]

#: Pause reading from the socket when this many received bytes wait unread (flow control:
#: a slow consumer must not make us buffer a whole body in memory). Reading resumes when the
#: buffer drops to a quarter of it. 256 KiB holds several TCP windows of a fast loopback peer.
READ_BUFFER_HIGH_WATER = 256 * 1024

#: ``aclose()`` waits at most this long for the transport to flush and close, then aborts.
CLOSE_TIMEOUT = 5.0


class _InLookupThreads:
    """A blocking resolver (``resolve`` returns the addresses) run in the lookup threads
    (wirekit._io.lookups), not the loop's default executor: a lookup that hangs past its
    caller's time limit would hold one of that executor's few workers (and uvloop's four)
    until every later lookup queued behind it, for any name."""

    def __init__(self, inner: Resolver) -> None:
        self._inner = inner

    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Address]] = loop.create_future()

        def wake(job: Lookup) -> None:  # in the lookup's thread
            loop.call_soon_threadsafe(_settle, answer, job)

        job = lookup_threads().submit(self._inner, host, port, family, wake)
        try:
            return await answer
        except asyncio.CancelledError:
            lookup_threads().abandon(job)  # timed out or cancelled: its thread is replaced
            raise


class AsyncSystemResolver(_InLookupThreads):
    """``SystemResolver`` (getaddrinfo) for the asyncio backend, in the lookup threads."""

    def __init__(self) -> None:
        super().__init__(SystemResolver())


def _settle(answer: asyncio.Future[list[Address]], job: Lookup) -> None:
    error, job.error = job.error, None  # no reference cycle through the traceback
    if answer.done():  # the caller was cancelled meanwhile
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(job.result or [])


#: Received pieces smaller than this are merged into the previous one while it is under
#: ``_MERGE_LIMIT`` bytes (see _StreamProtocol.data_received).
_SMALL_CHUNK = 1024
#: A TLS write goes to asyncio in pieces of this size, so that flow control can pause it.
_TLS_WRITE_PIECE = 64 * 1024
_MERGE_LIMIT = 16 * 1024


class _StreamProtocol(asyncio.Protocol):
    """Receive buffer, EOF/error state and the two waiters (read, drain) of one stream."""

    def __init__(self, loop: asyncio.AbstractEventLoop, high_water: int) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        # Received chunks as the loop handed them over (no copy into one growing buffer:
        # for a big download that meant a copy of every byte and, above glibc's mmap
        # threshold, fresh zeroed pages for every refill; see AsyncIOStream.read).
        self.chunks: deque[bytes | bytearray | memoryview] = deque()
        self.buffered = 0
        self.high_water = high_water
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        self.tls = False
        self.read_waiter: asyncio.Future[bool] | None = None
        self.drain_waiter: asyncio.Future[bool] | None = None
        self.closed: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not data:
            return
        chunks = self.chunks
        if len(data) < _SMALL_CHUNK and chunks:
            # A peer sending tiny pieces would otherwise cost an object per few bytes
            # (megabytes before the high-water mark stops reading): small ones are merged.
            tail = chunks[-1]
            if not isinstance(tail, memoryview) and len(tail) < _MERGE_LIMIT:
                if type(tail) is bytes:
                    tail = chunks[-1] = bytearray(tail)
                tail += data
            else:
                chunks.append(data)
        else:
            chunks.append(data)
        self.buffered += len(data)
        if self.buffered > self.high_water and not self.reading_paused:
            assert self.transport is not None
            self.reading_paused = True
            self.transport.pause_reading()
        waiter = self.read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        # Keep a TCP transport open: the owner may still be sending to a half-closed peer.
        # Under TLS asyncio ignores the answer and logs a warning when it is True.
        return not self.tls

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        self.error = exc
        self._wake_reader()
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def _wake_reader(self) -> None:
        waiter = self.read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)


async def _abort_and_settle(transport: asyncio.Transport) -> None:
    """Abort, then let the loop run its close callback so the socket is gone on return.

    After a failed ``start_tls`` the transport belongs to asyncio's SSL protocol, which does
    not tell ours about the close; one loop turn is what ``abort()`` needs to close the fd.
    """
    transport.abort()
    await asyncio.sleep(0)


#: At most this much is read from a socket whose transport failed a write (an early answer
#: is a head and a short body).
_SALVAGE_LIMIT = 256 * 1024


def _salvage_unread(transport: asyncio.Transport, protocol: _StreamProtocol) -> None:
    """Read, without waiting, what the kernel still holds for a closing plain transport
    (asyncio stops reading a transport that failed a write), into the protocol's buffer.

    Written by hand: neither asyncio nor uvloop hands over the bytes left unread when a
    write fails. A duplicate of the descriptor is read, so the transport's own close stays
    the only close of its socket."""
    if protocol.tls:
        return  # TLS records need the SSL object: nothing readable here
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    try:
        duplicate = socket.socket(fileno=os.dup(sock.fileno()))
    except (OSError, ValueError):
        return
    with duplicate:
        while protocol.buffered < _SALVAGE_LIMIT:
            try:
                data = duplicate.recv(65536, socket.MSG_DONTWAIT)
            except OSError:  # nothing more now (EAGAIN), or the reset itself
                return
            if not data:
                protocol.eof = True
                return
            protocol.chunks.append(data)
            protocol.buffered += len(data)


def _take(chunks: deque[bytes | bytearray | memoryview], max_bytes: int) -> bytes:
    """Up to ``max_bytes`` from the front of ``chunks`` (which must not be empty).

    A chunk that fits is handed over as is (the usual case: no copy); a bigger one is cut,
    its rest kept as a memoryview, so each byte is copied once, into a piece no larger
    than ``max_bytes``. Small chunks that arrived together are joined up to the limit.
    """
    first = chunks[0]
    size = len(first)
    if size > max_bytes:
        view = first if isinstance(first, memoryview) else memoryview(first)
        chunks[0] = view[max_bytes:]
        return bytes(view[:max_bytes])
    chunks.popleft()
    if not chunks or size + len(chunks[0]) > max_bytes:
        return first if type(first) is bytes else bytes(first)
    parts = [first]
    while chunks and size + len(chunks[0]) <= max_bytes:
        chunk = chunks.popleft()
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


class AsyncIOStream:
    """A connected asyncio transport (TCP, TLS or Unix). One owner; ``aclose`` idempotent."""

    def __init__(
        self,
        transport: asyncio.Transport,
        protocol: _StreamProtocol,
        peer: str,
        trace: Trace | None = None,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._loop = protocol.loop
        self._peer = peer
        self._trace = trace
        self._closed = False
        #: Under TLS, the TCP transport beneath: the TLS layer hides both its buffer and
        #: its failure from ``transport`` (see write).
        self._raw: asyncio.Transport | None = None
        # The deadlines (loop time) of the timed waits in progress, one slot per direction
        # (0: read, 1: drain; 0.0 when none: a read and a write may wait at once), and the
        # one timer the stream keeps for both (see _wait).
        self._deadlines = [0.0, 0.0]
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._poller: Any = None  # select.poll for is_readable, made on first use

    def _loop_gone(self) -> bool:
        """The stream's event loop is closed, or is not the one running now (a client used
        under another loop): the transport can no longer be waited on or closed from here."""
        loop = self._loop
        if loop.is_closed():
            return True
        try:
            return asyncio.get_running_loop() is not loop
        except RuntimeError:  # no loop running (a finalizer): nothing to compare with
            return False

    def _gone_error(self) -> ConnectionError:
        return ConnectionError(
            "the connection belongs to another event loop, which has closed or is not running"
        )

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffered:
            if self._closed:
                raise read_failure(self._peer, ConnectionError("the stream is closed"))
            if not protocol.eof:
                await self._wait(timeout, drain=False)
        if protocol.buffered:
            data = _take(protocol.chunks, max_bytes)
            protocol.buffered -= len(data)
            if (
                protocol.reading_paused
                and protocol.buffered <= protocol.high_water // 4
                and not self._loop_gone()  # (if it is, the next read fails: see _wait)
            ):
                protocol.reading_paused = False
                self._transport.resume_reading()
            return data
        if protocol.error is not None:
            raise read_failure(self._peer, protocol.error) from protocol.error
        return b""

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        protocol = self._protocol
        if self._broken():
            await self._write_failed()
        if not data:
            return
        transport = self._transport
        if self._raw is None:
            transport.write(data)
            if transport.is_closing() and not protocol.lost:
                # The write failed (a reset, a broken pipe): the transport closes the socket
                # on the next loop turn and drops what the peer sent before, typically its
                # early answer (413, 401) the caller needs more than the broken pipe. Take
                # it now.
                _salvage_unread(transport, protocol)
                await self._write_failed()
            if protocol.writing_paused:
                await self._wait(timeout, drain=True)
                if protocol.lost:
                    await self._write_failed()
            return
        # TLS: asyncio encrypts a write at once and hands it all to the TCP transport,
        # whose buffer the TLS layer does not count: one big write would never pause us
        # (no write timeout, no early answer noticed, a dead peer fed for ever). In
        # pieces, the TLS layer's own buffer fills once TCP pauses, and pauses us.
        view = memoryview(data)
        for start in range(0, len(view), _TLS_WRITE_PIECE):
            transport.write(view[start : start + _TLS_WRITE_PIECE])
            if self._broken():
                await self._write_failed()
            if protocol.writing_paused:
                await self._wait(timeout, drain=True)
                if self._broken():
                    await self._write_failed()

    def _broken(self) -> bool:
        raw = self._raw
        return (
            self._closed
            or self._protocol.lost
            or self._transport.is_closing()
            or (raw is not None and raw.is_closing())
        )

    async def _write_failed(self) -> NoReturn:
        """Raise the WriteError of a failed or closed connection, caused by the OS error:
        asyncio hands it to ``connection_lost`` a loop turn or two after the failed send."""
        protocol = self._protocol
        for _ in range(3):
            if protocol.lost or self._closed:
                break
            await asyncio.sleep(0)
        error = protocol.error
        if error is None:
            raise write_failure(self._peer, None)
        raise write_failure(self._peer, error) from error

    async def _wait(self, timeout: float | None, *, drain: bool) -> None:
        """Wait for data/EOF (or for the write buffer to drain), at most ``timeout`` s.

        The timer is lazy: a wait only records its deadline (in its direction's slot), and
        arms the stream's timer only if none is armed or the armed one is due later. When
        the timer fires, it expires the waits that are due and re-arms itself for the
        earliest deadline left (an earlier, finished wait may have armed it). Back-to-back reads on a keep-alive connection so cost one float instead of a
        timer created and cancelled each: with uvloop that is a libuv handle opened and closed
        per read, and dropping it cut the async client's CPU per request by about 6%.
        """
        protocol = self._protocol
        loop = self._loop
        if self._loop_gone():
            # A response streamed in one asyncio.run() and read in the next: its body
            # cannot come any more; a wirekit error says so, not asyncio's RuntimeError.
            if drain:
                raise write_failure(self._peer, self._gone_error())
            raise read_failure(self._peer, self._gone_error())
        waiter: asyncio.Future[bool] = loop.create_future()
        if drain:
            protocol.drain_waiter = waiter
        else:
            protocol.read_waiter = waiter
        slot = 1 if drain else 0
        if timeout is not None:
            deadline = loop.time() + timeout
            self._deadlines[slot] = deadline
            timer = self._timer
            if timer is None or self._timer_at > deadline:
                if timer is not None:
                    timer.cancel()
                self._timer = loop.call_at(deadline, self._on_timer)
                self._timer_at = deadline
        try:
            woken = await waiter
        except BaseException:
            # Cancelled mid-read or mid-write: the caller's protocol state is unknown, so the
            # connection cannot be reused; close it now so no socket outlives the task.
            self._abort()
            raise
        finally:
            if drain:
                protocol.drain_waiter = None
            else:
                protocol.read_waiter = None
            self._deadlines[slot] = 0.0
        if not woken:
            if drain:
                raise write_timeout(self._peer, timeout)
            raise read_timeout(self._peer, timeout)

    def _on_timer(self) -> None:
        self._timer = None
        protocol = self._protocol
        # Within a millisecond counts as due: uvloop's clock has millisecond steps, and a
        # timer re-armed for less would spin until the clock moves.
        now = self._loop.time() + 0.001
        next_at = 0.0
        for slot, waiter in enumerate((protocol.read_waiter, protocol.drain_waiter)):
            deadline = self._deadlines[slot]
            if not deadline or waiter is None or waiter.done():
                continue  # no timed wait in this direction
            if now >= deadline:
                waiter.set_result(False)
            elif not next_at or deadline < next_at:
                next_at = deadline
        if next_at:
            self._timer = self._loop.call_at(next_at, self._on_timer)
            self._timer_at = next_at

    def _stop_timer(self) -> None:
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    def _abort(self) -> None:
        self._closed = True
        self._stop_timer()
        self._transport.abort()

    def abort(self) -> None:
        """Close at once, without I/O or awaiting (a finalizer's way to close)."""
        if self._loop.is_closed():
            # A finalizer run after its loop closed (asyncio.run() returned a streamed
            # response): the transport cannot schedule its close any more, and raising here
            # would print a traceback at exit. Its own finalizer closes the socket.
            self._closed = True
            self._timer = None
            return
        self._abort()

    async def aclose(self) -> None:
        if self._loop_gone():
            self.abort()  # the other loop closes the socket when it runs, or its finalizer
            return
        self._stop_timer()
        if self._closed:
            if not self._protocol.lost:
                self._transport.abort()
            return
        self._closed = True
        transport = self._transport
        if transport.get_extra_info("sslcontext") is not None or transport.get_write_buffer_size():
            # TLS: no close_notify round trip (as httpcore does): HTTP framing already detects
            # truncation (RFC 9112 §9.8) and many servers never answer close_notify.
            # Unsent data: a peer that stopped reading would hold close() for CLOSE_TIMEOUT;
            # the owner is done with the connection, so the bytes are moot.
            transport.abort()
        else:
            transport.close()
        protocol = self._protocol
        if protocol.lost:
            return
        # Wait for connection_lost, so the file descriptor is really gone when we return.
        handle = self._loop.call_later(CLOSE_TIMEOUT, transport.abort)
        try:
            await asyncio.shield(protocol.closed)
        except asyncio.CancelledError:
            transport.abort()
            raise
        finally:
            handle.cancel()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None = None,
    ) -> AsyncIOStream:
        """Upgrade to TLS with ``loop.start_tls``. On failure the connection is closed."""
        if self._trace is not None:
            self._trace("tls.start", {"server_hostname": server_hostname})
        protocol = self._protocol
        transport = self._transport
        self._closed = True  # the TLS stream owns the transport from here on
        self._stop_timer()
        protocol.tls = True
        # asyncio's own handshake timer (default 60 s) must not beat ours: it raises a bare
        # ConnectionAbortedError. It has no "none": without a limit of ours, a year.
        handshake_limit = 365 * 86400.0 if timeout is None else timeout + 1.0
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                tls_transport = await self._loop.start_tls(
                    transport,
                    protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=handshake_limit,
                )
        except TimeoutError as exc:
            await _abort_and_settle(transport)
            if scope.expired():
                raise tls_timeout(server_hostname, timeout) from exc
            raise tls_failure(server_hostname, exc) from exc
        except (OSError, ssl.SSLError) as exc:
            await _abort_and_settle(transport)
            raise tls_failure(server_hostname, exc) from exc
        except BaseException:
            transport.abort()
            raise
        if tls_transport is None:  # pragma: no cover - only if the loop dropped the connection
            transport.abort()
            raise tls_failure(server_hostname, ConnectionError("connection lost"))
        protocol.transport = tls_transport
        stream = AsyncIOStream(tls_transport, protocol, self._peer, self._trace)
        stream._raw = transport
        if self._trace is not None:
            info = tls_details(tls_transport.get_extra_info("ssl_object"))
            trace_done(self._trace, "tls.done", info, tls_transport.abort)
        return stream

    def get_extra_info(self, name: str) -> Any:
        if name == "alpn_protocol":
            ssl_object = self._transport.get_extra_info("ssl_object")
            return None if ssl_object is None else ssl_object.selected_alpn_protocol()
        return self._transport.get_extra_info(name)

    def is_readable(self) -> bool:
        """Data or EOF is waiting: on an idle keep-alive connection it means "stale"."""
        protocol = self._protocol
        if protocol.buffered or protocol.eof or protocol.lost or self._closed:
            return True
        if self._loop_gone():
            return True  # opened on another event loop (a second asyncio.run, a Runner)
        # What the loop has not handed over yet: bytes or a FIN that came since it last
        # polled (the caller may not have yielded to it since the connection went idle).
        # poll(0), with one poller kept per stream, as the sync stream does.
        poller = self._poller
        try:
            if poller is None:
                sock = self._transport.get_extra_info("socket")
                if sock is None:
                    return False
                poller = select.poll()
                poller.register(sock.fileno(), select.POLLIN)
                self._poller = poller
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True


async def open_stream(
    sock: socket.socket,
    peer: str,
    *,
    trace: Trace | None = None,
    read_buffer_high_water: int = READ_BUFFER_HIGH_WATER,
) -> AsyncIOStream:
    """Hand a connected socket to the event loop; the stream owns it (closed on failure)."""
    loop = asyncio.get_running_loop()
    try:
        sock.setblocking(False)
        transport, protocol = await loop.create_connection(
            lambda: _StreamProtocol(loop, read_buffer_high_water), sock=sock
        )
    except BaseException:
        sock.close()
        raise
    return AsyncIOStream(transport, protocol, peer, trace)


async def resolve_within(
    resolver: AsyncResolver, host: str, port: int, *, family: int, timeout: float | None
) -> list[Address]:
    """``resolver.resolve`` bounded by ``timeout`` (None: no limit); the twin of
    ``wirekit._io.sync.resolve_within``: the resolver's own errors become
    NameResolutionError, running out of time a ConnectTimeout that names the lookup."""
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            resolved = await resolver.resolve(host, port, family=family)
    except TimeoutError as exc:
        if scope.expired():
            raise resolve_timeout(host_port(host, port), timeout) from exc
        raise resolution_failure(host, exc) from exc
    except (OSError, UnicodeError) as exc:
        raise resolution_failure(host, exc) from exc
    return keep_family(host, resolved, family)


class _AResolveAdapter:
    """Lets a resolver that serves both worlds (``resolve`` sync, ``aresolve`` async, like
    ``wirekit.net.CachingResolver``) be handed to the async backend as it is."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]:
        result: list[Address] = await self._inner.aresolve(host, port, family=family)
        return result


class AsyncIOBackend:
    """Opens asyncio streams. ``resolver`` replaces DNS (tests inject fakes); one with an
    ``aresolve`` method (``wirekit.net.CachingResolver``) is used through it."""

    def __init__(
        self,
        *,
        resolver: AsyncResolver | Any | None = None,
        attempt_delay: float = CONNECTION_ATTEMPT_DELAY,
        read_buffer_high_water: int = READ_BUFFER_HIGH_WATER,
    ) -> None:
        if resolver is not None and hasattr(resolver, "aresolve"):
            resolver = _AResolveAdapter(resolver)
        elif resolver is not None:
            resolve = getattr(resolver, "resolve", None)
            if not callable(resolve):
                raise TypeError(
                    f"resolver {resolver!r} has no resolve(host, port, *, family) method"
                )
            if not inspect.iscoroutinefunction(resolve):
                # A blocking resolver (the kind Client takes) is run in the lookup threads,
                # as the system one is: it works with either client, never blocks the loop.
                resolver = _InLookupThreads(cast(Resolver, resolver))
        self.resolver: AsyncResolver = resolver if resolver is not None else AsyncSystemResolver()
        self.attempt_delay = attempt_delay
        self.read_buffer_high_water = read_buffer_high_water

    async def connect_tcp(
        self,
        host: str,
        port: int,
        *,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        family: int = 0,
        trace: Trace | None = None,
    ) -> AsyncIOStream:
        """Connect to ``host:port``; ``timeout`` bounds DNS plus every attempt together."""
        options = list(socket_options or ())
        scope = asyncio.timeout(timeout)
        resolving = False
        connecting: Address | None = None  # the single attempt under way
        unfinished: list[Address] = []  # the attempts a race left under way when it ended
        try:
            async with scope:
                addresses = literal_addresses(host, port, family)
                if addresses is None:
                    if trace is not None:
                        trace("dns.start", {"host": host})
                    resolving = True
                    try:
                        resolved = await self.resolver.resolve(host, port, family=family)
                    except (OSError, UnicodeError) as exc:
                        # A custom resolver's own errors (socket.gaierror from getaddrinfo,
                        # say) are name-resolution failures too (DESIGN invariant 7).
                        raise resolution_failure(host, exc) from exc
                    resolving = False
                    addresses = keep_family(host, resolved, family)
                    if trace is not None:
                        trace("dns.done", {"host": host, "addresses": [a[1][0] for a in addresses]})
                if len(addresses) == 1:
                    connecting = addresses[0]
                    sock = await self._connect_one(
                        host, port, connecting, local_address, options, trace
                    )
                    connecting = None
                else:
                    sock = await self._race(
                        host, port, addresses, local_address, options, trace, unfinished
                    )
                return await open_stream(
                    sock,
                    host_port(host, port),
                    trace=trace,
                    read_buffer_high_water=self.read_buffer_high_water,
                )
        except TimeoutError as exc:
            if scope.expired():
                if resolving:  # the lookup stalled: no connection was ever attempted
                    raise resolve_timeout(host_port(host, port), timeout) from exc
                if trace is not None:
                    # As the blocking backend reports it: the attempts the timeout ended.
                    ended = unfinished if connecting is None else [connecting]
                    trace_unfinished(trace, ended, exc)
                raise connect_timeout(host_port(host, port), timeout) from exc
            raise

    async def _attempt(
        self,
        address: Address,
        local_address: str | None,
        options: list[SocketOption],
    ) -> socket.socket:
        sock = new_socket(address[0], local_address=local_address, socket_options=options)
        try:
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, address[1])
        except BaseException:
            sock.close()
            raise
        return sock

    async def _connect_one(
        self,
        host: str,
        port: int,
        address: Address,
        local_address: str | None,
        options: list[SocketOption],
        trace: Trace | None,
    ) -> socket.socket:
        if trace is not None:
            trace("connect.start", {"address": address[1]})
        try:
            sock = await self._attempt(address, local_address, options)
        except OSError as exc:
            if trace is not None:
                trace("connect.failed", {"address": address[1], "error": exc})
            raise connect_failure(host, port, [(address, exc)]) from exc
        if trace is not None:
            trace_done(trace, "connect.done", {"address": address[1]}, sock.close)
        return sock

    async def _race(
        self,
        host: str,
        port: int,
        addresses: list[Address],
        local_address: str | None,
        options: list[SocketOption],
        trace: Trace | None,
        unfinished: list[Address],
    ) -> socket.socket:
        """RFC 8305 §5 with one task per attempt; losers and leftovers are closed. Ended
        by an error, it leaves the attempts still under way in ``unfinished``."""
        loop = asyncio.get_running_loop()
        plan = AttemptPlan(addresses, attempt_delay=self.attempt_delay)
        tasks: dict[asyncio.Task[socket.socket], Address] = {}
        winner: socket.socket | None = None
        try:
            while winner is None:
                now = loop.time()
                due = plan.next_start_time(now)
                while due is not None and due <= now:
                    address = plan.start_next(now)
                    if trace is not None:
                        trace("connect.start", {"address": address[1]})
                    task = loop.create_task(self._attempt(address, local_address, options))
                    tasks[task] = address
                    due = plan.next_start_time(now)
                if not tasks and plan.exhausted:
                    raise connect_failure(host, port, plan.errors) from plan.errors[-1][1]
                wait = None if due is None else max(due - now, 0.0)
                done, _ = await asyncio.wait(
                    tasks, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    address = tasks.pop(task)
                    error = task.exception()
                    if error is None:
                        if winner is None:
                            winner = task.result()
                            if trace is not None:
                                trace_done(
                                    trace, "connect.done", {"address": address[1]}, winner.close
                                )
                        else:
                            task.result().close()
                    elif isinstance(error, OSError):
                        plan.attempt_failed(address, error, loop.time())
                        if trace is not None:
                            trace("connect.failed", {"address": address[1], "error": error})
                    else:
                        raise error
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                # Let each cancelled attempt close its own socket before we return/raise.
                try:
                    await asyncio.wait(tasks)
                except BaseException:
                    # Cancelled while reaping the losers: the winner goes too.
                    if winner is not None:
                        winner.close()
                    raise
                for task in tasks:
                    if not task.cancelled() and task.exception() is None:
                        task.result().close()
                if winner is None:
                    unfinished.extend(tasks.values())
                elif trace is not None:
                    try:
                        trace_unfinished(trace, tasks.values(), None)
                    except BaseException:
                        winner.close()  # the tracer raised: nothing is handed out
                        raise
        return winner

    async def connect_unix_socket(
        self,
        path: str,
        *,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        trace: Trace | None = None,
    ) -> AsyncIOStream:
        loop = asyncio.get_running_loop()
        if trace is not None:
            trace("connect.start", {"address": path})
        try:
            sock = unix_socket(socket_options)
        except OSError as exc:
            raise ConnectError(f"cannot open a Unix socket for {path}: {exc}") from exc
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                sock.setblocking(False)
                await loop.sock_connect(sock, path)
                # A Unix socket whose server's accept queue is full fails with EAGAIN, which
                # sock_connect takes for "in progress" and then reports as connected: ask,
                # and say what the blocking connect says.
                try:
                    sock.getpeername()
                except OSError as exc:
                    raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN)) from exc
                high_water = self.read_buffer_high_water
                transport, protocol = await loop.create_connection(
                    lambda: _StreamProtocol(loop, high_water), sock=sock
                )
        except TimeoutError as exc:
            sock.close()
            if scope.expired():
                raise connect_timeout(f"Unix socket {path}", timeout) from exc
            raise ConnectError(describe(exc, f"Unix socket {path}")) from exc
        except OSError as exc:
            sock.close()
            raise ConnectError(describe(exc, f"Unix socket {path}")) from exc
        except BaseException:
            sock.close()
            raise
        if trace is not None:
            trace_done(trace, "connect.done", {"address": path}, transport.abort)
        return AsyncIOStream(transport, protocol, path, trace)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
