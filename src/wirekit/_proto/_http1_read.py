"""The receiving half of the sans-IO HTTP/1.1 core: bytes from the peer to events.

llhttp (through httptools) parses heads and chunked framing; this module finds where each
message ends, so pipelined bytes are never fed to the wrong parser, and enforces limits.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Final, Literal

import httptools

from wirekit._proto import _http1_write as write
from wirekit._proto._http1_events import (
    DEFAULT_MAX_CHUNK_EXTENSION_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADER_COUNT,
    DEFAULT_MAX_LINE_BYTES,
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    InformationalResponse,
    ProtocolLimitExceeded,
    ProtocolViolation,
    Request,
    Response,
    Signal,
    State,
    Upgrade,
)
from wirekit.errors import LocalProtocolError

__all__ = ["HTTP1Receiver"]

# Receive phases (what the next bytes from the peer are).
_HEAD: Final = 0
_LENGTH_BODY: Final = 1
_CHUNKED_BODY: Final = 2
_BODY_UNTIL_CLOSE: Final = 3
_DONE: Final = 4
_SWITCHED: Final = 5
_CLOSED: Final = 6

# Sending framings (the sending half, http1.py, uses them too).
_SEND_NONE: Final = 0  # no body at all, or head only (HEAD, 204, 304)
_SEND_LENGTH: Final = 1
_SEND_CHUNKED: Final = 2
_SEND_UNTIL_CLOSE: Final = 3
_SEND_DISCARD: Final = 4  # a HEAD response: body data is dropped
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_BODY_METHODS: Final = frozenset({b"POST", b"PUT", b"PATCH"})

_CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]+")
_VERSIONS: Final = {"1.1": b"1.1", "1.0": b"1.0"}
# Header names we look at while parsing. Names as received (any case) are cached with their
# kind, so most headers cost one dict lookup instead of a lower() and compares; the cache
# is bounded so a peer sending random names cannot grow it.
_NOTED_OTHER: Final = 0
_NOTED_HOST: Final = 1
_NOTED_CONNECTION: Final = 2
_NOTED_CONTENT_LENGTH: Final = 3
_NOTED_TRANSFER_ENCODING: Final = 4
_NOTED_EXPECT: Final = 5
_NOTED_UPGRADE: Final = 6
_NOTED_NAMES: Final = {
    b"host": _NOTED_HOST,
    b"connection": _NOTED_CONNECTION,
    b"content-length": _NOTED_CONTENT_LENGTH,
    b"transfer-encoding": _NOTED_TRANSFER_ENCODING,
    b"expect": _NOTED_EXPECT,
    b"upgrade": _NOTED_UPGRADE,
}
_NOTED_CACHE_SIZE: Final = 1024
_noted_kinds: dict[bytes, int] = {}


def _noted_kind(name: bytes) -> int:
    kind = _NOTED_NAMES.get(name.lower(), _NOTED_OTHER)
    if len(_noted_kinds) < _NOTED_CACHE_SIZE:
        _noted_kinds[name] = kind
    return kind


_OWS_BYTES: Final = frozenset(b" \t")

# llhttp's reasons, turned into plain words; {0} is "request" or "response".
_LLHTTP_REASONS: Final = {
    "Transfer-Encoding can't be present with Content-Length": (
        400,
        "{0} has both Content-Length and Transfer-Encoding",
    ),
    "Content-Length can't be present with Transfer-Encoding": (
        400,
        "{0} has both Content-Length and Transfer-Encoding",
    ),
    "Expected LF after chunk data": (400, "{0} body has chunk data not ended by CRLF"),
    "Expected LF after chunk size": (400, "{0} body has a chunk size line without CRLF"),
    "Duplicate Content-Length": (400, "{0} has more than one Content-Length header"),
    "Invalid character in Content-Length": (400, "{0} has a Content-Length that is not digits"),
    "Empty Content-Length": (400, "{0} has an empty Content-Length"),
    "Content-Length overflow": (400, "{0} has a Content-Length too large to represent"),
    "Invalid character in chunk size": (400, "{0} body has a bad chunk size line"),
    "Chunk size overflow": (400, "{0} body has a chunk size too large to represent"),
    "Missing expected CR after chunk size": (400, "{0} body has a chunk size line without CRLF"),
    "Missing expected LF after chunk size": (400, "{0} body has a chunk size line without CRLF"),
    "Missing expected CR after chunk data": (400, "{0} body has chunk data not ended by CRLF"),
    "Missing expected LF after chunk data": (400, "{0} body has chunk data not ended by CRLF"),
    "Invalid header token": (
        400,
        "{0} has a bad header name (invalid characters, or whitespace before the colon)",
    ),
    "Unexpected whitespace after header value": (
        400,
        "{0} uses header line folding (obs-fold), which RFC 9112 §5.2 forbids",
    ),
    "Invalid header value char": (
        400,
        "{0} has a header value with NUL or control characters",
    ),
    "Invalid HTTP version": (505, "{0} has an unsupported HTTP version"),
    "Request has invalid `Transfer-Encoding`": (501, "{0} has an unsupported Transfer-Encoding"),
    "Invalid `Transfer-Encoding` header value": (
        501,
        "{0} has an unsupported Transfer-Encoding",
    ),
}


class HTTP1Receiver:
    """The state and the receiving methods of :class:`~wirekit._proto.http1.HTTP1Connection`."""

    __slots__ = (
        "_body_expected",
        "_body_left",
        "_body_received",
        "_buffer",
        "_chunk_left",
        "_chunk_line",
        "_connection",
        "_content_length",
        "_eof",
        "_error",
        "_events",
        "_expect",
        "_head_bytes",
        "_headers",
        "_headers_complete",
        "_host_count",
        "_in_trailers",
        "_keep_alive",
        "_line_bytes",
        "_line_complete",
        "_max_body_bytes",
        "_max_chunk_extension_bytes",
        "_max_header_bytes",
        "_max_header_count",
        "_max_line_bytes",
        "_message_complete",
        "_noun",
        "_our_state",
        "_parser",
        "_phase",
        "_pos",
        "_reason",
        "_request_method",
        "_request_sent",
        "_scan_tail",
        "_send_framing",
        "_send_left",
        "_send_total",
        "_target",
        "_their_state",
        "_their_version",
        "_trailer_bytes",
        "_trailers",
        "_transfer_encoding",
        "_upgrade_value",
        "our_role",
        "their_role",
    )

    def __init__(
        self,
        role: Literal["client", "server"],
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_header_count: int = DEFAULT_MAX_HEADER_COUNT,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_body_bytes: int | None = None,
        max_chunk_extension_bytes: int = DEFAULT_MAX_CHUNK_EXTENSION_BYTES,
    ) -> None:
        if role not in ("client", "server"):
            raise ValueError(f"role must be 'client' or 'server', not {role!r}")
        self.our_role: Literal["client", "server"] = role
        self.their_role: Literal["client", "server"] = "server" if role == "client" else "client"
        self._noun = "response" if role == "client" else "request"
        self._max_header_bytes = max_header_bytes
        self._max_header_count = max_header_count
        self._max_line_bytes = max_line_bytes
        self._max_body_bytes = max_body_bytes
        self._max_chunk_extension_bytes = max_chunk_extension_bytes
        self._buffer = b""
        self._pos = 0
        self._eof = False
        self._events: deque[Event] = deque()
        self._error: ProtocolViolation | None = None
        self._our_state = State.IDLE
        self._their_state = State.IDLE
        self._keep_alive = True
        self._phase = _HEAD
        self._parser: httptools.HttpRequestParser | httptools.HttpResponseParser | None = None
        self._request_method = b""
        self._request_sent = False
        self._their_version = b"1.1"
        self._send_framing = _SEND_NONE
        self._send_left = 0
        self._send_total = 0
        self._reset_head()

    # -- public state --------------------------------------------------------------------
    @property
    def our_state(self) -> State:
        return self._our_state

    @property
    def their_state(self) -> State:
        return self._their_state

    @property
    def keep_alive(self) -> bool:
        """Whether the connection can carry another message after this cycle."""
        return self._keep_alive

    def __repr__(self) -> str:
        return (
            f"<HTTP1Connection {self.our_role} ours={self._our_state.value} "
            f"theirs={self._their_state.value}>"
        )

    # -- receiving -----------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Add bytes received from the peer; ``b""`` means the peer closed its side."""
        if self._eof:
            if data:
                raise LocalProtocolError("received data after the end of stream (b'')")
            return
        if not data:
            self._eof = True
            return
        if self._phase == _SWITCHED:
            raise LocalProtocolError(
                "the protocol was switched: these bytes belong to the new protocol"
            )
        if self._pos >= len(self._buffer):
            self._buffer = data if type(data) is bytes else bytes(data)
        else:
            # Only pipelined bytes (while PAUSED) are kept across reads; drivers stop reading
            # while PAUSED, so this copy stays rare and small.
            self._buffer = self._buffer[self._pos :] + data
        self._pos = 0

    def next_event(self) -> Event | Signal:
        """The next event, or NEED_DATA / PAUSED. Raises ProtocolViolation on bad input."""
        events = self._events
        if events:
            return events.popleft()
        if self._error is not None:
            raise self._error
        try:
            signal = self._receive()
        except ProtocolViolation as exc:
            self._error = exc
            self._their_state = State.ERROR
            self._set_keep_alive_off()
            if events:
                return events.popleft()
            raise
        if events:
            return events.popleft()
        return signal

    def _receive(self) -> Signal:
        """Turn buffered bytes into events until the current message is done or bytes run out."""
        while True:
            phase = self._phase
            if phase == _HEAD:
                if self.our_role == "client" and not self._request_sent:
                    # Bytes before any request are not a response (yet): leave them buffered.
                    if self._eof and not self._events:
                        self._closed()
                    return NEED_DATA
                if not self._read_head():
                    return NEED_DATA
            elif phase == _LENGTH_BODY:
                if not self._read_length_body():
                    return NEED_DATA
            elif phase == _CHUNKED_BODY:
                if not self._read_chunked_body():
                    return NEED_DATA
            elif phase == _BODY_UNTIL_CLOSE:
                if not self._read_body_until_close():
                    return NEED_DATA
            elif phase == _DONE:
                if self._eof and self._pos >= len(self._buffer) and not self._events:
                    self._closed()
                return PAUSED
            elif phase == _CLOSED:
                if not self._events:
                    self._events.append(ConnectionClosed())
                return NEED_DATA
            else:  # _SWITCHED
                return PAUSED

    def _closed(self) -> None:
        self._phase = _CLOSED
        self._their_state = State.CLOSED
        self._set_keep_alive_off()
        self._events.append(ConnectionClosed())

    # Messages name the message kind as "{0}". Filled with replace(), never format(): they
    # may quote peer bytes, and a "{1}" sent by the peer must not break the error path.
    def _violation(self, message: str, status_code: int = 400) -> ProtocolViolation:
        return ProtocolViolation(message.replace("{0}", self._noun), status_code=status_code)

    def _limit(self, message: str, limit: str, value: int, status_code: int) -> ProtocolViolation:
        return ProtocolLimitExceeded(
            message.replace("{0}", self._noun), limit=limit, value=value, status_code=status_code
        )

    def _reset_head(self) -> None:
        self._parser = None
        self._head_bytes = 0
        self._line_bytes = 0
        self._line_complete = False
        self._scan_tail = b""
        self._target = b""
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._headers_complete = False
        self._message_complete = False
        self._host_count = 0
        self._content_length: bytes | None = None
        self._transfer_encoding: bytes | None = None
        self._connection: bytes | None = None
        self._expect: bytes | None = None
        self._upgrade_value: bytes | None = None
        self._in_trailers = False
        self._trailers: list[tuple[bytes, bytes]] = []
        self._body_received = 0
        self._trailer_bytes = 0

    # llhttp callbacks (httptools calls them by name on the protocol object we pass in).
    def on_url(self, url: bytes) -> None:
        self._target += url

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        # llhttp strips leading whitespace but keeps trailing OWS (RFC 9112 §5.1); testing
        # the last byte first is cheaper than calling rstrip on every value.
        if value and value[-1] in _OWS_BYTES:
            value = value.rstrip(b" \t")
        in_trailers = self._in_trailers
        fields = self._trailers if in_trailers else self._headers
        fields.append((name, value))
        if len(fields) > self._max_header_count:
            where = "trailer section" if in_trailers else "head"
            raise self._limit(
                f"{{0}} {where} has more than {self._max_header_count} header fields",
                "max_header_count",
                self._max_header_count,
                431,
            )
        if in_trailers:
            return
        kind = _noted_kinds.get(name)
        if kind is None:
            kind = _noted_kind(name)
        if kind:
            if kind == _NOTED_HOST:
                self._host_count += 1
            elif kind == _NOTED_CONNECTION:
                joined = self._connection
                self._connection = value if joined is None else joined + b"," + value
            elif kind == _NOTED_CONTENT_LENGTH:
                self._content_length = value
            elif kind == _NOTED_TRANSFER_ENCODING:
                joined = self._transfer_encoding
                self._transfer_encoding = value if joined is None else joined + b"," + value
            elif kind == _NOTED_EXPECT:
                self._expect = value
            else:
                self._upgrade_value = value

    def on_headers_complete(self) -> None:
        self._headers_complete = True

    def on_body(self, body: bytes) -> None:
        # Only chunked bodies go through llhttp; their size is checked as it arrives.
        received = self._body_received + len(body)
        self._body_received = received
        limit = self._max_body_bytes
        if limit is not None and received > limit:
            raise self._limit(
                f"{{0}} body is larger than max_body_bytes ({limit} bytes)",
                "max_body_bytes",
                limit,
                413,
            )
        self._events.append(Data(body))

    def on_message_complete(self) -> None:
        self._message_complete = True

    def _feed(self, buffer: bytes, start: int, stop: int) -> None:
        parser = self._parser
        assert parser is not None
        data = buffer if start == 0 and stop == len(buffer) else memoryview(buffer)[start:stop]
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # llhttp stops after the head of an upgrade / CONNECT message; which bytes belong
            # to the new protocol is decided in _finish_head from the headers.
            pass
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, ProtocolViolation):
                raise exc.__context__ from None
            raise self._violation(f"malformed {{0}}: {exc}") from exc
        except httptools.HttpParserInvalidMethodError as exc:
            raise self._violation("{0} has an unknown method", 501) from exc
        except httptools.HttpParserInvalidURLError as exc:
            raise self._violation("{0} has an invalid target") from exc
        except httptools.HttpParserInvalidStatusError as exc:
            raise self._violation("{0} has an invalid status code") from exc
        except httptools.HttpParserError as exc:
            reason = str(exc)
            status, message = _LLHTTP_REASONS.get(reason, (400, f"malformed {{0}}: {reason}"))
            raise self._violation(message, status) from exc

    def _find_blank_line(self, buffer: bytes, pos: int, end: int) -> int:
        """Index just past the next CRLFCRLF, also across reads; -1 if not there yet."""
        tail = self._scan_tail
        if tail:
            probe = tail + buffer[pos : pos + 3]
            found = probe.find(b"\r\n\r\n")
            if found >= 0:
                self._scan_tail = b""
                return pos + found + 4 - len(tail)
        found = buffer.find(b"\r\n\r\n", pos, end)
        if found >= 0:
            self._scan_tail = b""
            return found + 4
        self._scan_tail = (tail + buffer[max(pos, end - 3) : end])[-3:]
        return -1

    def _check_first_line(self, buffer: bytes, pos: int, stop: int) -> None:
        limit = self._max_line_bytes
        what = "request line" if self.our_role == "server" else "status line"
        status = 414 if self.our_role == "server" else 400
        while True:
            newline = buffer.find(b"\n", pos, stop)
            if newline < 0:
                self._line_bytes += stop - pos
                length = self._line_bytes - 1  # a trailing CR may still be followed by LF
            else:
                length = self._line_bytes + newline + 1 - pos
                if length <= 2:
                    # RFC 9112 §2.2: empty lines before the request line are ignored.
                    self._line_bytes = 0
                    pos = newline + 1
                    continue
                length -= 2
            if length > limit:
                raise self._limit(
                    f"{what} is longer than max_line_bytes ({limit} bytes)",
                    "max_line_bytes",
                    limit,
                    status,
                )
            if newline >= 0:
                self._line_complete = True
            return

    def _read_head(self) -> bool:
        buffer = self._buffer
        pos = self._pos
        end = len(buffer)
        if pos >= end:
            if not self._eof:
                return False
            if self._head_bytes == 0:
                if self.our_role == "client":
                    raise self._violation("server closed the connection without sending a response")
                self._closed()
                return False
            raise self._violation(
                f"connection closed in the middle of the {{0}} head after {self._head_bytes} bytes"
            )
        if self._parser is None:
            self._parser = (
                httptools.HttpRequestParser(self)
                if self.our_role == "server"
                else httptools.HttpResponseParser(self)
            )
        head_end = self._find_blank_line(buffer, pos, end)
        stop = end if head_end < 0 else head_end
        size = self._head_bytes + stop - pos
        # Counted before llhttp sees the bytes: httptools accumulates a header value in
        # memory until it ends, so an endless header must be stopped here.
        if size > self._max_header_bytes:
            raise self._limit(
                f"{{0}} head is larger than max_header_bytes ({self._max_header_bytes} bytes)",
                "max_header_bytes",
                self._max_header_bytes,
                431,
            )
        if not self._line_complete:
            # Fast path: the whole request/status line is in this read and within the limit.
            newline = buffer.find(b"\n", pos, stop)
            if self._line_bytes == 0 and 2 < newline + 1 - pos <= self._max_line_bytes + 2:
                self._line_complete = True
            else:
                self._check_first_line(buffer, pos, stop)
        self._head_bytes = size
        self._feed(buffer, pos, stop)
        self._pos = stop
        if not self._headers_complete:
            # Either more bytes are needed, or the blank line found was one of the empty
            # lines allowed before a request line: keep scanning.
            return head_end >= 0
        self._finish_head(stop)
        return True

    def _finish_head(self, head_end: int) -> None:
        parser = self._parser
        assert parser is not None
        version = _VERSIONS.get(parser.get_http_version())
        if version is None:
            raise self._violation(
                f"{{0}} has unsupported version HTTP/{parser.get_http_version()}", 505
            )
        tokens = write.connection_tokens(self._connection) if self._connection is not None else None
        if version == b"1.1":
            keep_alive = tokens is None or b"close" not in tokens
        else:
            keep_alive = tokens is not None and b"keep-alive" in tokens
        self._their_version = version
        if not keep_alive:
            self._set_keep_alive_off()
        chunked = False
        if self._transfer_encoding is not None:
            if version == b"1.0":
                # RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
                raise self._violation("HTTP/1.0 {0} has a Transfer-Encoding header")
            if self._transfer_encoding.strip().lower() != b"chunked":
                raise self._violation(
                    f"{{0}} has unsupported Transfer-Encoding {self._transfer_encoding!r} "
                    "(only chunked is supported)",
                    501,
                )
            chunked = True
        if isinstance(parser, httptools.HttpRequestParser):
            self._finish_request_head(parser, version, keep_alive, tokens, chunked, head_end)
        else:
            self._finish_response_head(parser, version, keep_alive, tokens, chunked, head_end)

    def _finish_request_head(
        self,
        parser: httptools.HttpRequestParser,
        version: bytes,
        keep_alive: bool,
        tokens: set[bytes] | None,
        chunked: bool,
        head_end: int,
    ) -> None:
        if self._host_count != 1 and (version == b"1.1" or self._host_count > 1):
            raise self._violation(
                "{0} has no Host header (required in HTTP/1.1)"
                if self._host_count == 0
                else "{0} has more than one Host header"
            )
        method: bytes = parser.get_method()
        upgrade = None
        if tokens is not None and b"upgrade" in tokens and self._upgrade_value is not None:
            upgrade = self._upgrade_value.strip().lower()
        expect = version == b"1.1" and (
            self._expect is not None and self._expect.lower() == b"100-continue"
        )
        self._request_method = method
        self._events.append(
            Request(method, self._target, version, self._headers, keep_alive, expect, upgrade)
        )
        if upgrade is not None or method == b"CONNECT":
            self._switch(head_end)
            return
        if chunked:
            self._start_chunked_body()
            return
        self._start_length_body(self._content_length_value())

    def _finish_response_head(
        self,
        parser: httptools.HttpResponseParser,
        version: bytes,
        keep_alive: bool,
        tokens: set[bytes] | None,
        chunked: bool,
        head_end: int,
    ) -> None:
        status: int = parser.get_status_code()
        if status < 200 and status != 101:
            self._events.append(InformationalResponse(status, self._reason, self._headers))
            self._reset_head()  # the final response follows, with a fresh parser
            return
        switching = status == 101 or (self._request_method == b"CONNECT" and status < 300)
        no_body = switching or status in _NO_BODY_STATUSES or self._request_method == b"HEAD"
        until_close = not (no_body or chunked or self._content_length is not None)
        if until_close:
            keep_alive = False
            self._set_keep_alive_off()
        self._events.append(Response(status, self._reason, version, self._headers, keep_alive))
        if switching:
            self._switch(head_end)
        elif no_body:
            self._end_message()
        elif chunked:
            self._start_chunked_body()
        elif until_close:
            self._phase = _BODY_UNTIL_CLOSE
            self._their_state = State.SEND_BODY
            self._parser = None
        else:
            self._start_length_body(self._content_length_value())

    def _content_length_value(self) -> int:
        # llhttp already refused signs, spaces inside, duplicates and overflow.
        value = self._content_length
        length = 0 if value is None else int(value)
        limit = self._max_body_bytes
        if limit is not None and length > limit:
            raise self._limit(
                f"{{0}} body of {length} bytes is larger than max_body_bytes ({limit} bytes)",
                "max_body_bytes",
                limit,
                413,
            )
        return length

    def _switch(self, head_end: int) -> None:
        self._events.append(Upgrade(self._buffer[head_end:]))
        self._pos = len(self._buffer)
        self._phase = _SWITCHED
        self._their_state = State.SWITCHED_PROTOCOL
        self._set_keep_alive_off()
        self._parser = None

    def _start_length_body(self, length: int) -> None:
        self._parser = None
        if length == 0:
            self._end_message()
            return
        self._body_expected = length
        self._body_left = length
        self._phase = _LENGTH_BODY
        self._their_state = State.SEND_BODY

    def _start_chunked_body(self) -> None:
        self._chunk_left = 0
        self._chunk_line = b""
        self._phase = _CHUNKED_BODY
        self._their_state = State.SEND_BODY

    def _end_message(self) -> None:
        self._events.append(EndOfMessage(self._trailers))
        self._phase = _DONE
        self._parser = None
        self._their_state = State.DONE if self._keep_alive else State.MUST_CLOSE

    def _read_length_body(self) -> bool:
        buffer = self._buffer
        pos = self._pos
        end = len(buffer)
        if pos >= end:
            if self._eof:
                raise self._violation(
                    f"{{0}} body ended after {self._body_expected - self._body_left} "
                    f"of {self._body_expected} bytes"
                )
            return False
        size = min(self._body_left, end - pos)
        # A read that is all body is handed on as it is, without a copy.
        data = buffer if pos == 0 and size == end else buffer[pos : pos + size]
        self._pos = pos + size
        self._body_left -= size
        self._events.append(Data(data))
        if self._body_left == 0:
            self._end_message()
        return True

    def _read_body_until_close(self) -> bool:
        buffer = self._buffer
        pos = self._pos
        end = len(buffer)
        if pos >= end:
            if self._eof:
                self._end_message()
                return True
            return False
        data = buffer if pos == 0 else buffer[pos:]
        received = self._body_received + len(data)
        self._body_received = received
        limit = self._max_body_bytes
        if limit is not None and received > limit:
            raise self._limit(
                f"{{0}} body is larger than max_body_bytes ({limit} bytes)",
                "max_body_bytes",
                limit,
                413,
            )
        self._pos = end
        self._events.append(Data(data))
        return True

    def _read_chunked_body(self) -> bool:
        """Find where the chunked body ends (never feeding llhttp past it), feed llhttp.

        llhttp checks every byte of the framing and de-chunks; this scan only follows the
        chunk sizes so that bytes of a pipelined next message stay in our buffer.
        """
        buffer = self._buffer
        start = pos = self._pos
        end = len(buffer)
        if pos >= end:
            if self._eof:
                raise self._violation(
                    f"{{0}} body ended in the middle of chunked framing after "
                    f"{self._body_received} bytes of data"
                )
            return False
        finished = False
        while pos < end:
            left = self._chunk_left
            if left > 0:  # inside chunk data and the CRLF after it
                step = min(left, end - pos)
                pos += step
                self._chunk_left = left - step
                continue
            if self._in_trailers:
                stop = self._find_blank_line(buffer, pos, end)
                self._trailer_bytes += (end if stop < 0 else stop) - pos
                if self._trailer_bytes > self._max_header_bytes:
                    raise self._limit(
                        "{0} trailer section is larger than max_header_bytes "
                        f"({self._max_header_bytes} bytes)",
                        "max_header_bytes",
                        self._max_header_bytes,
                        431,
                    )
                if stop < 0:
                    pos = end
                else:
                    pos = stop
                    finished = True
                break
            newline = buffer.find(b"\n", pos, end)
            line_end = end if newline < 0 else newline + 1
            line = self._chunk_line + buffer[pos:line_end]
            if len(line) > self._max_chunk_extension_bytes:
                raise self._limit(
                    "{0} body has a chunk size line longer than max_chunk_extension_bytes "
                    f"({self._max_chunk_extension_bytes} bytes)",
                    "max_chunk_extension_bytes",
                    self._max_chunk_extension_bytes,
                    400,
                )
            pos = line_end
            if newline < 0:
                self._chunk_line = line
                break
            self._chunk_line = b""
            match = _CHUNK_SIZE.match(line)
            if match is None:
                break  # llhttp names the problem when it is fed this line below
            size = int(match.group(), 16)
            if size == 0:
                # Last chunk: the trailer section runs to the next empty line. The CRLF of
                # this line counts as the start of the blank-line search.
                self._in_trailers = True
                self._trailer_bytes = 0
                self._scan_tail = b"\r\n"
            else:
                self._chunk_left = size + 2
        self._feed(buffer, start, pos)
        self._pos = pos
        if finished:
            if not self._message_complete:
                raise self._violation("{0} body has chunked framing llhttp did not accept")
            self._end_message()
        return True

    def _set_keep_alive_off(self) -> None:
        self._keep_alive = False
        if self._our_state is State.DONE:
            self._our_state = State.MUST_CLOSE
        if self._their_state is State.DONE:
            self._their_state = State.MUST_CLOSE
