"""The blocking network backend: plain sockets with per-call timeouts, TLS via ``ssl``.

``SyncBackend.connect_tcp`` races addresses with Happy Eyeballs (RFC 8305) using
non-blocking sockets and ``selectors``; streams then block with ``settimeout`` deadlines.
"""

from __future__ import annotations

import errno
import inspect
import os
import select
import selectors
import socket
import ssl
import struct
import time
from collections.abc import Iterable
from typing import Any, cast

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
from wirekit._io.base import Address, NetworkStream, Resolver, SocketOption, Trace
from wirekit._io.happy_eyeballs import CONNECTION_ATTEMPT_DELAY, AttemptPlan
from wirekit._io.lookups import lookup_threads
from wirekit.errors import ConnectError, chained

__all__ = ["SyncBackend", "SyncStream", "SystemResolver", "open_stream", "resolve_within"]

_IN_PROGRESS = frozenset({errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN})


class SystemResolver:
    """``socket.getaddrinfo``, in the order the system prefers (RFC 6724 via gai.conf).

    ``AI_ADDRCONFIG`` is not passed: glibc then ignores loopback when deciding which families
    are "configured", so ``localhost`` stops resolving in a container that only has ``lo``.
    Happy Eyeballs already makes an unusable family cheap (its attempt fails fast).
    The call cannot be interrupted: under a time limit it runs in a helper thread, which the
    caller stops waiting for when the limit runs out (see ``resolve_within``).
    """

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]:
        name = host.lower().rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            # RFC 6761 §6.3: always both loopbacks, whatever /etc/hosts says (containers
            # often list only 127.0.0.1): a server on ::1 alone is reached, as curl does.
            loopbacks: list[Address] = [
                (socket.AF_INET6, ("::1", port, 0, 0)),
                (socket.AF_INET, ("127.0.0.1", port)),
            ]
            return [address for address in loopbacks if not family or address[0] == family]
        try:
            infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        except (UnicodeError, OSError) as exc:
            raise chained(resolution_failure(host, exc), exc) from exc
        return [(info[0], info[4]) for info in infos]


def resolve_within(
    resolver: Resolver, host: str, port: int, *, family: int, timeout: float | None
) -> list[Address]:
    """``resolver.resolve`` bounded by ``timeout`` (None: wait as long as it takes).

    The resolver's own errors (socket.gaierror from getaddrinfo, say) become
    NameResolutionError (DESIGN invariant 7); running out of time is a ConnectTimeout that
    says the lookup was what stalled. Without a time limit, or for an IP literal (a resolver
    answers those at once), the resolver runs in the calling thread.
    """
    try:
        if timeout is None or literal_addresses(host, port, 0) is not None:
            resolved: list[Address] | None = resolver.resolve(host, port, family=family)
        else:
            resolved = lookup_threads().run(resolver, host, port, family, timeout)
    except (OSError, UnicodeError) as exc:
        raise chained(resolution_failure(host, exc), exc) from exc
    if resolved is None:
        raise resolve_timeout(host_port(host, port), timeout)
    return keep_family(host, resolved, family)


def _timeval(seconds: float | None) -> bytes:
    """``struct timeval`` for SO_RCVTIMEO/SO_SNDTIMEO; zero means no timeout."""
    if seconds is None:
        return struct.pack("@ll", 0, 0)
    whole = int(seconds)
    micro = max(int((seconds - whole) * 1_000_000), 0 if whole else 1)
    return struct.pack("@ll", whole, micro)


class SyncStream:
    """A connected blocking socket (plain or TLS). One owner; ``close()`` is idempotent.

    Plain TCP sockets stay in blocking mode with the timeouts set in the kernel
    (SO_RCVTIMEO / SO_SNDTIMEO): CPython's own socket timeouts poll() before every send and
    recv, which was two of the three system calls of a keep-alive request beyond the
    send and the recv themselves. TLS sockets keep CPython's timeouts, because the ssl
    module's blocking read loop does not expect the EAGAIN a kernel timeout produces.
    """

    __slots__ = (
        "_closed",
        "_kernel_timeouts",
        "_peer",
        "_poller",
        "_recv_timeout",
        "_send_timeout",
        "_sock",
        "_timeout",
        "_trace",
    )

    def __init__(self, sock: socket.socket, peer: str, trace: Trace | None = None) -> None:
        self._sock = sock
        self._peer = peer
        self._trace = trace
        self._closed = False
        self._poller: select.poll | None = None
        self._kernel_timeouts = not isinstance(sock, ssl.SSLSocket)
        if self._kernel_timeouts:
            sock.settimeout(None)
        self._timeout = sock.gettimeout()
        # Kernel timeouts currently set (None: none, i.e. block forever).
        self._recv_timeout: float | None = None
        self._send_timeout: float | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        sock = self._sock
        if self._kernel_timeouts:
            if timeout != self._recv_timeout:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))
                self._recv_timeout = timeout
        elif timeout != self._timeout:
            # settimeout is a system call pair (fcntl): only when the value changes.
            sock.settimeout(timeout)
            self._timeout = timeout
        try:
            return sock.recv(max_bytes)
        except (TimeoutError, BlockingIOError) as exc:
            raise chained(read_timeout(self._peer, timeout), exc) from exc
        except ssl.SSLEOFError as exc:
            # The TLS stream ended without close_notify (wrapped with suppress_ragged_eofs
            # off). OpenSSL 3 names a FIN "UNEXPECTED_EOF_WHILE_READING": the end, as
            # before (the HTTP framing judges a body cut short). Without a reason the read
            # itself failed: a reset, whose ECONNRESET the ssl module loses on the way;
            # taken for an EOF it would end a close-delimited body as if complete.
            # getattr: typeshed says str, but it is None here (and compiled code checks).
            reason: object = getattr(exc, "reason", None)
            if reason or ssl.OPENSSL_VERSION_INFO < (3,):
                return b""
            reset = ConnectionResetError(errno.ECONNRESET, os.strerror(errno.ECONNRESET))
            reset.__cause__ = exc  # the cause is the reset, as over TCP and in AsyncClient
            raise chained(read_failure(self._peer, reset), reset) from reset
        except OSError as exc:
            raise chained(read_failure(self._peer, exc), exc) from exc

    def write(self, data: bytes, timeout: float | None = None) -> None:
        if not data:
            return
        sock = self._sock
        self._set_send_timeout(timeout)
        try:
            if timeout is None:
                sock.sendall(data)
            else:
                # ``timeout`` bounds the whole write. A send timeout (kernel or CPython's
                # for TLS) bounds one send only, and a peer that keeps reading slowly makes
                # each send progress a little: so each send gets only the time left.
                ends = time.monotonic() + timeout
                sent = sock.send(data)
                if sent < len(data):
                    view = memoryview(data)[sent:]
                    while view:
                        left = ends - time.monotonic()
                        if left <= 0:
                            raise TimeoutError
                        self._set_send_timeout(left)
                        view = view[sock.send(view) :]
        except (TimeoutError, BlockingIOError) as exc:
            raise chained(write_timeout(self._peer, timeout), exc) from exc
        except OSError as exc:
            raise chained(write_failure(self._peer, exc), exc) from exc

    def abort(self) -> None:
        """Close at once (the async stream's name for it, which a finalizer uses)."""
        self.close()

    def _set_send_timeout(self, timeout: float | None) -> None:
        if self._kernel_timeouts:
            if timeout != self._send_timeout:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(timeout))
                self._send_timeout = timeout
        elif timeout != self._timeout:
            self._sock.settimeout(timeout)
            self._timeout = timeout

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # Wakes a thread blocked reading this socket (a response closed from another
            # thread): close() alone leaves its recv() waiting until data or its timeout.
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected any more
        try:
            self._sock.close()
        except OSError:
            pass

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None = None,
    ) -> NetworkStream:
        """Upgrade to TLS. On failure the connection is closed (it is unusable anyway)."""
        if self._trace is not None:
            self._trace("tls.start", {"server_hostname": server_hostname})
        if isinstance(self._sock, ssl.SSLSocket):
            # Already TLS (an HTTPS proxy tunnel): SSLSocket cannot nest, SSLObject can.
            from wirekit._io.tls_in_tls import TLSOverStream

            return TLSOverStream.wrap(
                self,
                ssl_context,
                server_hostname,
                peer=self._peer,
                timeout=timeout,
                trace=self._trace,
            )
        if timeout != self._timeout:
            self._sock.settimeout(timeout)
            self._timeout = timeout
        try:
            tls = ssl_context.wrap_socket(
                self._sock,
                server_hostname=server_hostname,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=False,  # a reset must not pass for the end: see read()
            )
        except (OSError, ValueError) as exc:
            self.close()
            raise chained(tls_failure(server_hostname, exc), exc) from exc
        # wrap_socket detached our socket: the TLS socket owns the file descriptor now.
        self._closed = True
        try:
            tls.do_handshake()
        except (TimeoutError, BlockingIOError) as exc:
            tls.close()
            raise chained(tls_timeout(server_hostname, timeout), exc) from exc
        except OSError as exc:
            tls.close()
            raise chained(tls_failure(server_hostname, exc), exc) from exc
        except BaseException:
            tls.close()
            raise
        if self._trace is not None:
            trace_done(self._trace, "tls.done", tls_details(tls), tls.close)
        return SyncStream(tls, self._peer, self._trace)

    def get_extra_info(self, name: str) -> Any:
        sock = self._sock
        if name == "ssl_object":
            return sock if isinstance(sock, ssl.SSLSocket) else None
        if name == "alpn_protocol":
            return sock.selected_alpn_protocol() if isinstance(sock, ssl.SSLSocket) else None
        if name == "socket":
            return sock
        try:
            if name == "peername":
                return sock.getpeername()
            if name == "sockname":
                return sock.getsockname()
        except OSError:
            return None
        return None

    def is_readable(self) -> bool:
        """Data or EOF is waiting: on an idle keep-alive connection it means "stale"."""
        if self._closed:
            return True
        sock = self._sock
        # Kernel timeouts are for plain TCP only: without them it is a TLS socket.
        if not self._kernel_timeouts and cast(ssl.SSLSocket, sock).pending():
            return True
        # poll(0) with one poller kept per stream: EOF, stray bytes, or an error mean stale.
        # (A MSG_PEEK recv answers the same but raises BlockingIOError on every idle
        # connection; measured, it made each reused keep-alive GET ~3 µs dearer.)
        poller = self._poller
        try:
            if poller is None:
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                self._poller = poller
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True


def open_stream(sock: socket.socket, peer: str, *, trace: Trace | None = None) -> SyncStream:
    """Wrap a connected socket; the stream owns it (closed on failure). The blocking twin of
    ``wirekit._io.asyncio.open_stream``, so code generated by unasync calls it by that name."""
    try:
        return SyncStream(sock, peer, trace)
    except BaseException:
        sock.close()
        raise


class SyncBackend:
    """Opens blocking streams. ``resolver`` replaces DNS (tests inject fakes)."""

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        attempt_delay: float = CONNECTION_ATTEMPT_DELAY,
    ) -> None:
        if resolver is not None:
            resolve = getattr(resolver, "resolve", None)
            if not callable(resolve):
                raise TypeError(
                    f"resolver {resolver!r} has no resolve(host, port, *, family) method"
                )
            if inspect.iscoroutinefunction(resolve):
                # Found at the first request, it would be "'coroutine' object is not
                # iterable" and a never-awaited warning.
                raise TypeError(
                    f"resolver {resolver!r} is async (its resolve() is a coroutine): give it "
                    "to the async client, or give this one a resolver whose resolve() "
                    "returns the addresses"
                )
        self.resolver: Resolver = resolver if resolver is not None else SystemResolver()
        self.attempt_delay = attempt_delay

    def connect_tcp(
        self,
        host: str,
        port: int,
        *,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        family: int = 0,
        trace: Trace | None = None,
    ) -> SyncStream:
        """Connect to ``host:port``; ``timeout`` bounds DNS plus every attempt together."""
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        options = list(socket_options or ())
        addresses = literal_addresses(host, port, family)
        if addresses is None:
            if trace is not None:
                trace("dns.start", {"host": host})
            addresses = resolve_within(self.resolver, host, port, family=family, timeout=timeout)
            if trace is not None:
                trace("dns.done", {"host": host, "addresses": [a[1][0] for a in addresses]})
            if deadline is not None and time.monotonic() >= deadline:
                raise connect_timeout(host_port(host, port), timeout, "resolving and connecting")
        if len(addresses) == 1:
            sock = self._connect_one(
                host, port, addresses[0], deadline, timeout, local_address, options, trace
            )
        else:
            sock = self._race(
                host, port, addresses, deadline, timeout, local_address, options, trace
            )
        return SyncStream(sock, host_port(host, port), trace)

    def _connect_one(
        self,
        host: str,
        port: int,
        address: Address,
        deadline: float | None,
        timeout: float | None,
        local_address: str | None,
        options: list[SocketOption],
        trace: Trace | None,
    ) -> socket.socket:
        if trace is not None:
            trace("connect.start", {"address": address[1]})
        try:
            sock = new_socket(address[0], local_address=local_address, socket_options=options)
        except OSError as exc:
            raise chained(connect_failure(host, port, [(address, exc)]), exc) from exc
        try:
            sock.settimeout(None if deadline is None else max(deadline - time.monotonic(), 1e-6))
            sock.connect(address[1])
        except TimeoutError as exc:
            sock.close()
            if trace is not None:
                trace("connect.failed", {"address": address[1], "error": exc})
            raise chained(connect_timeout(host_port(host, port), timeout), exc) from exc
        except OSError as exc:
            sock.close()
            if trace is not None:
                trace("connect.failed", {"address": address[1], "error": exc})
            raise chained(connect_failure(host, port, [(address, exc)]), exc) from exc
        except BaseException:
            sock.close()
            raise
        if trace is not None:
            trace_done(trace, "connect.done", {"address": address[1]}, sock.close)
        return sock

    def _race(
        self,
        host: str,
        port: int,
        addresses: list[Address],
        deadline: float | None,
        timeout: float | None,
        local_address: str | None,
        options: list[SocketOption],
        trace: Trace | None,
    ) -> socket.socket:
        """RFC 8305 §5: staggered non-blocking connects; the first to finish wins."""
        plan = AttemptPlan(addresses, attempt_delay=self.attempt_delay)
        selector = selectors.DefaultSelector()
        pending: dict[socket.socket, Address] = {}
        winner: socket.socket | None = None
        ended: BaseException | None = None  # what ended the race, if not a winner

        def failed(address: Address, exc: OSError) -> None:
            plan.attempt_failed(address, exc, time.monotonic())
            if trace is not None:
                trace("connect.failed", {"address": address[1], "error": exc})

        try:
            while winner is None:
                now = time.monotonic()
                due = plan.next_start_time(now)
                while winner is None and due is not None and due <= now:
                    address = plan.start_next(now)
                    if trace is not None:
                        trace("connect.start", {"address": address[1]})
                    try:
                        sock = new_socket(
                            address[0], local_address=local_address, socket_options=options
                        )
                    except OSError as exc:
                        failed(address, exc)
                    else:
                        sock.setblocking(False)
                        code = sock.connect_ex(address[1])
                        if code == 0:
                            winner = sock
                            if trace is not None:
                                trace_done(
                                    trace, "connect.done", {"address": address[1]}, sock.close
                                )
                        elif code in _IN_PROGRESS:
                            pending[sock] = address
                            selector.register(sock, selectors.EVENT_WRITE, address)
                        else:
                            sock.close()
                            failed(address, OSError(code, os.strerror(code)))
                    due = plan.next_start_time(now)
                if winner is not None:
                    break
                if not pending and plan.exhausted:
                    raise chained(
                        connect_failure(host, port, plan.errors), plan.errors[-1][1]
                    ) from plan.errors[-1][1]
                wait = None if due is None else max(due - now, 0.0)
                if deadline is not None:
                    left = deadline - now
                    if left <= 0:
                        raise connect_timeout(host_port(host, port), timeout)
                    wait = left if wait is None else min(wait, left)
                for key, _ in selector.select(wait):
                    sock = key.fileobj  # type: ignore[assignment]
                    address = key.data
                    selector.unregister(sock)
                    del pending[sock]
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code == 0 and winner is None:
                        winner = sock
                        if trace is not None:
                            trace_done(trace, "connect.done", {"address": address[1]}, sock.close)
                    elif code == 0:
                        sock.close()  # a second success in the same wake-up: keep one
                    else:
                        sock.close()
                        failed(address, OSError(code, os.strerror(code)))
        except BaseException as exc:
            ended = exc
            raise
        finally:
            for sock in pending:
                sock.close()
            selector.close()
            if pending and trace is not None:
                try:
                    trace_unfinished(trace, pending.values(), ended)
                except BaseException:
                    if winner is not None:
                        winner.close()  # the tracer raised: nothing is handed out
                    raise
        winner.setblocking(True)
        return winner

    def connect_unix_socket(
        self,
        path: str,
        *,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
        trace: Trace | None = None,
    ) -> SyncStream:
        if trace is not None:
            trace("connect.start", {"address": path})
        try:
            sock = unix_socket(socket_options)
        except OSError as exc:
            raise chained(
                ConnectError(f"cannot open a Unix socket for {path}: {exc}"), exc
            ) from exc
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except TimeoutError as exc:
            sock.close()
            raise chained(connect_timeout(f"Unix socket {path}", timeout), exc) from exc
        except OSError as exc:
            sock.close()
            raise chained(ConnectError(describe(exc, f"Unix socket {path}")), exc) from exc
        except BaseException:
            sock.close()
            raise
        if trace is not None:
            trace_done(trace, "connect.done", {"address": path}, sock.close)
        return SyncStream(sock, path, trace)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
