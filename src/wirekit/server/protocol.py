"""The asyncio Protocol that drives one HTTP/1.1 server connection.

Bytes go into the sans-IO ``HTTP1Connection``; its events start one request cycle at a time
(pipelined requests wait their turn, so answers leave in order). The cycle (ASGI, WSGI or
WebSocket) calls back into this protocol to write. ``ServerState`` is what all connections of
one server share: config, app, cached Date header, deadlines sweep and overload counters.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Protocol, cast

from wirekit._proto.http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    HTTP1Connection,
    ProtocolViolation,
    Request,
    State,
    Upgrade,
)
from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.server.accesslog import AccessLogger, AccessLogRecord
from wirekit.server.config import ServerConfig
from wirekit.server.errors import ClientDisconnected
from wirekit.server.proxy_protocol import NEED_MORE, ProxyInfo, parse_proxy_header

if TYPE_CHECKING:  # pragma: no cover
    import ssl

    from wirekit.server.proxy_headers import ProxyHeadersPolicy

__all__ = ["ClientDisconnected", "Cycle", "HTTPServerProtocol", "ServerState", "plain_response"]

logger = logging.getLogger("wirekit.server")

#: How often the sweep runs: deadlines are enforced to within this many seconds.
SWEEP_INTERVAL = 0.5

#: Over TLS, how often a closing connection checks that its answer has left the buffers.
_DRAIN_POLL = 0.02

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    503: b"Service Unavailable",
    505: b"HTTP Version Not Supported",
}


def plain_response(status: int, text: str, *, extra: bytes = b"") -> bytes:
    """A complete ``Connection: close`` answer, for errors sent outside the parser's state
    (the parser may be broken by the request that caused them)."""
    body = text.encode("utf-8", "replace")
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n%s\r\n%s"
        % (status, _REASONS.get(status, b"Error"), len(body), extra, body)
    )


#: A start time that never comes: the body of a request not yet asked for is not timed.
_NEVER = float("inf")

#: How long a graceful shutdown waits for the first request of a connection accepted just
#: before it began. Such a connection looks idle, but its client has sent (or is sending) a
#: request it expects an answer to and will not retry: closing it at once lost requests
#: during worker rolls (SIGHUP). Idle keep-alive connections are closed at once, as before:
#: clients retry a request on a reused connection that closes.
FIRST_REQUEST_GRACE = 1.0

#: SO_LINGER on, 0 s: close() sends a reset and drops what is unsent.
_LINGER_RESET = struct.pack("ii", 1, 0)


class Cycle(Protocol):
    """One request being handled: what the connection needs to tell it."""

    def feed_body(self, data: bytes) -> None: ...
    def end_body(self) -> None: ...
    def client_closed(self) -> None: ...  # FIN after the request: the answer can still go
    def connection_lost(self) -> None: ...
    def resume_writing(self) -> None: ...


class ServerState:
    """Everything the connections of one server share (one per event loop)."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        start_cycle: Callable[[HTTPServerProtocol, Request], Cycle],
        ssl_context: ssl.SSLContext | None = None,
        on_connection: Callable[[HTTPServerProtocol], None] | None = None,
        access_logger: AccessLogger | None = None,
    ) -> None:
        self.config = config
        #: config.max_connections, or fewer when the open-file limit allows fewer (main.py).
        self.max_connections = config.max_connections
        self.access_logger = access_logger
        #: --proxy-headers: whom the access log names for answers given before the app's
        #: cycle starts (the health path, 503s); the Server sets it.
        self.proxy_policy: ProxyHeadersPolicy | None = None
        #: The --health-path target as bytes (None never equals a request target).
        self.health_target = config.health_path.encode() if config.health_path else None
        self.start_cycle = start_cycle
        self.ssl_context = ssl_context
        self.on_connection = on_connection
        self.connections: set[HTTPServerProtocol] = set()
        #: TLS connections still in their handshake (wirekit.server.tls_accept): they count
        #: against max_connections too.
        self.handshakes: set[Any] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.in_flight = 0
        #: Requests being handled at once before new ones get 503: the queue limit plus,
        #: for WSGI, the requests the threads are running (set by the Server).
        self.max_in_flight = config.max_pending_requests
        self.shutting_down = False
        self.now = time.monotonic()
        self.server_header = (
            [(b"server", config.server_header.encode("latin-1"))] if config.server_header else []
        )
        self.default_headers: list[tuple[bytes, bytes]] = []
        self._date_second = -1
        self.refresh_clock()
        self.overload_response = plain_response(
            503,
            "server overloaded, try again later\n",
            extra=b"retry-after: %d\r\n" % config.retry_after,
        )
        self.timeout_response = plain_response(408, "request took too long\n")
        self._sweeper: asyncio.TimerHandle | None = None
        #: Connections holding whole answers until this loop turn ends (see release_held).
        self.holding: list[HTTPServerProtocol] = []
        #: ASGI apps whose tasks are made but have not started yet: while there are some,
        #: a whole answer is held for them to run first (see release_held).
        self.starting = 0
        #: WSGI (set by the Server): answers come from the loop's own callbacks, with no
        #: app code between them, so they are held whenever other requests are under way.
        self.hold_while_busy = False

    def connection_count(self) -> int:
        """Connections held now: serving ones and TLS ones still in their handshake."""
        return len(self.connections) + len(self.handshakes)

    def refresh_clock(self) -> None:
        """Update ``now`` and, once a second, the cached Date header (RFC 9110 §6.6.1)."""
        self.now = time.monotonic()
        second = int(time.time())
        if second != self._date_second:
            self._date_second = second
            headers = list(self.server_header)
            if self.config.date_header:
                headers.append((b"date", formatdate(second, usegmt=True).encode("ascii")))
            self.default_headers = headers

    def release_held(self) -> None:
        """Write the answers held during the loop turn that just ended, one after another.

        A complete answer is held, not written at once, while the apps of other requests
        are queued to run in this turn (ASGI) or other requests are under way (WSGI):
        the apps then run back to back instead of each between two sends, whose kernel
        paths (loopback delivery included) evict the caches the next app needs. Only apps
        queued to start count: an answer is not held for an app that was already running
        (one woken by an event, or work the app does after its answer).
        wrk, 64 connections, compiled ASGI, interleaved runs on a busy machine: 1 KiB JSON
        median 19,700 requests/s against 15,700 written at once.
        """
        holding = self.holding
        self.holding = []
        for protocol in holding:
            protocol.send_held()

    def start_sweeping(self, loop: asyncio.AbstractEventLoop) -> None:
        def sweep() -> None:
            self.refresh_clock()
            now = self.now
            for connection in list(self.connections):
                connection.check_deadline(now)
            self._sweeper = loop.call_later(SWEEP_INTERVAL, sweep)

        self._sweeper = loop.call_later(SWEEP_INTERVAL, sweep)

    def stop_sweeping(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None


class HTTPServerProtocol(asyncio.Protocol):
    """One client connection: parse, dispatch one cycle at a time, write, enforce deadlines."""

    __slots__ = (
        "_close_after",
        "_in_process",
        "_next_after_body",
        "body_paused",
        "body_received",
        "body_started",
        "client",
        "conn",
        "cycle",
        "deadline",
        "deadline_reason",
        "drain_left",
        "drain_since",
        "drain_timer",
        "drop_body",
        "fresh_until",
        "head_started",
        "held",
        "log_peer",
        "log_request",
        "log_sent",
        "log_started",
        "log_status",
        "loop",
        "parked",
        "pipeline_paused",
        "proxy_buffer",
        "raw_transport",
        "reading_body",
        "scheme",
        "server",
        "state",
        "transport",
        "upgraded",
        "write_high_water",
        "write_paused",
        "write_paused_since",
        "wsgi_environ",
    )

    def __init__(self, state: ServerState) -> None:
        config = state.config
        self.state = state
        self.loop = asyncio.get_running_loop()
        self.conn = HTTP1Connection(
            "server",
            max_header_bytes=config.max_header_bytes,
            max_header_count=config.max_header_count,
            max_line_bytes=config.max_line_bytes,
            max_body_bytes=config.max_body_bytes,
        )
        self.transport: asyncio.Transport | None = None
        #: A whole answer (or several pipelined ones) written once the apps queued in this
        #: turn ran (ServerState.release_held); any other write or close sends it first.
        self.held: bytes | None = None
        #: Over TLS, the socket transport under ``transport`` (set by tls_accept), whose
        #: buffer close() waits on; None over plain TCP.
        self.raw_transport: asyncio.Transport | None = None
        self.drain_timer: asyncio.TimerHandle | None = None
        self.drain_left = 0
        self.drain_since = 0.0
        self.cycle: Cycle | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.scheme = "http"
        #: The per-connection part of a WSGI environ (server, client, constants), built by
        #: the first request and copied by each (wirekit.server.wsgi.build_environ).
        self.wsgi_environ: dict[str, Any] | None = None
        self.deadline = 0.0
        self.deadline_reason = ""
        self.head_started = False
        #: Until when a graceful shutdown leaves this connection open for its first request.
        self.fresh_until = 0.0
        self.reading_body = False
        self.body_started = 0.0
        self.body_received = 0
        self.body_paused = False
        self._close_after = False
        self._in_process = False
        self._next_after_body = False
        self.write_paused = False
        self.write_paused_since = 0.0
        #: config.write_high_water, kept here so each ASGI cycle reads it with one lookup.
        self.write_high_water = config.write_high_water
        self.parked = False
        self.pipeline_paused = False
        # Access log fields (kept only when an access logger is configured).
        self.log_request: Request | None = None
        #: Whom the access log names: the peer, or the client a trusted proxy named.
        self.log_peer: tuple[str, int] | str | None = None
        self.log_started = 0.0
        self.log_status = 0
        self.log_sent = 0
        #: The answer being sent is a 204 or 304: body bytes an app gives are dropped.
        self.drop_body = False
        # PROXY protocol: bytes received before the PROXY header was complete.
        self.proxy_buffer: bytes | None = b"" if state.config.proxy_protocol else None
        # Set by a WebSocket session: it takes every byte from then on.
        self.upgraded: Callable[[bytes], None] | None = None

    # -- asyncio callbacks ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only duck-typed ones.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        state = self.state
        if state.connection_count() >= state.max_connections:
            # Over max_connections: answer at once rather than leave the client hanging.
            transport.write(state.overload_response)
            transport.close()
            logger.warning(
                "connection refused with 503: max_connections=%d reached", state.max_connections
            )
            return
        # Accepted, even while a graceful shutdown begins: its request is answered (with
        # Connection: close) if it comes within FIRST_REQUEST_GRACE.
        self.fresh_until = time.monotonic() + FIRST_REQUEST_GRACE  # state.now lags
        state.connections.add(self)
        transport.set_write_buffer_limits(high=state.config.write_high_water)
        self.client = _address(transport.get_extra_info("peername"))
        self.server = _address(transport.get_extra_info("sockname"))
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"
        self.deadline = state.now + state.config.idle_timeout
        self.deadline_reason = "idle"
        if state.on_connection is not None:
            state.on_connection(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)
        self.deadline = 0.0
        if self.drain_timer is not None:
            self.drain_timer.cancel()
            self.drain_timer = None
        self.raw_transport = None
        self.held = None  # the client is gone: nothing reads it
        self.conn.release()  # no reference cycle left for the garbage collector
        cycle = self.cycle
        if cycle is not None:
            cycle.connection_lost()
        self.transport = None
        if self.log_request is not None:
            # A request the answer never finished for (client gone, connection cut): one line
            # still, with what was sent; 499 (nginx's "client closed") if nothing was.
            if not self.log_status:
                self.log_status = 499
            self._log_access(self.log_request)

    def data_received(self, data: bytes) -> None:
        if self.upgraded is not None:
            self.upgraded(data)
            return
        if self.proxy_buffer is not None:
            rest = self._read_proxy_header(data)
            if not rest:
                return
            data = rest
        if not self.head_started:
            # The first byte of a request head: from now on the whole head has a deadline.
            self.head_started = True
            self.fresh_until = 0.0
            state = self.state
            self.deadline = state.now + state.config.header_timeout
            self.deadline_reason = "header"
        try:
            self.conn.receive_data(data)
        except ProtocolViolation as exc:
            self.reject(exc)
            return
        except LocalProtocolError:
            # Bytes after an upgrade nobody took: not HTTP any more; we close after the answer.
            self._close_after = True
            return
        if self.parked:
            # Pipelined requests wait in the kernel buffer, not in our memory, until the
            # answer in progress is done.
            if not self.pipeline_paused and self.transport is not None:
                self.pipeline_paused = True
                self.transport.pause_reading()
            return
        self.process()

    def _read_proxy_header(self, data: bytes) -> bytes:
        """PROXY protocol v1/v2 (--proxy-protocol): learn the real client, return the rest."""
        buffer = (self.proxy_buffer or b"") + data
        try:
            info = parse_proxy_header(buffer)
        except RemoteProtocolError as exc:
            logger.info("closing %s: bad PROXY protocol header: %s", self.client, exc)
            self.abort()
            return b""
        if info is NEED_MORE:
            self.proxy_buffer = buffer
            return b""
        if not isinstance(info, ProxyInfo):
            logger.info("closing %s: connection did not start with a PROXY header", self.client)
            self.abort()
            return b""
        self.proxy_buffer = None
        self.wsgi_environ = None
        if isinstance(info.source, tuple):
            self.client = (str(info.source[0]), int(info.source[1]))
        if isinstance(info.destination, tuple):
            self.server = (str(info.destination[0]), int(info.destination[1]))
        return buffer[info.consumed :]

    def eof_received(self) -> bool:
        if self.upgraded is not None:
            self.upgraded(b"")
            return True
        try:
            self.conn.receive_data(b"")
        except ProtocolViolation as exc:
            self.reject(exc)
            return True
        self.process()
        # Keep our side open: a half-closed client still gets the answer to its request.
        # (Over TLS asyncio ignores the answer, and logs a warning when it is True.)
        return self.scheme != "https"

    def pause_writing(self) -> None:
        self.write_paused = True
        self.write_paused_since = self.state.now

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.cycle is not None:
            self.cycle.resume_writing()

    # -- reading -------------------------------------------------------------------------
    def process(self) -> None:
        """Hand parser events to the current cycle until the parser needs more bytes."""
        if self._in_process:
            return  # the running loop below picks up the new state (no recursion)
        self._in_process = True
        try:
            self._process()
        finally:
            self._in_process = False

    def _process(self) -> None:
        conn = self.conn
        while self.transport is not None:
            try:
                event = conn.next_event()
            except ProtocolViolation as exc:
                self.reject(exc)
                return
            kind = type(event)
            if kind is Data:
                self.body_received += len(event.data)  # type: ignore[union-attr]
                if self.cycle is not None:
                    self.cycle.feed_body(event.data)  # type: ignore[union-attr]
            elif event is NEED_DATA:
                return
            elif kind is Request:
                self.start_request(event)  # type: ignore[arg-type]
            elif kind is EndOfMessage:
                self.reading_body = False
                if self.cycle is not None:
                    self.cycle.end_body()
                elif self._next_after_body and self.transport is not None:
                    # The rest of a body answered early is read: the next (pipelined)
                    # request may already be buffered, and this loop reads it.
                    if self._close_after:  # read only so the close is clean (shutdown)
                        self.close()
                        return
                    self._next_cycle(self.transport)
            elif event is PAUSED:
                # A full request is in hand and its answer is not finished. Reading goes on
                # (pausing per request costs two system calls); data_received stops reading
                # only if pipelined bytes actually arrive meanwhile.
                self.parked = True
                return
            elif kind is ConnectionClosed:
                if self.cycle is None:
                    self.close()
                else:
                    # A half-closed client still wants its answer; close after it.
                    self._close_after = True
                    self.cycle.client_closed()
                return
            elif kind is Upgrade:
                # The cycle of the Request just seen decides (WebSocket takes the bytes).
                if self.upgraded is not None:
                    if event.data:  # type: ignore[union-attr]
                        self.upgraded(event.data)  # type: ignore[union-attr]
                else:
                    # Nobody took the upgrade (WSGI app, or not a WebSocket): answer the
                    # request as plain HTTP and close, since the bytes after it are not HTTP.
                    # Such a request has no body (the core offers no upgrade with one), so
                    # an app that reads it gets its end at once.
                    self._close_after = True
                    self.reading_body = False
                    if self.cycle is None:
                        self.close()
                    else:
                        self.cycle.end_body()
                        if self.transport is not None:
                            self.transport.pause_reading()
                return
            else:  # pragma: no cover - a contract change in _proto.http1
                logger.error("unexpected parser event %r", event)
                self.close()
                return

    def _log_forwarded_peer(self, request: Request) -> None:
        """For an answer the server gives itself: the access log names the client a trusted
        proxy named (the app's cycle does this for every other request)."""
        policy = self.state.proxy_policy
        if policy is not None and self.state.access_logger is not None:
            self.log_peer = policy.resolve(self.client, self.scheme, request.headers)[0]

    def start_request(self, request: Request) -> None:
        state = self.state
        self.deadline = 0.0
        self.reading_body = True
        # A client that sent "Expect: 100-continue" waits for our 100 before its body: its
        # rate is timed from then (send_continue), not from the head.
        self.body_started = _NEVER if request.expect_continue else state.now
        self.body_received = 0
        if state.access_logger is not None:
            self.log_request = request
            self.log_peer = self.client
            self.log_started = time.monotonic()
            self.log_sent = 0
            self.log_status = 0
        if request.target == state.health_target:
            self._log_forwarded_peer(request)
            self.cycle = _Fixed(self)
            self.send_head_and_body(200, [(b"content-type", b"text/plain")], b"ok\n", final=True)
            return
        # A request whose head arrived is served even during shutdown (none is lost); only
        # the overload limit turns it away.
        if state.in_flight >= state.max_in_flight:
            self._log_forwarded_peer(request)
            logger.warning(
                "request refused with 503: max_pending_requests=%d reached",
                state.config.max_pending_requests,
            )
            self.cycle = _Fixed(self)
            self.conn_keep_alive_off()
            self.send_head_and_body(
                503,
                [
                    (b"retry-after", b"%d" % state.config.retry_after),
                    (b"content-type", b"text/plain; charset=utf-8"),
                ],
                b"server overloaded, try again later\n",
                final=True,
            )
            return
        # The cycle gives the slot back when the app is done with it (even if the client left).
        state.in_flight += 1
        try:
            self.cycle = state.start_cycle(self, request)
        except Exception:
            state.in_flight -= 1
            logger.exception("could not start handling %r", request.target)
            self.cycle = _Fixed(self)
            self.send_error(500, "internal server error\n")

    def pause_body(self) -> None:
        """The app has enough unread body bytes: stop reading until it catches up."""
        if not self.body_paused and self.transport is not None:
            self.body_paused = True
            self.transport.pause_reading()

    def resume_body(self) -> None:
        if self.body_paused and self.transport is not None:
            self.body_paused = False
            self.transport.resume_reading()

    # -- writing -------------------------------------------------------------------------
    def send_continue(self) -> None:
        """``100 Continue`` (RFC 9110 §10.1.1): the app asked for the body it was offered."""
        self.body_started = self.state.now  # the client's body clock starts now
        transport = self.out()
        if transport is not None:
            try:
                transport.write(self.conn.send_informational(100))
            except LocalProtocolError:
                pass  # HTTP/1.0 clients get no 1xx (RFC 9110 §15.2); they send the body anyway

    def send_head_and_body(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        final: bool,
        reason: bytes | None = None,
    ) -> None:
        """Write the status line, headers and first body bytes in one ``write``.

        Raises ``LocalProtocolError`` (from the protocol layer) for headers HTTP forbids.
        """
        transport = self.transport
        all_headers = self._with_defaults(headers)
        if self._close_after or (self.state.shutting_down and not self._pipelined()):
            # Tell the client this is the last answer (RFC 9112 §9.6) so it does not reuse us.
            # (Shutting down, a request already pipelined behind this one is answered first.)
            all_headers = [*all_headers, (b"connection", b"close")]
        conn = self.conn
        self.log_status = status
        # A 204 or 304 has no body (RFC 9110 §15.3.5, §15.4.5): what an app sends with one
        # is dropped, as for HEAD (uvicorn and gunicorn do the same), not a broken answer.
        self.drop_body = status == 204 or status == 304
        if self.drop_body:
            body = b""
        log_request = self.log_request
        if log_request is not None and log_request.method != b"HEAD":
            self.log_sent += len(body)  # the body's size, as Apache's %b (not the head)
        if final:
            data = conn.send_response(status, all_headers, reason=reason, body=body)
            if transport is not None:
                state = self.state
                holding = state.holding
                if (
                    holding or state.starting or (state.hold_while_busy and state.in_flight > 1)
                ):  # held till the turn's other apps ran (release_held)
                    held = self.held
                    if held is None:
                        self.held = data
                        if not holding:
                            self.loop.call_soon(state.release_held)
                        holding.append(self)
                    else:  # pipelined answers: in order, in one write
                        self.held = held + data
                else:
                    # No other app queued to run: nothing to gather, and holding would cost
                    # a lone client a loop turn per answer (-20% requests/s at one
                    # connection).
                    transport.write(data)
            self.response_complete()
        else:
            data = conn.send_response(status, all_headers, reason=reason)
            if body:
                data += conn.send_data(body)
            self._write(data)

    def send_body(self, data: bytes, *, final: bool) -> None:
        conn = self.conn
        if self.drop_body:
            data = b""
        log_request = self.log_request
        if log_request is not None and log_request.method != b"HEAD":
            self.log_sent += len(data)
        out = conn.send_data(data) if data else b""
        if final:
            out += conn.send_end_of_message()
        if out:
            self._write(out)
        if final:
            self.response_complete()

    def _write(self, data: bytes) -> None:
        transport = self.out()
        if transport is not None:
            transport.write(data)

    def send_held(self) -> None:
        """Write the answer held for the end of the loop turn, if any, now."""
        held = self.held
        if held is not None:
            self.held = None
            transport = self.transport
            if transport is not None:
                transport.write(held)

    def out(self) -> asyncio.Transport | None:
        """The transport, for a write or a close that must follow any held answer."""
        if self.held is not None:
            self.send_held()
        return self.transport

    def _with_defaults(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        defaults = self.state.default_headers
        if not defaults:
            return headers
        for name, _ in headers:
            lowered = name.lower()
            if lowered == b"server" or lowered == b"date":
                have = {n.lower() for n, _ in headers}
                return [h for h in defaults if h[0] not in have] + headers
        return defaults + headers

    def send_error(
        self, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """An error answer from the server itself (the app never started answering)."""
        self.conn_keep_alive_off()
        try:
            self.send_head_and_body(
                status,
                [(b"content-type", b"text/plain; charset=utf-8"), *(headers or ())],
                text.encode("utf-8", "replace"),
                final=True,
            )
        except Exception:  # the parser's state forbids a response: fall back to raw bytes
            transport = self.out()
            if transport is not None:
                transport.write(plain_response(status, text))
            self.close()

    def conn_keep_alive_off(self) -> None:
        """Make this the last response on the connection (we close after it)."""
        self._close_after = True

    def response_complete(self) -> None:
        """The answer is fully written: start the next request, or close."""
        self.cycle = None
        if self.log_request is not None:
            self._log_access(self.log_request)
        transport = self.transport
        if transport is None:
            return
        if self.state.shutting_down and self.reading_body and not self._close_after:
            # Answered before its body was read: the rest is read (and dropped) before the
            # close, else the kernel resets the connection and the client may never see
            # the answer. Our "Connection: close" went with it: no request follows.
            self._close_after = True
        elif (
            self._close_after
            or not self.conn.keep_alive
            or (self.state.shutting_down and not self.conn.has_input)  # nothing pipelined
        ):
            self.close()
            return
        if self.reading_body:
            # Answered before the body was all read: read and drop the rest (still under
            # min_body_rate), since the next pipelined request starts after it.
            if self.body_started == _NEVER:
                # A 100-continue body never asked for: the client may send it anyway
                # (RFC 9110 §10.1.1), or not; its rate is timed from now, so a client
                # that sends nothing is not held forever.
                self.body_started = self.state.now
            self._next_after_body = True
            self.resume_body()
            return
        self._next_cycle(transport)

    def _next_cycle(self, transport: asyncio.Transport) -> None:
        self._next_after_body = False
        self.conn.start_next_cycle()
        self.head_started = False
        self.deadline = self.state.now + self.state.config.idle_timeout
        self.deadline_reason = "idle"
        self.parked = False
        if self.body_paused:
            self.resume_body()
        if self.pipeline_paused:
            self.pipeline_paused = False
            transport.resume_reading()
        if self.conn.has_input:  # pipelined bytes or EOF already here (usually not)
            # Bytes of the next head are in: its header deadline runs from now, as if they
            # had just arrived (a partial pipelined head must not get the idle timeout).
            self.head_started = True
            self.deadline = self.state.now + self.state.config.header_timeout
            self.deadline_reason = "header"
            self.process()

    def _log_access(self, request: Request) -> None:
        self.log_request = None
        access_logger = self.state.access_logger
        if access_logger is None:
            return
        referer = user_agent = None
        for name, value in request.headers:
            lowered = name.lower()
            if lowered == b"referer":
                referer = value.decode("latin-1")
            elif lowered == b"user-agent":
                user_agent = value.decode("latin-1")
        duration = time.monotonic() - self.log_started
        try:
            access_logger.log(
                AccessLogRecord(
                    peer=self.log_peer,
                    method=request.method.decode("latin-1"),
                    target=request.target.decode("latin-1"),
                    version=request.http_version.decode("latin-1"),
                    status=self.log_status,
                    bytes_sent=self.log_sent,
                    duration=duration,
                    referer=referer,
                    user_agent=user_agent,
                    time=datetime.fromtimestamp(time.time() - duration).astimezone(),
                )
            )
        except Exception:  # a broken log handler must not break serving
            logger.exception("access log failed")

    def reject(self, exc: ProtocolViolation) -> None:
        """A request HTTP forbids: answer with the parser's status, then close (RFC 9112)."""
        status = getattr(exc, "status_code", 400) or 400
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown client"
        logger.info("rejected request from %s with %d: %s", client, status, exc)
        cycle = self.cycle
        if cycle is not None:
            # The body of the request in progress broke (bad chunk, over max_body_bytes): the
            # app loses its client, and we answer if it had not started answering yet.
            self.cycle = None
            cycle.connection_lost()
        if self.conn.our_state is not State.IDLE:
            # An answer was started or already sent (an app that answered before reading
            # the whole body): a second one would be read as the next request's. Just close.
            self.abort()
            self.transport = None
            return
        transport = self.out()
        if transport is not None:
            # Detach first, so nothing the app still sends can follow our error answer.
            self.transport = None
            transport.write(plain_response(status, f"{exc}\n"))
            transport.close()

    def close(self) -> None:
        transport = self.out()
        if transport is None or transport.is_closing():
            return
        if self.raw_transport is not None and self._unsent(transport, self.raw_transport):
            self._close_when_sent(transport)
            return
        transport.close()

    @staticmethod
    def _unsent(transport: asyncio.Transport, raw: asyncio.Transport) -> int:
        """Bytes of the answer still in our buffers (the TLS layer's and the socket's)."""
        return transport.get_write_buffer_size() + raw.get_write_buffer_size()

    def _close_when_sent(self, transport: asyncio.Transport) -> None:
        """Over TLS, close once the answer has left our buffers, not before.

        Over plain TCP ``close()`` sends what is buffered, then closes. asyncio's TLS
        transport (and uvloop's) sends its close_notify and aborts the socket
        ssl_shutdown_timeout later (main.py: 1 s) even while the encrypted answer still
        waits in the socket transport's buffer: a client that read slowly lost the end of
        a large answer. Neither transport says when its buffer is empty, so poll (only
        connections closing with bytes still queued do). A client that stops reading
        is given write_timeout, as a paused writer is, before the connection is dropped.
        """
        if self.drain_timer is not None:
            return  # already waiting
        transport.pause_reading()  # closing: no further request is started
        self.drain_left = -1
        self.drain_since = self.loop.time()
        self._check_sent()

    def _check_sent(self) -> None:
        self.drain_timer = None
        transport, raw = self.transport, self.raw_transport
        if transport is None or raw is None or transport.is_closing():
            return
        left = self._unsent(transport, raw)
        if not left:
            transport.close()
            return
        now = self.loop.time()
        if self.drain_left < 0 or left < self.drain_left:
            self.drain_left = left
            self.drain_since = now
        elif now - self.drain_since > self.state.config.write_timeout:
            logger.info(
                "closing %s: client did not read the response within write_timeout=%ss",
                self.client,
                self.state.config.write_timeout,
            )
            transport.abort()
            return
        self.drain_timer = self.loop.call_later(_DRAIN_POLL, self._check_sent)

    def abort(self) -> None:
        transport = self.out()  # what was answered whole goes first (as it did unheld)
        if transport is not None:
            transport.abort()

    def cut(self) -> None:
        """Drop a connection whose answer broke off midway, with a reset (RST).

        A plain close (FIN) after part of a close-delimited body (an HTTP/1.0 client, no
        Content-Length) reads as the whole answer, and a proxy may cache it as such.
        """
        transport = self.out()
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            except (OSError, AttributeError, ValueError):
                pass  # not a TCP socket (a Unix socket takes it too; a pipe would not)
        transport.abort()

    # -- deadlines -----------------------------------------------------------------------
    def check_deadline(self, now: float) -> None:
        """Called by the sweep: drop clients that are silent or too slow."""
        config = self.state.config
        if self.deadline and now >= self.deadline:
            reason = self.deadline_reason
            if reason == "header":
                logger.info(
                    "closing %s: request head not received within header_timeout=%ss",
                    self.client,
                    config.header_timeout,
                )
                transport = self.out()
                if transport is not None:
                    transport.write(self.state.timeout_response)
            self.deadline = 0.0
            self.close()
            return
        if self.reading_body and not self.body_paused:
            elapsed = now - self.body_started - config.body_rate_grace
            if elapsed > 0 and self.body_received < elapsed * config.min_body_rate:
                logger.info(
                    "closing %s: request body slower than min_body_rate=%d bytes/s",
                    self.client,
                    config.min_body_rate,
                )
                if self.cycle is not None:
                    self.cycle.connection_lost()
                self.abort()
                return
        if self.write_paused and now - self.write_paused_since > config.write_timeout:
            logger.info(
                "closing %s: client did not read the response within write_timeout=%ss",
                self.client,
                config.write_timeout,
            )
            self.abort()

    def _pipelined(self) -> bool:
        """Bytes of a next request are already here (read before a shutdown began)."""
        return not self.reading_body and self.conn.has_input

    def close_if_idle(self) -> bool:
        """Graceful shutdown: close now if no request is in progress (nor the rest of an
        answered one's body being read, which closes the connection when it ends), unless
        the connection is new and its first request may be on its way (FIRST_REQUEST_GRACE).
        """
        if self.fresh_until > self.state.now:
            return False
        if self.cycle is None and not self.head_started and not self.reading_body:
            self.close()
            return True
        return False


class _Fixed:
    """A cycle for answers the server writes itself (health, 503): nothing to feed."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: HTTPServerProtocol) -> None:
        self.protocol = protocol

    def feed_body(self, data: bytes) -> None:
        pass

    def end_body(self) -> None:
        pass

    def client_closed(self) -> None:
        pass

    def connection_lost(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass


def _address(value: Any) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return (str(value[0]), int(value[1]))
    return None
