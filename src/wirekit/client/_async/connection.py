"""One HTTP/1.1 connection to one origin: connect (TCP, proxy tunnel, TLS), then send a
request and hand its body back as a stream, driving the shared sans-IO core.

Each connection is owned by its pool; the socket belongs to exactly one connection and is
closed on every path (success, error, cancellation: DESIGN invariant 5).
"""

from __future__ import annotations

import logging
import ssl
import time
from typing import TYPE_CHECKING, Any

from wirekit._io.base import AsyncNetworkBackend, AsyncNetworkStream, Trace
from wirekit._models.headers import Headers
from wirekit._models.messages import Request, Response
from wirekit._models.url import URL, Origin, host_for_header, host_header
from wirekit._proto import http1
from wirekit.client._primitives import let_go_in_child
from wirekit.client.deadline import Deadline
from wirekit.errors import (
    ConnectError,
    ConnectTimeout,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    StreamClosed,
    TLSError,
    WriteError,
    WriteTimeout,
    chained,
)

if TYPE_CHECKING:
    from wirekit.client._async.pool import AsyncConnectionPool

__all__ = ["AsyncHTTPConnection", "ProxyRoute"]

logger = logging.getLogger("wirekit.http")

READ_SIZE = 65536  # one recv per 64 KiB: the size where syscall cost stops mattering
#: After a write timed out, how long to look for a response the server sent early (a 413
#: with the body still unread): one sent while the write stalled is already here.
EARLY_RESPONSE_WAIT = 0.5
_HTTP_VERSIONS = {b"1.1": "HTTP/1.1", b"1.0": "HTTP/1.0"}


class ProxyRoute:
    """How a connection reaches its origin through a proxy.

    ``mode`` is "forward" (plain HTTP proxy: absolute-form targets) or "tunnel" (CONNECT, for
    https origins). SOCKS is not a route but a network backend (``_io/socks.py``).
    """

    __slots__ = ("headers", "mode", "ssl_context", "url")

    def __init__(
        self,
        url: URL,
        mode: str,
        headers: list[tuple[bytes, bytes]],
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self.mode = mode
        self.headers = headers
        #: Set for an ``https://`` proxy: TLS to the proxy itself, before anything is sent.
        self.ssl_context = ssl_context


class AsyncRoute:
    """One way a client reaches origins: directly, or through one proxy for one scheme.

    ``backend`` opens the sockets (a SOCKS proxy's wraps the client's), ``proxy`` is an HTTP
    proxy's route, ``ssl_context`` the TLS context for https origins (set when first
    needed). One pool serves every route of a client, so its limits hold across them; it
    keeps each route's idle connections apart in ``idle``, since a connection made one way
    must not carry a request routed another way.
    """

    __slots__ = ("backend", "idle", "proxy", "ssl_context")

    def __init__(
        self,
        backend: AsyncNetworkBackend,
        proxy: ProxyRoute | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.backend = backend
        self.proxy = proxy
        self.ssl_context = ssl_context
        self.idle: dict[Origin, list[AsyncHTTPConnection]] = {}


class AsyncHTTPConnection:
    """A single keep-alive HTTP/1.1 connection. Not shared: the pool lends it out."""

    __slots__ = (
        "_backend",
        "_broken",
        "_connect_timings",
        "_idle_since",
        "_limits",
        "_local_address",
        "_proto",
        "_proxy",
        "_socket_options",
        "_ssl_context",
        "_stream",
        "_uds",
        "answered",
        "family",
        "generation",
        "origin",
        "requests_sent",
        "reused",
        "route",
    )

    def __init__(
        self,
        origin: Origin,
        *,
        route: AsyncRoute,
        local_address: str | None = None,
        socket_options: Any = None,
        uds: str | None = None,
        family: int = 0,
        limits: dict[str, Any] | None = None,
    ) -> None:
        self.origin = origin
        self.route = route
        self._backend = route.backend
        self._ssl_context = route.ssl_context
        self._proxy = route.proxy
        self._local_address = local_address
        self._socket_options = socket_options
        self._uds = uds
        self.family = family
        self._limits = limits or {}
        self._stream: AsyncNetworkStream | None = None
        self._proto = http1.HTTP1Connection("client", **self._limits)
        self._idle_since = 0.0
        self.requests_sent = 0
        self.reused = False
        # Some of the current request's answer arrived: a failure then is no stale
        # connection, and resending would run the request twice.
        self.answered = False
        self._connect_timings: dict[str, float] | None = None
        self._broken = False  # the request was not fully sent: never reuse
        #: The pool's generation when it was opened (a forked child's pool starts a new one).
        self.generation = 0

    # -- pool bookkeeping ----------------------------------------------------------------
    def mark_idle(self, now: float) -> None:
        self._idle_since = now

    def idle_since(self) -> float:
        return self._idle_since

    def is_usable(self) -> bool:
        """Still connected, and the peer did not close or send stray bytes while idle."""
        stream = self._stream
        return stream is not None and not stream.is_readable()

    @property
    def is_connected(self) -> bool:
        return self._stream is not None

    async def aclose(self) -> None:
        stream, self._stream = self._stream, None
        self._proto.release()  # no reference cycle left for the garbage collector
        if stream is not None:
            await stream.aclose()

    def abort(self) -> None:
        """Close at once, without I/O (from a finalizer, which cannot await)."""
        stream, self._stream = self._stream, None
        self._proto.release()
        abort = getattr(stream, "abort", None)
        if abort is not None:
            abort()

    def let_go(self) -> None:
        """In a forked child: drop the parent's connection without I/O and without its
        event loop (an asyncio transport's close would take the socket out of an epoll
        the two processes share): see ``let_go_in_child``."""
        stream, self._stream = self._stream, None
        self._proto.release()
        if stream is not None:
            sock = stream.get_extra_info("socket")
            let_go_in_child(stream, sock.fileno() if sock is not None else -1)

    # -- connecting ----------------------------------------------------------------------
    async def connect(self, deadline: Deadline, trace: Trace | None) -> None:
        """Open the socket (and tunnel, and TLS). Phase durations go to the first response's
        ``timings`` ("dns", "connect", "tls"), measured from the network layer's events."""
        timeout = deadline.timeout.connect
        proxy = self._proxy
        phases = self._connect_timings = {}
        clock = _PhaseClock(phases, trace, deadline.started_at)
        trace = clock
        host, port = self.origin.host, self.origin.port or 0
        # The phase under way, named if the total deadline runs out in it.
        phase = "connect"
        socks = getattr(self._backend, "proxy", None)  # a SOCKS backend's proxy address
        if socks is not None and hasattr(socks, "display"):
            phase = f"connect through SOCKS proxy {socks.display}"  # not the origin's fault
        try:
            if proxy is not None:
                host, port = proxy.url.host, proxy.url.effective_port or 0
                phase = _TO_PROXY
            seconds, binding = deadline.for_phase(timeout, phase)
            if self._uds is not None:
                stream = await self._backend.connect_unix_socket(
                    self._uds, timeout=seconds, trace=trace
                )
            else:
                stream = await self._backend.connect_tcp(
                    host,
                    port,
                    timeout=seconds,
                    local_address=self._local_address,
                    socket_options=self._socket_options,
                    family=self.family,
                    trace=trace,
                )
            self._stream = stream
            if proxy is not None and proxy.ssl_context is not None:
                phase = _PROXY_TLS
                seconds, binding = deadline.for_phase(timeout, phase)
                self._stream = await stream.start_tls(
                    proxy.ssl_context, _tls_name(proxy.url.host), timeout=seconds
                )
            if proxy is not None and proxy.mode == "tunnel":
                phase = "proxy CONNECT"
                await self._tunnel(proxy, deadline)
            if self.origin.scheme == "https":
                assert self._ssl_context is not None
                phase = "TLS handshake"
                seconds, binding = deadline.for_phase(timeout, phase)
                self._stream = await self._stream.start_tls(
                    self._ssl_context, _tls_name(self.origin.host), timeout=seconds
                )
                alpn = self._stream.get_extra_info("alpn_protocol")
                if alpn not in (None, "http/1.1"):
                    # A context of the caller's offering more: we would speak HTTP/1.1 to a
                    # server speaking (say) h2, and report its frames as garbage.
                    raise TLSError(
                        f"{self.origin.host} chose {alpn!r} by ALPN, and wirekit speaks "
                        "HTTP/1.1 only: offer only 'http/1.1' in your SSLContext's ALPN "
                        "protocols"
                    )
        except BaseException as exc:
            failure: BaseException | None = exc
        else:
            failure = None
        if failure is not None:
            # Closed outside the handler: a compiled (mypyc) coroutine must not await in one.
            await self.aclose()
            clock.failed(failure)
            if isinstance(failure, ConnectTimeout) and binding:
                if clock.unfinished("dns"):
                    phase = "DNS resolution"  # the lookup stalled, not the connection
                    if clock.dns_host is not None and clock.dns_host != self.origin.host:
                        phase = f"DNS resolution of {clock.dns_host}"  # a proxy's name
                raise chained(deadline.exceeded(phase), failure) from failure
            if (
                proxy is not None
                and phase in (_TO_PROXY, _PROXY_TLS)
                and isinstance(failure, (ConnectError, ConnectTimeout, TLSError))
                and failure.args
            ):
                # The message names the address it failed on: say it is the proxy's, or it
                # reads as the origin failing. Same class, same traceback.
                failure.args = (
                    f"proxy {_authority(proxy.url)}: {failure.args[0]}",
                    *failure.args[1:],
                )
            raise failure

    async def _tunnel(self, proxy: ProxyRoute, deadline: Deadline) -> None:
        """HTTP CONNECT (RFC 9110 §9.3.6) through the proxy to the origin."""
        authority = f"{host_for_header(self.origin.host)}:{self.origin.port}".encode()
        proto = http1.HTTP1Connection("client", **self._limits)
        debug = logger.isEnabledFor(logging.DEBUG)
        # The head is built in the call: a local holding it would keep Proxy-Authorization
        # (the password, base64) in the frame locals an error tracker records.
        await self._write(
            _logged(
                proto.send_request(b"CONNECT", authority, [(b"Host", authority), *proxy.headers]),
                debug,
            ),
            deadline,
        )
        where = _authority(proxy.url)
        while True:
            try:
                event = proto.next_event()
            except RemoteProtocolError as exc:  # closed early, or not HTTP: the proxy's doing
                raise chained(
                    ProxyError(f"proxy {where} broke off CONNECT to {authority.decode()}: {exc}"),
                    exc,
                ) from exc
            if event is http1.NEED_DATA:
                proto.receive_data(
                    await self._read(deadline, "proxy CONNECT", peer=f"proxy {where}")
                )
                continue
            if isinstance(event, http1.InformationalResponse):
                continue
            if isinstance(event, http1.Upgrade):
                if event.data:
                    raise ProxyError(f"proxy {where} sent data after accepting CONNECT")
                return
            if isinstance(event, http1.Response):
                if debug:
                    _log_response(event)  # as curl -v shows the proxy's answer
                if 200 <= event.status_code < 300:
                    continue  # tunnel accepted: the Upgrade event that follows hands it over
                reason = event.reason.decode("latin-1")
                raise ProxyError(
                    f"proxy {where} refused CONNECT to "
                    f"{authority.decode()}: {event.status_code} {reason}",
                    status_code=event.status_code,
                )
            raise ProxyError(f"proxy {where} closed the connection during CONNECT")

    # -- one request -----------------------------------------------------------------------
    async def handle_async_request(
        self, request: Request, deadline: Deadline, trace: Trace | None
    ) -> Response:
        """Send ``request`` and return its response with the body still to be read."""
        proto = self._proto
        url = request.url
        if self._proxy is not None and self._proxy.mode == "forward":
            # Absolute form (RFC 9112 §3.2.2): no userinfo, no fragment (never sent), and
            # the "/" of an empty path, as requests and httpx send it; the authority as in
            # Host (no IPv6 zone, RFC 6874 §4).
            authority = host_header(url.host, url.port, url.scheme)
            target = b"%s://%s%s" % (url.scheme.encode(), authority, url.raw_path.encode("ascii"))
            extra = self._proxy.headers
        else:
            target = url.raw_path.encode("ascii")
            extra = None
        headers = _wire_headers(request.headers, url, extra)
        method = request.method.encode("ascii")
        content = request.content
        started = deadline.started_at
        timings: dict[str, float] = {}
        if self._connect_timings:
            timings.update(self._connect_timings)
            self._connect_timings = None
        if self.requests_sent:
            self.reused = True
        self.requests_sent += 1
        self.answered = False
        debug = logger.isEnabledFor(logging.DEBUG)  # asked once: it is a call each time

        body = None if content is None else content.as_bytes()
        failed: WriteError | WriteTimeout | None = None
        try:
            if content is None or body is not None:
                data = proto.send_request(method, target, headers, body=body)
                if content is None and proto.our_state is http1.State.SEND_BODY:
                    # The caller's framing header and no body: a chunked one ends empty, a
                    # Content-Length is refused before anything is sent (else the server
                    # would wait for a body that never comes, and so would we).
                    data += proto.send_end_of_message()
                if debug:
                    _log_request(data)
                await self._write(data, deadline)
            else:
                length = content.content_length
                head = proto.send_request(
                    method, target, headers, content_length=length, chunked=length is None
                )
                if debug:
                    _log_request(head)
                await self._write(head, deadline)
                held: bytes | None = None
                async for chunk in content:
                    if not chunk:
                        continue
                    if held is not None:
                        # More after the declared length: refused (send_data raises) with
                        # the last piece unsent, so the server never sees a whole request.
                        proto.send_data(held)
                        proto.send_data(chunk)
                    if len(chunk) == proto.send_left:
                        held = chunk  # sent once the source is known to end here
                        continue
                    await self._write(proto.send_data(chunk), deadline)
                if held is not None:
                    await self._write(proto.send_data(held), deadline)
                if proto.our_state is http1.State.SEND_BODY:  # not a Content-Length: 0 body
                    await self._write(proto.send_end_of_message(), deadline)
        except (WriteError, WriteTimeout) as exc:
            failed = exc
        if failed is None:
            timings["request_sent"] = time.monotonic() - started
            event = await self._receive_head(url, deadline, timings, started)
        else:
            # A server may answer early (413, 401, 400) and stop reading the body, closing
            # (RFC 9112 §9.6) or not: that answer is what the caller needs, not a broken
            # pipe or a write timeout.
            self._broken = True
            event = await self._early_response(failed, url, deadline, timings, started)
        response_headers = Headers.from_raw(event.headers)
        if debug:
            _log_response(event)
        if event.status_code == 407 and self._proxy is not None and self._proxy.mode == "forward":
            # The proxy refused, not the origin: the same error as a refused CONNECT tunnel,
            # so a caller never mistakes the proxy's 407 for the origin's answer.
            raise ProxyError(
                f"proxy {_authority(self._proxy.url)} refused to forward the "
                f"request to {url.host}: 407 {event.reason.decode('latin-1')} (check the "
                "proxy credentials)",
                status_code=407,
            )
        response = Response(
            event.status_code,
            headers=response_headers,
            stream=AsyncResponseBody(self, deadline, timings),
            request=request,
            http_version=_HTTP_VERSIONS.get(event.http_version) or "HTTP/1.0",
            reason=event.reason.decode("latin-1"),
        )
        response.timings = timings
        return response

    async def _early_response(
        self,
        failed: WriteError | WriteTimeout,
        url: URL,
        deadline: Deadline,
        timings: dict[str, float],
        started: float,
    ) -> http1.Response:
        """The response a server sent before the request was all written, else ``failed``.

        After a WriteError the peer closed, so its answer (if any) comes at once; after a
        WriteTimeout it may be still open and silent, so the wait is short: an early answer
        is already here, sent while the write was stalled."""
        wait: float | None = None
        if isinstance(failed, WriteTimeout):
            wait = EARLY_RESPONSE_WAIT
            read_limit = deadline.timeout.read
            if read_limit is not None and read_limit < wait:
                wait = read_limit
            remaining = deadline.remaining()
            if remaining is not None and remaining < wait:
                wait = remaining
        try:
            return await self._receive_head(url, deadline, timings, started, wait=wait)
        except Exception:  # no answer (timed out, closed, not HTTP): the write's error it is
            pass
        raise failed  # outside the handler: what reading raised is not made its context

    async def _receive_head(
        self,
        url: URL,
        deadline: Deadline,
        timings: dict[str, float],
        started: float,
        wait: float | None = None,
    ) -> http1.Response:
        """The response's head. ``wait``: at most so many seconds in all (else the read
        timeout per read), for an early response after a write timed out."""
        proto = self._proto
        give_up = None if wait is None else time.monotonic() + wait
        while True:
            # Nothing buffered (the usual case right after sending): read before asking.
            event = self._next_event(proto) if proto.has_input else http1.NEED_DATA
            if event is http1.NEED_DATA:
                if give_up is None:
                    data = await self._read(deadline, "waiting for the response")
                else:
                    data = await self._read_within(give_up - time.monotonic())
                if data:
                    self.answered = True
                if "first_byte" not in timings:
                    timings["first_byte"] = time.monotonic() - started
                proto.receive_data(data)
                continue
            if isinstance(event, http1.Response):
                if event.status_code == 101:
                    # The core reports the switch (an Upgrade event) after this head; this
                    # client never asks for one, so a 101 is never its final answer.
                    raise RemoteProtocolError(
                        f"{url.host} switched protocols (101), which this request did not ask for"
                    )
                return event
            if isinstance(event, http1.InformationalResponse):
                continue
            raise RemoteProtocolError(
                f"{url.host}:{url.effective_port} closed the connection without a response"
            )

    async def _read(self, deadline: Deadline, phase: str, *, peer: str | None = None) -> bytes:
        """Bytes from the connection; ``peer`` names who is silent when it is not the origin
        (the proxy, during CONNECT)."""
        stream = self._stream
        if stream is None:
            raise ReadError(f"connection to {self.origin.host} is closed")
        seconds, binding = deadline.for_phase(deadline.timeout.read, phase)
        try:
            return await stream.read(READ_SIZE, seconds)
        except ReadTimeout as exc:
            if binding:
                raise chained(deadline.exceeded(phase), exc) from exc
            who = peer or self._peer()
            raise chained(
                ReadTimeout(f"no data from {who} for {seconds:g} s while {phase} (read timeout)"),
                exc,
            ) from exc

    async def _read_within(self, seconds: float) -> bytes:
        """Bytes from the connection within ``seconds`` (ReadTimeout when none come)."""
        stream = self._stream
        if stream is None:
            raise ReadError(f"connection to {self.origin.host} is closed")
        if seconds <= 0:
            raise ReadTimeout(f"no data from {self.origin.host} in time")
        return await stream.read(READ_SIZE, seconds)

    async def _write(self, data: bytes, deadline: Deadline) -> None:
        stream = self._stream
        if stream is None:
            raise WriteError(f"connection to {self.origin.host} is closed")
        seconds, binding = deadline.for_phase(deadline.timeout.write, "sending the request")
        try:
            await stream.write(data, seconds)
        except WriteTimeout as exc:
            if binding:
                raise chained(deadline.exceeded("sending the request"), exc) from exc
            raise

    def body_event_nowait(self) -> Any:
        """The next body event if the bytes are already here, else ``http1.NEED_DATA``:
        callers try this first and await ``receive_body_event`` only when it says so."""
        return self._next_event(self._proto)

    async def receive_body_event(self, deadline: Deadline) -> Any:
        """The next body event: Data, EndOfMessage; reading from the socket as needed."""
        proto = self._proto
        while True:
            event = self._next_event(proto)
            if event is not http1.NEED_DATA:
                return event
            proto.receive_data(await self._read(deadline, "reading the response body"))

    def _next_event(self, proto: http1.HTTP1Connection) -> Any:
        """The core's next event; its protocol errors are given the peer's name here, since
        the sans-IO core does not know which host it is parsing (every error names what
        failed)."""
        try:
            return proto.next_event()
        except RemoteProtocolError as exc:
            prefix = f"{self._peer()}: "
            message = str(exc.args[0]) if exc.args else ""
            if not message.startswith(prefix):
                exc.args = (prefix + message, *exc.args[1:])
            raise

    def _peer(self) -> str:
        """Who answers on this connection, as errors name it: the origin, or the forward
        proxy that answers for it (a proxy that breaks is not the origin's fault)."""
        origin = f"{host_for_header(self.origin.host)}:{self.origin.port}"
        proxy = self._proxy
        if proxy is not None and proxy.mode == "forward":
            return f"proxy {_authority(proxy.url)} (for {origin})"
        return origin

    def finish_cycle(self) -> bool:
        """After a complete response: True if the connection can serve another request."""
        proto = self._proto
        if self._broken or not proto.keep_alive or self._stream is None:
            return False
        if proto.has_input:
            # Bytes after a complete response were never asked for: kept, they would be
            # read as the answer to the next request (a desync). Not reusable.
            return False
        try:
            proto.start_next_cycle()
        except Exception:
            return False
        return True


class _PhaseClock:
    """Wraps the caller's trace to time the connect phases (dns, connect, tls): like every
    entry of ``timings``, seconds from the start of the request to the end of the phase."""

    __slots__ = ("_inner", "_phases", "_request_started", "_started", "dns_host")

    def __init__(
        self, phases: dict[str, float], inner: Trace | None, request_started: float
    ) -> None:
        self._phases = phases
        self._inner = inner
        self._request_started = request_started
        self._started: set[str] = set()
        #: The name of the last lookup started (the origin's, or a SOCKS proxy's own).
        self.dns_host: str | None = None

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        phase, _, step = event.partition(".")
        if step == "start":
            self._started.add(phase)
            # A phase can run twice (SOCKS: the target's name, then the proxy's).
            self._phases.pop(phase, None)
            if phase == "dns":
                self.dns_host = info.get("host")
        elif step == "done" and phase in self._started:
            self._phases[phase] = time.monotonic() - self._request_started
        if self._inner is not None:
            self._inner(event, info)

    def unfinished(self, phase: str) -> bool:
        """``phase`` started and did not finish (where a failed connect stopped)."""
        return phase in self._started and phase not in self._phases

    def failed(self, error: BaseException) -> None:
        """Close the phase a failed connect stopped in for the caller's trace: "dns.failed"
        {"host", "error"} or "tls.failed" {"error"}, whichever backend failed (the network
        layer reports "connect.failed" per address itself)."""
        inner = self._inner
        if inner is None:
            return
        if self.unfinished("dns"):
            inner("dns.failed", {"host": self.dns_host, "error": error})
        elif self.unfinished("tls"):
            inner("tls.failed", {"error": error})


class AsyncResponseBody:
    """The body of one response, read from its connection on demand.

    When the body ends the connection goes back to the pool; when the caller closes early,
    or anything fails, the connection is closed (its remaining bytes are unknown).
    """

    __slots__ = (
        "_claims",
        "_closed_early",
        "_connection",
        "_deadline",
        "_done",
        "_pool",
        "_timings",
    )

    def __init__(
        self, connection: AsyncHTTPConnection, deadline: Deadline, timings: dict[str, float]
    ) -> None:
        self._connection = connection
        self._deadline = deadline
        self._timings = timings
        self._done = False
        #: Closed before its end: iterating on must not end as if the body were complete.
        self._closed_early = False
        #: One token: the caller that pops it finishes the body (see ``_claim``).
        self._claims = [True]
        self._pool: AsyncConnectionPool | None = None  # set by the pool that lent it

    def __aiter__(self) -> AsyncResponseBody:
        return self

    async def __anext__(self) -> bytes:
        # Streaming, one chunk per call: a method rather than an async generator, which the
        # compiled build (mypyc) cannot compile. Finished bodies stop at once.
        if self._done:
            if self._closed_early:
                raise StreamClosed("the response was closed before its body ended")
            raise StopAsyncIteration
        failure: BaseException | None = None
        try:
            data = self._data_of(await self._connection.receive_body_event(self._deadline))
            if data is not None:
                return data
            reusable = self._end_cycle()
        except BaseException as exc:
            failure, reusable = exc, False
        await self._finish(reusable=reusable)  # outside the handler (see _finish)
        if failure is not None:
            if self._closed_early and isinstance(failure, Exception):
                # Closed by the program (another task or thread) while this step waited:
                # the read failed because of that close, not because the server cut the
                # body short, which is what the read's own error would say.
                raise chained(
                    StreamClosed("the response was closed before its body ended"), failure
                ) from failure
            raise failure
        raise StopAsyncIteration

    async def read_all(self) -> list[bytes]:
        """Every remaining chunk at once: what ``Response.read()`` uses, without the two
        generators iteration costs per response (async ones are dear: each is registered
        with the event loop). Events already parsed are taken without awaiting.

        Whether it returns or raises, the body is finished when it is done (the connection
        released or closed): ``Response`` relies on that instead of closing it again."""
        connection = self._connection
        chunks: list[bytes] = []
        failure: BaseException | None = None
        try:
            while True:
                event = connection.body_event_nowait()
                if event is http1.NEED_DATA:
                    event = await connection.receive_body_event(self._deadline)
                data = self._data_of(event)
                if data is None:
                    break
                chunks.append(data)
            reusable = self._end_cycle()
        except BaseException as exc:
            failure = exc
        if failure is not None:
            await self._finish(reusable=False)  # outside the handler (see _finish)
            raise failure
        if not self._finish_nowait(reusable):
            await self._close_claimed(reusable)
        return chunks

    def _data_of(self, event: Any) -> bytes | None:
        """A body event's bytes, or None at the end of the body."""
        if type(event) is http1.Data:
            data: bytes = event.data
            return data
        if type(event) is http1.EndOfMessage:
            return None
        raise RemoteProtocolError(
            f"unexpected {type(event).__name__} from {self._connection.origin.host} "
            "while reading the response body"
        )

    def _end_cycle(self) -> bool:
        """The body is all read: note when, and say whether the connection can be reused."""
        self._timings["body_done"] = time.monotonic() - self._deadline.started_at
        return self._connection.finish_cycle()

    async def aclose(self) -> None:
        if not self._done:
            self._closed_early = True
        await self._finish(reusable=False)

    def __del__(self) -> None:
        # Garbage-collected unfinished (a streamed response never read to its end nor
        # closed): its connection's bytes are unknown, so it is aborted, and its pool slot
        # given back; kept, the slot would be lost for good (PoolTimeout ever after).
        if not self._claim():
            return
        pool = self._pool
        if pool is not None and not pool.owns(self._connection):
            self._connection.let_go()  # the parent's (a fork)
            return
        self._connection.abort()
        pool = self._pool
        if pool is not None:
            pool.release_orphan(self._connection)

    def _claim(self) -> bool:
        """True for the one caller that finishes the body. Two threads may finish it at
        once (one reads its end while another closes it): the connection must go back to
        the pool, or be closed, once."""
        if self._done:
            return False
        # list.pop is atomic (one C call under the GIL, a per-object lock without it), so
        # exactly one caller gets the token, with no lock to take, to renew in a forked
        # child, or to re-enter from a finalizer (and cheaper than taking an RLock).
        try:
            self._claims.pop()
        except IndexError:
            return False
        self._done = True
        return True

    def _finish_nowait(self, reusable: bool) -> bool:
        """Finish without awaiting when no I/O is needed (finished already, here or by
        another thread, or the pool keeps the connection idle): True if done, False when
        this caller has claimed the body and must ``_close_claimed`` its connection."""
        if not self._claim():
            return True
        pool = self._pool
        return reusable and pool is not None and pool.keep_idle(self._connection)

    async def _finish(self, *, reusable: bool) -> None:
        # Callers await this after their except block, never in it: a compiled (mypyc)
        # coroutine suspended inside a handler leaves its exception in the thread's state
        # (tests/test_compiled_sources.py).
        if not self._finish_nowait(reusable):
            await self._close_claimed(reusable)

    async def _close_claimed(self, reusable: bool) -> None:
        """Close the connection of a body this caller claimed and the pool did not keep."""
        pool = self._pool
        if pool is not None:
            await pool.discard(self._connection)
        elif not reusable:
            await self._connection.aclose()


#: Connect phases spent on the proxy itself (named in errors and in a deadline's message).
_TO_PROXY = "connect to the proxy"
_PROXY_TLS = "TLS handshake with the proxy"


def _authority(url: URL) -> str:
    """host:port as errors name a proxy (an IPv6 address in brackets)."""
    return f"{host_for_header(url.host)}:{url.effective_port}"


def _wire_headers(
    headers: Headers, url: URL, extra: list[tuple[bytes, bytes]] | None
) -> list[tuple[bytes, bytes]]:
    raw = headers.raw
    if "host" not in headers:
        raw.insert(0, (b"Host", host_header(url.host, url.port, url.scheme)))
    if extra:
        raw.extend(extra)
    return raw


def _tls_name(host: str) -> str:
    """The name sent as SNI and checked against the certificate: without the trailing dot
    of a fully qualified name (RFC 6066 §3; curl and urllib3 strip it too)."""
    return host[:-1] if host.endswith(".") else host


def _logged(data: bytes, debug: bool) -> bytes:
    """``data``, logged first when ``debug`` (the CONNECT head, secrets hidden)."""
    if debug:
        _log_request(data)
    return data


def _log_request(data: bytes) -> None:
    """The request head as sent (with the framing the HTTP/1.1 writer added), secrets
    hidden."""
    from wirekit._models.headers import SENSITIVE_HEADERS

    request_line, *fields = data.partition(b"\r\n\r\n")[0].split(b"\r\n")
    lines = [f"> {request_line.decode('latin-1')}"]
    for field in fields:
        name, _, value = field.partition(b": ")
        shown = (
            "[secure]"
            if name.lower().decode("latin-1") in SENSITIVE_HEADERS
            else value.decode("latin-1")
        )
        lines.append(f"> {name.decode('latin-1')}: {shown}")
    logger.debug("\n".join(lines))


def _log_response(event: Any) -> None:
    from wirekit._models.headers import SENSITIVE_HEADERS

    lines = [
        f"< HTTP/{event.http_version.decode()} {event.status_code} {event.reason.decode('latin-1')}"
    ]
    for name, value in event.headers:
        shown = (
            "[secure]" if name.lower().decode() in SENSITIVE_HEADERS else value.decode("latin-1")
        )
        lines.append(f"< {name.decode('latin-1')}: {shown}")
    logger.debug("\n".join(lines))
