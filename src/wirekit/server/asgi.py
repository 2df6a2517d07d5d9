"""ASGI 3 bridge for HTTP requests: builds the ``http`` scope and runs one request cycle.

``ASGICycle`` turns the app's ``send`` messages into writes on the connection (head and first
body in one write) and serves ``receive`` from the request body the connection feeds it, with
back-pressure both ways. Protocol mistakes by the app are logged plainly and answered 500.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote, unquote

from wirekit.errors import LocalProtocolError, chained
from wirekit.server.errors import ASGIProtocolError
from wirekit.server.protocol import ClientDisconnected

if TYPE_CHECKING:  # pragma: no cover
    from wirekit._proto.http1 import Request
    from wirekit.server.protocol import HTTPServerProtocol

__all__ = ["ASGIApp", "ASGICycle", "ASGIProtocolError", "build_scope", "error_body", "split_target"]

logger = logging.getLogger("wirekit.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
_DISCONNECT: dict[str, Any] = {"type": "http.disconnect"}
_VERSIONS = {b"1.1": "1.1", b"1.0": "1.0"}
#: The common methods as text, so the per-request scope skips a decode for them.
_METHODS = {
    method.encode(): method
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")
}


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """Split a request target into (path, query). Absolute-form targets (RFC 9112 §3.2.2,
    sent to proxies) keep only their path, so routing sees what origin-form would give."""
    if target[:1] == b"/":
        if b"?" not in target:
            return target, b""
    elif b"://" in target[:10]:
        rest = target.split(b"://", 1)[1]
        slash = rest.find(b"/")
        query_mark = rest.find(b"?")
        if slash == -1 or (query_mark != -1 and query_mark < slash):
            target = b"/" + (rest[query_mark:] if query_mark != -1 else b"")
        else:
            target = rest[slash:]
    path, _, query = target.partition(b"?")
    return path, query


@lru_cache(maxsize=16)
def raw_root_path(root_path: str) -> bytes:
    """``root_path`` as request-target bytes (percent-encoded UTF-8): a server has one."""
    return quote(root_path, safe="/!$&'()*+,;=:@~").encode("ascii")


def with_root_path(path: str, raw_path: bytes, root_path: str) -> tuple[str, bytes]:
    """ASGI: ``path`` includes ``root_path`` (PATH_INFO is path minus root_path). With
    --root-path behind a proxy that strips the prefix, the prefix goes back in front."""
    if path == root_path or path.startswith(root_path + "/"):
        return path, raw_path
    return root_path + path, raw_root_path(root_path) + raw_path


def target_authority(target: bytes) -> bytes | None:
    """The host[:port] of an absolute-form target (``http://host/path``), else None.

    RFC 9112 §3.2.2: with such a target, a server MUST ignore the Host header and use this."""
    if target[:1] == b"/" or b"://" not in target[:10]:
        return None
    rest = target.split(b"://", 1)[1]
    end = len(rest)
    for mark in (b"/", b"?", b"#"):
        found = rest.find(mark)
        if found != -1:
            end = min(end, found)
    authority = rest[:end].rpartition(b"@")[2]  # never pass userinfo on as a host
    return authority or None


def build_scope(
    protocol: HTTPServerProtocol,
    request: Request,
    *,
    root_path: str,
    state: dict[str, Any] | None,
    kind: str = "http",
) -> dict[str, Any]:
    """The ASGI connection scope for one request (``http`` or ``websocket``)."""
    target = request.target
    headers = request.headers
    if target[:1] == b"/" and b"?" not in target:
        raw_path, query = target, b""  # the usual origin-form target: no split needed
    else:
        raw_path, query = split_target(target)
        authority = target_authority(target)
        if authority is not None:
            headers = [(b"host", authority)] + [
                (name, value) for name, value in headers if name.lower() != b"host"
            ]
    # ASGI: path is percent-decoded and UTF-8 decoded; raw_path keeps the exact bytes.
    path = raw_path.decode("latin-1")
    if "%" in path:
        path = unquote(path)
    if root_path:
        path, raw_path = with_root_path(path, raw_path, root_path)
    scheme = protocol.scheme
    if kind == "websocket":
        scheme = "wss" if scheme == "https" else "ws"
    method = request.method
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": _ASGI_VERSION,
        "http_version": _VERSIONS.get(request.http_version) or request.http_version.decode(),
        "server": protocol.server,
        "client": protocol.client,
        "scheme": scheme,
        "method": _METHODS.get(method) or method.decode("ascii"),
        "root_path": root_path,
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        # ASGI wants lower-cased names; the parser keeps the client's spelling.
        "headers": [(name.lower(), value) for name, value in headers],
    }
    if state is not None:
        # Lifespan state is shallow-copied per request (ASGI lifespan spec, "state").
        scope["state"] = state.copy()
    return scope


def error_body(exc: BaseException | None, *, debug: bool) -> bytes:
    """The 500 body: a traceback only when ``debug`` is on (never leak internals otherwise)."""
    if debug and exc is not None:
        text = "".join(traceback.format_exception(exc))
        return ("Internal Server Error\n\n" + text).encode("utf-8", "replace")
    return b"Internal Server Error\n"


class ASGICycle:
    """One HTTP request handled by an ASGI app."""

    __slots__ = (
        "_body",
        "_buffered",
        "_drains",
        "_final_given",
        "_high_water",
        "_other_waiters",
        "_waiter",
        "app",
        "begun",
        "body_done",
        "client_eof",
        "client_gone",
        "continue_sent",
        "debug",
        "expect_continue",
        "headers",
        "headers_pending",
        "protocol",
        "response_complete",
        "response_started",
        "scope",
        "status",
        "task",
    )

    def __init__(
        self,
        protocol: HTTPServerProtocol,
        request: Request,
        app: ASGIApp,
        scope: dict[str, Any],
        *,
        debug: bool,
    ) -> None:
        self.protocol = protocol
        self.app = app
        self.scope = scope
        self.debug = debug
        self.expect_continue = request.expect_continue
        self.continue_sent = False
        # A list, not a deque: receive() always takes every buffered chunk at once.
        self._body: list[bytes] = []
        self._buffered = 0
        self._high_water = protocol.write_high_water
        self._waiter: asyncio.Future[None] | None = None
        self._other_waiters: list[asyncio.Future[None]] | None = None
        self._drains: list[asyncio.Future[None]] | None = None
        self.body_done = False
        self._final_given = False
        self.headers_pending = False
        self.client_gone = False
        self.client_eof = False
        self.response_started = False
        self.response_complete = False
        self.status = 200
        self.headers: list[tuple[bytes, bytes]] = []
        self.task: asyncio.Task[None] | None = None
        #: The task has started running the app (ServerState.starting counts those not).
        self.begun = False

    def start(self) -> None:
        # _done(), a done callback, does the bookkeeping, not a try/finally in _run(): measured
        # faster with uvloop, at 1 and at 64 connections.
        protocol = self.protocol
        task = protocol.loop.create_task(self._run())
        self.task = task
        state = protocol.state
        state.tasks.add(task)
        state.starting += 1
        task.add_done_callback(self._done)

    async def _run(self) -> None:
        # Not the app's coroutine as the task itself: asyncio's Task lets SystemExit and
        # KeyboardInterrupt out of the event loop, and done callbacks never see them, so one
        # app calling sys.exit() deep in a library stopped the whole server. Here they end
        # only this request: a 500, logged by _done(). (Ctrl-C is not one of them under
        # Server.run(): it takes SIGINT with a loop handler and shuts down gracefully.)
        self.begun = True
        self.protocol.state.starting -= 1
        try:
            await self.app(self.scope, self.receive, self.send)
        except (SystemExit, KeyboardInterrupt) as exc:
            raise chained(RuntimeError(f"ASGI app raised {exc!r}"), exc) from exc

    # -- from the connection ---------------------------------------------------------------
    def feed_body(self, data: bytes) -> None:
        self._body.append(data)
        self._buffered += len(data)
        if self._buffered > self._high_water:
            self.protocol.pause_body()
        self._wake()

    def end_body(self) -> None:
        self.body_done = True
        self._wake()

    def client_closed(self) -> None:
        # The client sent all it will (FIN): an app waiting in receive() for more (long
        # poll, a disconnect listener) gets http.disconnect; send() still works.
        self.client_eof = True
        self._wake()

    def connection_lost(self) -> None:
        self.client_gone = True
        self._wake()
        self.resume_writing()

    def resume_writing(self) -> None:
        drains = self._drains
        if drains is not None:
            self._drains = None
            for drain in drains:
                if not drain.done():
                    drain.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        others = self._other_waiters
        if others is not None:
            self._other_waiters = None
            for other in others:
                if not other.done():
                    other.set_result(None)

    # -- the app's side --------------------------------------------------------------------
    def _done(self, task: asyncio.Task[None]) -> None:
        state = self.protocol.state
        state.tasks.discard(task)
        state.in_flight -= 1
        if not self.begun:  # cancelled before it ran (shutdown)
            self.begun = True
            state.starting -= 1
        error: BaseException | None
        if task.cancelled():
            error = _cancelled_error(task)
            if not state.shutting_down and not self.client_gone:
                # The server cancels app tasks only at shutdown: this CancelledError is the
                # app's own (it awaited a future someone else cancelled, a shared cache
                # fill). A failure like any other; unlogged, the operator saw bare 500s.
                logger.error(
                    "exception in ASGI app for %s %s (cancelled, not by the server)",
                    self.scope["method"],
                    self.scope["path"],
                    exc_info=error,
                )
        else:
            error = task.exception()
            if isinstance(error, ClientDisconnected):
                error = None
            elif error is not None and self.client_gone:
                # The client left and the framework raised its own exception for our
                # ClientDisconnected (Starlette's ClientDisconnect): routine, not an app bug.
                logger.debug(
                    "ASGI app for %s %s ended after its client left: %r",
                    self.scope["method"],
                    self.scope["path"],
                    error,
                )
                error = None
            elif error is not None and not isinstance(error, ASGIProtocolError):
                logger.error(
                    "exception in ASGI app for %s %s",
                    self.scope["method"],
                    self.scope["path"],
                    exc_info=error,
                )
        if not self.response_complete and not self.client_gone:
            self._finish_broken(error)
        if self._waiter is not None:
            self._wake()  # the app's own tasks still in receive(): the request is over

    def _finish_broken(self, error: BaseException | None) -> None:
        protocol = self.protocol
        if error is None:
            logger.error(
                "ASGI protocol error: app returned without completing the response to %s %s",
                self.scope["method"],
                self.scope["path"],
            )
        if self.response_started:
            # Headers are gone: the only honest signal left is to cut the connection (with
            # a reset, so a close-delimited body does not look complete).
            protocol.cut()
            return
        self.response_complete = True
        # A plain 500 on a connection that stays open: one app bug must not cost the
        # client its keep-alive connection (and its pipelined requests).
        try:
            protocol.send_head_and_body(
                500,
                [(b"content-type", b"text/plain; charset=utf-8")],
                error_body(error, debug=self.debug),
                final=True,
            )
        except LocalProtocolError:
            # The protocol is past the point of an answer (a head was framed before the
            # failure): cut the connection rather than leave the client waiting.
            protocol.abort()

    async def receive(self) -> Message:
        while True:
            if self.client_gone:
                return _DISCONNECT
            if self._body or (self.body_done and not self._final_given):
                body = self._body
                chunk = body[0] if len(body) == 1 else b"".join(body)
                body.clear()
                self._buffered = 0
                self.protocol.resume_body()
                if self.body_done:
                    self._final_given = True
                return {"type": "http.request", "body": chunk, "more_body": not self.body_done}
            if self.response_complete or self.client_eof:
                return _DISCONNECT
            if self.expect_continue and not self.continue_sent and not self.response_started:
                # The app wants the body: only now ask the client for it (RFC 9110 §10.1.1).
                # A head the app gave but we hold back (until its first body bytes) is not
                # on the wire yet: the 100 may still go first.
                self.continue_sent = True
                self.protocol.send_continue()
            # Once the body is all read, receive() waits for the disconnect (or the end of
            # the response): Starlette's streaming listener relies on it not returning early.
            waiter = self.protocol.loop.create_future()
            first = self._waiter
            if first is None or first.done():
                self._waiter = waiter
            elif self._other_waiters is None:
                # Two tasks in receive() at once (a reader and a disconnect poll): each is
                # woken; one cancelled must not leave the other waiting forever.
                self._other_waiters = [waiter]
            else:
                self._other_waiters.append(waiter)
            await waiter

    async def send(self, message: Message) -> None:
        if self.client_gone:
            raise ClientDisconnected("client disconnected before the response was sent")
        kind = message.get("type")
        if kind == "http.response.body":
            headers_pending = self.headers_pending
            if not headers_pending and not self.response_started:
                self._protocol_error("http.response.body before http.response.start")
            if self.response_complete:
                self._protocol_error("http.response.body after the response was complete")
            body = message.get("body", b"")
            if type(body) is not bytes:
                if not isinstance(body, (bytearray, memoryview)):
                    self._protocol_error(f"body must be bytes, got {type(body).__name__}")
                body = bytes(body)
            more = message.get("more_body", False)
            if not more:
                self.response_complete = True
            protocol = self.protocol
            if headers_pending:
                # The usual case: head and body leave in one write.
                self.headers_pending = False
                try:
                    protocol.send_head_and_body(self.status, self.headers, body, final=not more)
                except Exception as exc:
                    self.response_complete = False
                    self._protocol_error(f"the response could not be sent: {exc}")
                self.response_started = True
            else:
                try:
                    protocol.send_body(body, final=not more)
                except Exception as exc:  # e.g. a body longer or shorter than its length
                    self.response_complete = False  # so the connection is cut, not left hanging
                    self._protocol_error(f"the response could not be sent: {exc}")
            if not more and self._waiter is not None:
                self._wake()  # a disconnect listener waiting in receive(): it is over
            if more and protocol.write_paused and not self.client_gone:
                # One future per sender, all woken by one resume_writing(): two tasks sending
                # at once (a stream and its heartbeat) both wait here. (Not one shared
                # future: a sender cancelled while waiting would cancel it for the others.)
                drain = protocol.loop.create_future()
                if self._drains is None:
                    self._drains = [drain]
                else:
                    self._drains.append(drain)
                await drain
        elif kind == "http.response.start":
            if self.response_started or self.headers_pending:
                self._protocol_error("http.response.start sent twice")
            status = message.get("status")
            if not isinstance(status, int) or not 100 <= status <= 999:
                self._protocol_error(f"status must be an int 100-999, got {status!r}")
            self.status = status
            # Checked by the protocol layer when written (bad types or CR/LF: a clear error).
            headers = list(message.get("headers", ()))
            if headers and type(headers[0]) is not tuple:
                # Pairs given as two-item lists (the ASGI spec's own examples): the compiled
                # protocol layer takes tuples only. (Checked on the first pair: the usual
                # tuples then cost nothing more.)
                headers = [tuple(pair) for pair in headers]
            self.headers = headers
            self.headers_pending = True
        else:
            self._protocol_error(f"unexpected message type {kind!r} on the http scope")

    def _protocol_error(self, text: str) -> NoReturn:
        logger.error(
            "ASGI protocol error in %s %s: %s",
            self.scope["method"],
            self.scope["path"],
            text,
        )
        raise ASGIProtocolError(f"ASGI protocol error: {text}")


def _cancelled_error(task: asyncio.Task[None]) -> asyncio.CancelledError:
    """The CancelledError that ended a cancelled ``task``, with its traceback."""
    try:
        task.result()
    except asyncio.CancelledError as exc:
        return exc
    return asyncio.CancelledError()  # not reached: the task was cancelled
