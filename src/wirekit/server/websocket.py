"""ASGI ``websocket`` scope over wsproto: handshake, frames in and out, close codes.

The HTTP connection hands the session every byte after the upgrade request; wsproto turns
them into events, which become ASGI messages. The 101 answer is written only when the app
sends ``websocket.accept`` (a ``websocket.close`` before that is answered 403). A client's
permessage-deflate offer is answered with it (``websocket_deflate``) unless turned off.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
from collections import deque
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, NoReturn

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError as WSLocalError
from wsproto.utilities import RemoteProtocolError as WSRemoteError
from wsproto.utilities import generate_accept_token

from wirekit.server.errors import ASGIProtocolError
from wirekit.server.protocol import ClientDisconnected, plain_response
from wirekit.server.websocket_deflate import PerMessageDeflate, negotiate

if TYPE_CHECKING:  # pragma: no cover
    from wsproto.extensions import Extension

    from wirekit._proto.http1 import Request
    from wirekit.server.asgi import ASGIApp
    from wirekit.server.protocol import HTTPServerProtocol

__all__ = ["WebSocketSession", "handshake_problem", "is_websocket_upgrade"]

logger = logging.getLogger("wirekit.server")

#: RFC 6455 §7.4.1 close codes we send.
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
CLOSE_GOING_AWAY = 1001
CLOSE_ABNORMAL = 1006  # never sent on the wire: reported to the app for a lost connection

#: Seconds we wait for the client's Close after ours before closing TCP (RFC 6455 §7.1.1:
#: the client closes first; closing with its frames unread would send a reset instead).
CLOSE_TIMEOUT = 5.0


def _header(request: Request, name: bytes) -> bytes | None:
    for key, value in request.headers:
        if key.lower() == name:
            return value
    return None


def _header_values(request: Request, name: bytes) -> list[bytes]:
    return [value for key, value in request.headers if key.lower() == name]


_app_extensions_warned = False


def _warn_app_extensions(path: str) -> None:
    """Say once per process that an app's Sec-WebSocket-Extensions header is dropped."""
    global _app_extensions_warned
    if not _app_extensions_warned:
        _app_extensions_warned = True
        logger.warning(
            "dropped Sec-WebSocket-Extensions set by the app (first seen on %s): "
            "extensions are negotiated by the server; this is logged once",
            path,
        )


def is_websocket_upgrade(request: Request) -> bool:
    upgrade = _header(request, b"upgrade")
    return upgrade is not None and upgrade.strip().lower() == b"websocket"


def handshake_problem(request: Request) -> str | None:
    """Why this upgrade request is not a valid RFC 6455 §4.2.1 opening handshake, or None."""
    if request.method != b"GET":
        return "WebSocket handshake must use GET"
    connection = _header(request, b"connection") or b""
    if b"upgrade" not in [token.strip() for token in connection.lower().split(b",")]:
        return "WebSocket handshake needs 'Connection: Upgrade'"
    if _header(request, b"sec-websocket-version") != b"13":
        return "WebSocket handshake needs 'Sec-WebSocket-Version: 13'"
    key = _header(request, b"sec-websocket-key")
    if not key:
        return "WebSocket handshake needs a Sec-WebSocket-Key"
    try:
        nonce = base64.b64decode(key, validate=True)
    except ValueError:
        nonce = b""
    if len(nonce) != 16:  # RFC 6455 §4.2.1: base64 of a 16-byte nonce
        return "WebSocket handshake needs a Sec-WebSocket-Key of 16 bytes in base64"
    return None


class WebSocketSession:
    """One WebSocket connection handled by an ASGI app."""

    def __init__(
        self,
        protocol: HTTPServerProtocol,
        request: Request,
        app: ASGIApp,
        scope: dict[str, Any],
        *,
        max_message_bytes: int,
    ) -> None:
        self.protocol = protocol
        self.app = app
        self.scope = scope
        self.max_message_bytes = max_message_bytes
        self.key = _header(request, b"sec-websocket-key") or b""
        # Repeated header lines are one comma-separated list (RFC 6455 §11.3.4).
        offered = b",".join(_header_values(request, b"sec-websocket-protocol"))
        scope["subprotocols"] = [
            p.strip() for p in offered.decode("latin-1").split(",") if p.strip()
        ]
        #: Our Sec-WebSocket-Extensions answer, sent with the 101 (None: no extension).
        self.extensions_header: bytes | None = None
        extensions: list[Extension] = []
        if protocol.state.config.ws_per_message_deflate:
            accepted = negotiate(_header_values(request, b"sec-websocket-extensions"))
            if accepted is not None:
                answer, parameters = accepted
                self.extensions_header = answer.encode("latin-1")
                extensions.append(
                    PerMessageDeflate(parameters, max_message_bytes=max_message_bytes)
                )
        self.ws = Connection(ConnectionType.SERVER, extensions=extensions)
        #: Messages for the app, each with its size in bytes (0 for all but received data).
        self.inbox: deque[tuple[dict[str, Any], int]] = deque([({"type": "websocket.connect"}, 0)])
        self.waiter: asyncio.Future[None] | None = None
        self.accepted = False
        self.closed = False
        self.close_sent = False
        #: Graceful shutdown began before the app accepted: 1001 right after its accept.
        self.going_away = False
        #: The fragments of a message in progress: one buffer, not an object per fragment
        #: (2-byte fragments cost ~20 times their size as list items).
        self.parts: bytearray | io.StringIO | None = None
        self.part_bytes = 0
        self.close_timer: asyncio.TimerHandle | None = None
        self.early: list[bytes] = []
        #: Bytes of received messages the app has not taken yet (reading pauses past a cap).
        self.inbox_bytes = 0
        self.reading_paused = False
        self.drain: asyncio.Future[None] | None = None
        # A WebSocket lives for as long as it likes: it is not a pending request and has
        # no idle or body deadline (the app decides with its own pings).
        protocol.state.in_flight -= 1
        protocol.deadline = 0.0
        protocol.reading_body = False
        protocol.upgraded = self.receive_bytes
        state = protocol.state
        task = protocol.loop.create_task(self.run())
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)

    # -- from the connection ---------------------------------------------------------------
    def feed_body(self, data: bytes) -> None:
        pass

    def end_body(self) -> None:
        pass

    def client_closed(self) -> None:
        pass

    def resume_writing(self) -> None:
        drain, self.drain = self.drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)
        if (
            self.accepted
            and self.reading_paused
            and self.inbox_bytes <= self.protocol.state.config.write_high_water // 2
        ):
            self._resume_reading()  # paused while our answers (pongs) could not leave

    def connection_lost(self) -> None:
        timer, self.close_timer = self.close_timer, None
        if timer is not None:
            timer.cancel()
        self.resume_writing()
        if not self.closed:
            self.closed = True
            self._push({"type": "websocket.disconnect", "code": CLOSE_ABNORMAL})

    def server_shutdown(self) -> None:
        """Graceful shutdown: tell the client we are going away (RFC 6455 §7.4.1, 1001)."""
        if self.accepted and not self.close_sent:
            self._send_close(CLOSE_GOING_AWAY, "server shutting down")
        elif not self.accepted:
            # The handshake is with the app, like a request in flight: its answer (101 then
            # at once 1001, a refusal, or a 500) goes out within shutdown_timeout.
            self.going_away = True

    def receive_bytes(self, data: bytes) -> None:
        if not self.accepted:
            # Frames sent before our 101 are parsed once we accept; meanwhile reading stops,
            # so a client cannot pile up data while the app decides.
            self.early.append(data)
            self._pause_reading()
            return
        try:
            self.ws.receive_data(data or None)
            events = list(self.ws.events())
        except WSRemoteError as exc:
            logger.info("WebSocket protocol error from %s: %s", self.protocol.client, exc)
            self.protocol.abort()
            return
        for event in events:
            if self.close_sent and not isinstance(event, CloseConnection):
                continue  # we are closing: no more messages, and no Pong after our Close
            if isinstance(event, Message):
                self._message(event)
            elif isinstance(event, Ping):
                self._write(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection) and self.ws.state is ConnectionState.OPEN:
                # wsproto found a bad frame (or a message that inflates past the limit):
                # the connection is still open on its side, so we fail it with that code.
                if event.code == CLOSE_TOO_BIG:
                    logger.info(
                        "closing WebSocket from %s: compressed message inflates past "
                        "ws_max_message_bytes=%d",
                        self.protocol.client,
                        self.max_message_bytes,
                    )
                    self._send_close(CLOSE_TOO_BIG, "message too big")
                else:
                    logger.info(
                        "closing WebSocket from %s: %s (code %d)",
                        self.protocol.client,
                        event.reason,
                        event.code,
                    )
                    self._send_close(event.code, event.reason or "")
                return
            elif isinstance(event, CloseConnection):
                if self.ws.state is ConnectionState.REMOTE_CLOSING:
                    self._write(self.ws.send(event.response()))
                self.close_sent = True
                if not self.closed:
                    self.closed = True
                    self._push(
                        {"type": "websocket.disconnect", "code": event.code, "reason": event.reason}
                    )
                self.protocol.close()
        if not data:
            self.protocol.close()
        elif self.protocol.write_paused:
            # The client sends (pings, say) but does not read our answers: stop reading
            # until they leave (resume_writing), or our buffer grows without bound.
            self._pause_reading()

    def _message(self, event: Message[Any]) -> None:
        data = event.data
        parts = self.parts
        if parts is None and not event.message_finished:
            parts = self.parts = io.StringIO() if isinstance(data, str) else bytearray()
        if parts is not None:
            if isinstance(parts, io.StringIO):
                parts.write(data)
            else:
                parts += data
        # The limit is in bytes: text counts as its UTF-8 encoding (up to 4 per character).
        self.part_bytes += len(data.encode("utf-8")) if isinstance(data, str) else len(data)
        if self.part_bytes > self.max_message_bytes:
            logger.info(
                "closing WebSocket from %s: message over ws_max_message_bytes=%d",
                self.protocol.client,
                self.max_message_bytes,
            )
            self._send_close(CLOSE_TOO_BIG, "message too big")
            return
        if not event.message_finished:
            return
        message: dict[str, Any]
        if parts is None:  # the usual case: a message in one frame
            whole = data
        elif isinstance(parts, io.StringIO):
            whole = parts.getvalue()
        else:
            whole = bytes(parts)
        if isinstance(event, TextMessage):
            message = {"type": "websocket.receive", "text": whole}
        else:
            message = {"type": "websocket.receive", "bytes": whole}
        size = self.part_bytes
        self.parts = None
        self.part_bytes = 0
        self._push(message, size)
        self.inbox_bytes += size
        if self.inbox_bytes > self.protocol.state.config.write_high_water:
            self._pause_reading()  # the app is not keeping up: stop reading until it does

    def _push(self, message: dict[str, Any], size: int = 0) -> None:
        self.inbox.append((message, size))
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            waiter.set_result(None)

    def _write(self, data: bytes) -> None:
        transport = self.protocol.out()
        if transport is not None and data:
            transport.write(data)

    def _send_close(self, code: int, reason: str) -> None:
        if self.close_sent:
            return
        self.close_sent = True
        try:
            self._write(self.ws.send(CloseConnection(code=code, reason=reason)))
        except WSLocalError:
            self.protocol.close()
        else:
            # The client answers our Close with its own (receive_bytes closes then): until
            # it does, read and drop what it still sends. Closing now, with its frames
            # unread, would reset the connection and lose our Close on the client's side.
            self._resume_reading()
            self.close_timer = self.protocol.loop.call_later(CLOSE_TIMEOUT, self.protocol.close)
        if not self.closed:
            self.closed = True
            self._push({"type": "websocket.disconnect", "code": code, "reason": reason})

    # -- the app's side --------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException as exc:
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
                raise  # this task was cancelled (graceful shutdown): let it end so
            if isinstance(exc, asyncio.CancelledError):
                # Not this task's cancellation: the app's own failure (it awaited a future
                # someone else cancelled), reported as any other.
                logger.error(
                    "exception in ASGI websocket app at %s (cancelled, not by the server)",
                    self.scope["path"],
                    exc_info=exc,
                )
            elif not isinstance(exc, ASGIProtocolError):  # that one was logged when raised
                logger.error(
                    "exception in ASGI websocket app at %s", self.scope["path"], exc_info=exc
                )
            if not self.accepted:
                self._reject(500, "Internal Server Error\n")
            else:
                self._send_close(CLOSE_SERVER_ERROR, "internal error")
            return
        if not self.accepted:
            self._reject(403, "WebSocket connection refused\n")
        elif not self.close_sent:
            self._send_close(1000, "")

    def _reject(self, status: int, text: str) -> None:
        self.closed = True
        transport = self.protocol.out()
        if transport is not None:
            transport.write(plain_response(status, text))
        self.protocol.close()

    def _pause_reading(self) -> None:
        transport = self.protocol.transport
        if not self.reading_paused and transport is not None:
            self.reading_paused = True
            transport.pause_reading()

    def _resume_reading(self) -> None:
        transport = self.protocol.transport
        if self.reading_paused and transport is not None:
            self.reading_paused = False
            transport.resume_reading()

    async def receive(self) -> MutableMapping[str, Any]:
        while not self.inbox:
            self._resume_reading()  # an app waiting for a message wants us to read
            waiter = self.protocol.loop.create_future()
            self.waiter = waiter
            await waiter
        message, size = self.inbox.popleft()
        if size:
            self.inbox_bytes -= size
            if self.inbox_bytes <= self.protocol.state.config.write_high_water // 2:
                self._resume_reading()
        return message

    async def send(self, message: MutableMapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "websocket.accept":
            if self.closed and not self.accepted:
                # The client went away while the app decided: not an app bug (ASGI: send()
                # on a closed connection raises an OSError).
                raise ClientDisconnected("client disconnected before websocket.accept")
            if self.accepted or self.closed:
                self._protocol_error("websocket.accept sent twice or after close")
            self._accept(message)
        elif kind == "websocket.send":
            if not self.accepted:
                self._protocol_error("websocket.send before websocket.accept")
            if self.close_sent or self.closed:
                raise ClientDisconnected("WebSocket is closed")
            text = message.get("text")
            if text is not None:
                self._write(self.ws.send(TextMessage(data=text)))
            else:
                self._write(self.ws.send(BytesMessage(data=message.get("bytes") or b"")))
            protocol = self.protocol
            while protocol.write_paused and protocol.transport is not None and not self.closed:
                # The client reads slowly: wait for the transport to drain (write_high_water),
                # as the http path does, instead of queueing without bound.
                drain = self.drain
                if drain is None or drain.done():
                    drain = self.drain = protocol.loop.create_future()
                await drain
        elif kind == "websocket.close":
            if not self.accepted:
                self._reject(403, "WebSocket connection refused\n")
                self.accepted = True  # nothing more to answer
                self.close_sent = True
                return
            self._send_close(int(message.get("code", 1000)), str(message.get("reason") or ""))
        else:
            self._protocol_error(f"unexpected message type {kind!r} on the websocket scope")

    def _accept(self, message: MutableMapping[str, Any]) -> None:
        head = [
            b"HTTP/1.1 101 Switching Protocols\r\n",
            b"upgrade: websocket\r\nconnection: Upgrade\r\n",
            b"sec-websocket-accept: " + generate_accept_token(self.key) + b"\r\n",
        ]
        if self.extensions_header is not None:
            head.append(b"sec-websocket-extensions: " + self.extensions_header + b"\r\n")
        subprotocol = message.get("subprotocol")
        if subprotocol:
            head.append(b"sec-websocket-protocol: " + subprotocol.encode("latin-1") + b"\r\n")
        for name, value in self.protocol.state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        for name, value in message.get("headers", ()):
            if b"\r" in name or b"\n" in name or b"\r" in value or b"\n" in value:
                self._protocol_error("header with CR or LF in websocket.accept")
            if bytes(name).lower() == b"sec-websocket-extensions":
                # Extensions change the framing, which is ours: an app cannot implement
                # one through ASGI, so claiming one would break the connection.
                _warn_app_extensions(self.scope["path"])
                continue
            head.append(bytes(name) + b": " + bytes(value) + b"\r\n")
        head.append(b"\r\n")
        self._write(b"".join(head))
        self.accepted = True
        if self.going_away:
            self.early = []
            self._send_close(CLOSE_GOING_AWAY, "server shutting down")
            return
        early, self.early = self.early, []
        for data in early:
            self.receive_bytes(data)
        if self.inbox_bytes <= self.protocol.state.config.write_high_water:
            self._resume_reading()

    def _protocol_error(self, text: str) -> NoReturn:
        logger.error("ASGI protocol error on websocket %s: %s", self.scope["path"], text)
        raise ASGIProtocolError(f"ASGI protocol error: {text}")
