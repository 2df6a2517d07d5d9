"""The receiving half of the sans-IO HTTP/1.1 core: bytes from the peer to events.

llhttp (through httptools) parses heads and chunked framing; this module finds where each
message ends, so pipelined bytes are never fed to the wrong parser, and enforces limits.
"""

from __future__ import annotations

import re
from collections import deque
from typing import ClassVar, Final, Literal, NoReturn

import httptools

from wirekit._proto import _http1_write as write
from wirekit._proto._http1_body import BodyReader
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
from wirekit._proto._http1_llhttp import (
    NOTED_CONNECTION,
    NOTED_CONTENT_LENGTH,
    NOTED_EXPECT,
    NOTED_HOST,
    NOTED_TRANSFER_ENCODING,
    OWS_ENDINGS,
    REQUEST_LINE_VERSIONS,
    STATUS_LINE_VERSIONS,
    VERSIONS,
    noted_kind,
    noted_kinds,
    parser_error,
    strip_values,
)
from wirekit.errors import LocalProtocolError, chained

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
#: Heads that put a fresh llhttp parser at the start of a chunked body (_start_chunked_body).
_CHUNKED_REQUEST: Final = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
_CHUNKED_RESPONSE: Final = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
_BODY_METHODS: Final = frozenset({b"POST", b"PUT", b"PATCH"})

# States as module constants: a global load is cheaper than an enum attribute lookup.
_IDLE: Final = State.IDLE
_SEND_BODY: Final = State.SEND_BODY
_STATE_DONE: Final = State.DONE
_MUST_CLOSE: Final = State.MUST_CLOSE
_ERROR: Final = State.ERROR
_SWITCHED_PROTOCOL: Final = State.SWITCHED_PROTOCOL


#: RFC 9112 §3.2 / RFC 3986 §3.2.2: uri-host [":" port]; a reg-name, an IPv4 address or an IP
#: literal in brackets. What else a client may put there (userinfo, a path) is refused.
_VALID_HOSTS: set[bytes] = set()
_VALID_HOSTS_MAX: Final = 1024
#: Content-Length values seen, parsed: most peers repeat a few sizes, and int() of bytes (a
#: type call) costs more than the lookup.
_LENGTHS: dict[bytes, int] = {}
_LENGTHS_KEPT: Final = 4096
#: llhttp's complaint about a header line that starts with whitespace (obs-fold).
_OBS_FOLD_ERROR = "Unexpected whitespace after header value"
#: An obs-fold (RFC 9112 §5.2): CRLF then spaces or tabs, inside a header field's value.
_OBS_FOLD = re.compile(rb"\r\n[ \t]+")

_HOST = re.compile(rb"(?:\[[0-9A-Za-z:.%_~-]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?")


class HTTP1Receiver(BodyReader):
    """The state and the receiving methods of :class:`~wirekit._proto.http1.HTTP1Connection`.

    Speed notes (measured with bench/proto_micro.py): the common case is a whole head in one
    read. It is found with one ``find``, checked against the size limits without copying,
    fed to llhttp in one call, and its fields are looked at in one pass after the head, so
    the per-field callback only appends. A parser is reused for the next message when
    llhttp ended the message with the head (a request without body: the usual GET).
    """

    __slots__ = (
        "_body_expected",
        "_body_left",
        "_body_received",
        "_buffer",
        "_chunk_left",
        "_chunk_line",
        "_eof",
        "_error",
        "_events",
        "_fields",
        "_head_bytes",
        "_head_lines",
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
        "_server",
        "_target",
        "_their_state",
        "_their_version",
        "_trailer_bytes",
        "_trailer_lines",
        "_trailers",
        "our_role",
        "their_role",
    )

    # httptools looks its callbacks up on this object once per parser; a missing attribute
    # costs a caught AttributeError each time, so the callbacks we do not use are None.
    on_message_begin: ClassVar[None] = None
    on_headers_complete: ClassVar[None] = None
    on_chunk_header: ClassVar[None] = None
    on_chunk_complete: ClassVar[None] = None

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
        self._server = role == "server"
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
        self._our_state = _IDLE
        self._their_state = _IDLE
        self._keep_alive = True
        self._phase = _HEAD
        self._parser: httptools.HttpRequestParser | httptools.HttpResponseParser | None = None
        self._request_method = b""
        self._request_sent = False
        self._their_version = b"1.1"
        self._send_framing = _SEND_NONE
        self._send_left = 0
        self._send_total = 0
        self._head_bytes = 0
        self._head_lines = 0
        self._line_bytes = 0
        self._line_complete = False
        self._line_cr = False  # the first line so far began with a CR
        self._scan_tail = b""
        # A response head that came in pieces, kept (client only) in case llhttp refuses
        # an obs-fold in it; then the head so far, to be read again unfolded once whole.
        self._head_copy: bytearray | None = None
        self._unfold: bytearray | None = None
        self._message_complete = False
        self._body_received = 0
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
    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
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

    def release(self) -> None:
        """The connection is closed: let go of the llhttp parser. It calls back into this
        object, so the two form a reference cycle that only the garbage collector would
        free otherwise (about ten objects per connection). Safe at any time: a parser is
        made again if more bytes come."""
        self._parser = None

    @property
    def has_input(self) -> bool:
        """False when ``next_event()`` can only say NEED_DATA: no queued event, no unparsed
        byte, no EOF and no error. Lets a driver skip asking after each answer."""
        return bool(
            self._events or self._pos < len(self._buffer) or self._eof or self._error is not None
        )

    @property
    def next_is_end_of_message(self) -> bool:
        """True when the next event is an EndOfMessage already parsed: right after a head
        event, the message has no body at all (no Data event will come)."""
        events = self._events
        return bool(events) and type(events[0]) is EndOfMessage

    def next_event(self) -> Event | Signal:
        """The next event, or NEED_DATA / PAUSED. Raises ProtocolViolation on bad input."""
        events = self._events
        if events:
            return events.popleft()
        if self._error is not None:
            raise self._error
        if self._phase == _DONE and not self._eof:
            return PAUSED  # the usual third call of a cycle, without the loop below
        try:
            signal = self._receive()
        except ProtocolViolation as exc:
            self._error = exc
            self._their_state = _ERROR
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
                if not self._server and not self._request_sent:
                    # Bytes before any request are not a response (yet): leave them buffered.
                    if self._eof and not self._events:
                        self._closed()
                    return NEED_DATA
                if not self._read_head():
                    return NEED_DATA
            elif phase == _DONE:
                if self._eof and self._pos >= len(self._buffer) and not self._events:
                    self._closed()
                return PAUSED
            elif phase == _LENGTH_BODY:
                if not self._read_length_body():
                    return NEED_DATA
            elif phase == _CHUNKED_BODY:
                if not self._read_chunked_body():
                    return NEED_DATA
            elif phase == _BODY_UNTIL_CLOSE:
                if not self._read_body_until_close():
                    return NEED_DATA
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

    def _too_many_fields(self, where: str) -> ProtocolViolation:
        return self._limit(
            f"{{0}} {where} has more than {self._max_header_count} header fields "
            "(max_header_count)",
            "max_header_count",
            self._max_header_count,
            431,
        )

    def _reset_head(self) -> None:
        self._fields: list[tuple[bytes, bytes]] = []
        self._target = b""
        self._reason = b""
        self._message_complete = False
        if self._head_bytes:  # state only the piecewise path uses
            self._head_bytes = 0
            self._head_lines = 0
            self._line_bytes = 0
            self._line_complete = False
            self._scan_tail = b""
            self._head_copy = None
            self._unfold = None

    def _new_parser(self) -> httptools.HttpRequestParser | httptools.HttpResponseParser:
        if self._server:
            parser: httptools.HttpRequestParser | httptools.HttpResponseParser = (
                httptools.HttpRequestParser(self)
            )
        else:
            parser = httptools.HttpResponseParser(self)
        self._parser = parser
        return parser

    # llhttp callbacks (httptools calls them by name on the protocol object we pass in).
    def on_url(self, url: bytes) -> None:
        self._target += url

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        # Called once per field, so it only appends (to the head's or the trailers' list):
        # the count limit is checked before llhttp sees the bytes, the names after the head.
        self._fields.append((name, value))

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

    def _feed(self, data: bytes | memoryview) -> None:
        parser = self._parser
        assert parser is not None
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # llhttp stops after the head of an upgrade / CONNECT message; which bytes belong
            # to the new protocol is decided in _finish_head from the headers. A parser that
            # stopped so is never reused, whatever we decide.
            self._message_complete = False
        except httptools.HttpParserError as exc:
            self._raise_parser_error(exc)

    def _feed_response_piece(self, piece: bytes | memoryview) -> bool:
        """Feed a piece of a response head, keeping a copy; True once llhttp has refused
        an obs-fold in the head (the pieces are then gathered, to be read unfolded)."""
        unfold = self._unfold
        if unfold is not None:
            unfold += piece
            return True
        copy = self._head_copy
        if copy is None:
            copy = self._head_copy = bytearray()
        copy += piece
        parser = self._parser
        assert parser is not None
        try:
            parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            self._message_complete = False  # see _feed
        except httptools.HttpParserError as exc:
            if str(exc) != _OBS_FOLD_ERROR:
                self._raise_parser_error(exc)
            self._unfold = copy
            self._head_copy = None
            return True
        return False

    def _read_unfolded(self, head: bytes) -> httptools.HttpResponseParser:
        """Parse a whole response head again with each obs-fold replaced by a space: RFC
        9112 §5.2 has a user agent do so (every reference client accepts it), where a
        server must refuse it (and the wirekit server does). llhttp has no option for
        this alone (its lenient headers also let control characters through)."""
        self._fields = []
        self._reason = b""
        self._message_complete = False
        parser = httptools.HttpResponseParser(self)
        self._parser = parser
        try:
            parser.feed_data(_OBS_FOLD.sub(b" ", head))
        except httptools.HttpParserUpgrade:
            self._message_complete = False  # see _feed
        except httptools.HttpParserError as exc:
            self._raise_parser_error(exc)
        if len(self._fields) > self._max_header_count:
            raise self._too_many_fields("head")
        return parser

    def _raise_parser_error(self, exc: httptools.HttpParserError) -> NoReturn:
        """Raise llhttp's complaint as a ProtocolViolation (called while handling it)."""
        violation = parser_error(exc, self._noun)
        if violation is exc.__context__:
            raise chained(violation, None) from None
        raise chained(violation, exc) from exc

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

    def _read_head(self) -> bool:
        buffer = self._buffer
        pos = self._pos
        if self._head_bytes == 0:
            # Fast path: the whole head is in the buffer, starts with its first line, and is
            # within the size limits (one find each). Anything else goes piece by piece.
            head_end = buffer.find(b"\r\n\r\n", pos) + 4
            if head_end >= 4:
                if head_end - pos <= self._max_line_bytes + 2:
                    # A head shorter than the line limit: so is its first line, which only
                    # has to be two bytes or more, and not start with a stray CR (which
                    # the piecewise path refuses). One find less than the general case.
                    line_end = -1
                    first_line_ok = (
                        buffer[pos] != 13 and buffer[pos] != 10 and buffer[pos + 1] != 10
                    )
                else:
                    line_end = buffer.find(b"\n", pos, head_end)
                    first_line_ok = (
                        2 < line_end + 1 - pos <= self._max_line_bytes + 2 and buffer[pos] != 13
                    )
                if head_end - pos <= self._max_header_bytes and first_line_ok:
                    parser = self._parser
                    if parser is None:
                        parser = self._new_parser()
                    # A copy of a head is cheaper than a memoryview (0.05 against 0.2 µs).
                    if pos == 0 and head_end == len(buffer):
                        data = buffer
                    else:
                        data = buffer[pos:head_end]
                    try:
                        parser.feed_data(data)
                    except httptools.HttpParserUpgrade:
                        self._message_complete = False  # see _feed
                    except httptools.HttpParserError as exc:
                        if self._server or str(exc) != _OBS_FOLD_ERROR:
                            self._raise_parser_error(exc)
                        parser = self._read_unfolded(bytes(data))
                    self._pos = head_end
                    # Fields are counted once parsed: the head is in memory and within
                    # max_header_bytes already, so the list it gave is bounded too.
                    if len(self._fields) > self._max_header_count:
                        raise self._too_many_fields("head")
                    if self._server:
                        if line_end < 0:
                            line_end = buffer.find(b"\n", pos, head_end)
                        # (A line too short to end in " HTTP/x.y" has no version here: the
                        # slice would start before it, or wrap around from the end.)
                        version = (
                            REQUEST_LINE_VERSIONS.get(buffer[line_end - 9 : line_end - 1])
                            if line_end - pos >= 9
                            else None
                        )
                        # Only if the line is "method SP target SP version": llhttp reads
                        # "GET /HTTP/1.1" as an HTTP/0.9 request for "/HTTP/1.1".
                        if version is not None and (
                            len(parser.get_method()) + len(self._target) + 12  # type: ignore[union-attr]
                            != line_end + 1 - pos
                        ):
                            version = None
                    else:
                        version = STATUS_LINE_VERSIONS.get(buffer[pos : pos + 9])
                    self._finish_head(parser, version, head_end)
                    return True
        if pos >= len(buffer):
            if not self._eof:
                return False
            if self._head_bytes == 0:
                if not self._server:
                    raise self._violation("server closed the connection without sending a response")
                self._closed()
                return False
            raise self._violation(
                f"connection closed in the middle of the {{0}} head after {self._head_bytes} bytes"
            )
        return self._read_head_piece(buffer, pos)

    def _read_head_piece(self, buffer: bytes, pos: int) -> bool:
        """The general path: a head that arrives in pieces, or is near or over a limit."""
        end = len(buffer)
        parser = self._parser
        if parser is None:
            parser = self._new_parser()
        head_end = self._find_blank_line(buffer, pos, end)
        stop = end if head_end < 0 else head_end
        size = self._head_bytes + stop - pos
        # The first line's own limit first: a URL too long gets 414, however long the head.
        fields_from = pos if self._line_complete else self._check_first_line(buffer, pos, stop)
        # Counted before llhttp sees the bytes: httptools accumulates a header value in
        # memory until it ends, so an endless header must be stopped here.
        if size > self._max_header_bytes:
            raise self._limit(
                f"{{0}} head is larger than max_header_bytes ({self._max_header_bytes} bytes)",
                "max_header_bytes",
                self._max_header_bytes,
                431,
            )
        if fields_from >= 0:
            # Header fields are counted by their LFs, also before llhttp sees them, so a head
            # of many tiny fields never builds a long list.
            self._head_lines += buffer.count(b"\n", fields_from, stop)
            if self._head_lines > self._max_header_count + 1:
                raise self._too_many_fields("head")
        self._head_bytes = size
        piece = buffer if pos == 0 and stop == end else memoryview(buffer)[pos:stop]
        if self._server:
            self._feed(piece)
        elif self._feed_response_piece(piece):  # llhttp refused an obs-fold in the head
            self._pos = stop
            if head_end < 0:
                return False
            unfold, self._unfold = self._unfold, None
            assert unfold is not None
            parser = self._read_unfolded(bytes(unfold))
            self._finish_head(parser, VERSIONS.get(parser.get_http_version()), stop)
            return True
        self._pos = stop
        if head_end < 0 or not self._line_complete:
            # Either more bytes are needed, or the blank line found was one of the empty
            # lines allowed before a request line: keep scanning.
            return head_end >= 0
        version = VERSIONS.get(parser.get_http_version())
        self._finish_head(parser, version, stop)
        return True

    def _check_first_line(self, buffer: bytes, pos: int, stop: int) -> int:
        """Follow the request/status line; the index after it once it is complete, else -1."""
        limit = self._max_line_bytes
        what = "request line" if self._server else "status line"
        status = 414 if self._server else 400
        while True:
            if self._line_bytes == 0 and pos < stop:
                self._line_cr = buffer[pos] == 13
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
                if self._line_cr:
                    # "\r\r\n" is no empty line: llhttp would skip it and take the next
                    # line as the first without this limit; RFC 9112 §2.2 forbids a bare CR.
                    raise self._violation(f"bare CR before the {what}")
                length -= 2
            if length > limit:
                raise self._limit(
                    f"{what} is longer than max_line_bytes ({limit} bytes)",
                    "max_line_bytes",
                    limit,
                    status,
                )
            if newline < 0:
                return -1
            self._line_complete = True
            return newline + 1

    def _finish_head(
        self,
        parser: httptools.HttpRequestParser | httptools.HttpResponseParser,
        version: bytes | None,
        head_end: int,
    ) -> None:
        if version is None:
            version = VERSIONS.get(parser.get_http_version())
            if version is None:
                raise self._violation(
                    f"{{0}} has unsupported version HTTP/{parser.get_http_version()}", 505
                )
        # One pass over the fields after the head (a cached dict lookup each) finds those
        # that decide framing and connection handling, and trailing whitespace to strip.
        headers = self._fields
        host_count = 0
        connection = content_length = transfer_encoding = expect = upgrade_value = None
        host: bytes | None = None
        kind_of = noted_kinds.get
        strip = False
        for name, value in headers:
            if value[-1:] in OWS_ENDINGS:
                value = value.rstrip(b" \t")
                strip = True
            kind = kind_of(name)
            if kind is None:
                kind = noted_kind(name)
            if kind:
                if kind == NOTED_HOST:
                    host_count += 1
                    host = value
                elif kind == NOTED_CONNECTION:
                    connection = value if connection is None else connection + b"," + value
                elif kind == NOTED_CONTENT_LENGTH:
                    content_length = value
                elif kind == NOTED_TRANSFER_ENCODING:
                    transfer_encoding = (
                        value if transfer_encoding is None else transfer_encoding + b"," + value
                    )
                elif kind == NOTED_EXPECT:
                    expect = value
                else:
                    upgrade_value = value
        if strip:
            headers = self._fields = strip_values(headers)
        tokens = None if connection is None else write.connection_tokens(connection)
        if version == b"1.1":
            keep_alive = tokens is None or b"close" not in tokens
        else:
            keep_alive = tokens is not None and b"keep-alive" in tokens
        self._their_version = version
        if not keep_alive:
            self._set_keep_alive_off()
        chunked = False
        if transfer_encoding is not None:
            if version == b"1.0":
                # RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
                raise self._violation("HTTP/1.0 {0} has a Transfer-Encoding header")
            if transfer_encoding.strip().lower() != b"chunked":
                raise self._violation(
                    f"{{0}} has unsupported Transfer-Encoding {transfer_encoding!r} "
                    "(only chunked is supported)",
                    501,
                )
            chunked = True
        if not self._server:
            self._finish_response_head(
                parser,  # type: ignore[arg-type]
                version,
                keep_alive,
                content_length,
                chunked,
                head_end,
            )
            return
        if host_count != 1 and (version == b"1.1" or host_count > 1):
            raise self._violation(
                "{0} has no Host header (required in HTTP/1.1)"
                if host_count == 0
                else "{0} has more than one Host header"
            )
        if host and host not in _VALID_HOSTS:
            # RFC 9112 §3.2: an invalid Host value gets 400 (userinfo, a path, spaces...).
            if not _HOST.fullmatch(host):
                raise self._violation(f"{{0}} has an invalid Host header {host[:100]!r}")
            if len(_VALID_HOSTS) >= _VALID_HOSTS_MAX:
                _VALID_HOSTS.clear()
            _VALID_HOSTS.add(host)  # a server sees few hosts: checked once each
        method: bytes = parser.get_method()  # type: ignore[union-attr]
        upgrade = None
        if (
            tokens is not None
            and b"upgrade" in tokens
            and upgrade_value is not None
            and version == b"1.1"  # RFC 9110 §7.8: Upgrade in HTTP/1.0 is ignored
            and not chunked
            and content_length in (None, b"0")
        ):
            # An upgrade is only offered on a request without a body (a WebSocket GET): one
            # with a body is served as plain HTTP, which RFC 9110 §7.8 allows.
            upgrade = upgrade_value.strip().lower()
        expect_continue = (
            expect is not None and version == b"1.1" and expect.lower() == b"100-continue"
        )
        self._request_method = method
        target = self._target
        if b"#" in target:
            # RFC 9112 §3.2: no request-target form has a fragment. What a client sent after
            # "#" is not part of the path or query (uvicorn, gunicorn and nginx drop it too).
            target = target[: target.index(b"#")]
            if not target:
                raise self._violation("{0} has an empty request target")
        self._events.append(
            Request(method, target, version, headers, keep_alive, expect_continue, upgrade)
        )
        if upgrade is not None or method == b"CONNECT":
            self._switch(head_end)
        elif chunked:
            self._start_chunked_body()
        elif content_length is None:
            self._end_message()
        else:
            self._start_length_body(self._content_length_value(content_length))

    def _finish_response_head(
        self,
        parser: httptools.HttpResponseParser,
        version: bytes,
        keep_alive: bool,
        content_length: bytes | None,
        chunked: bool,
        head_end: int,
    ) -> None:
        status: int = parser.get_status_code()
        if status < 100:  # RFC 9110 §15: three digits; "099" is not a 1xx to skip
            raise self._violation(f"{{0}} has an invalid status code {status}")
        # 600-999 are handed over: RFC 9110 §15 has a client treat them as a 5xx (every
        # reference client returns them; LinkedIn answers 999).
        if status < 200 and status != 101:
            self._events.append(InformationalResponse(status, self._reason, self._fields))
            # The final response follows; llhttp has ended the 1xx and reads on.
            # The 1xx's own "Connection: close" too: llhttp has then stopped reading
            # (should_keep_alive() no longer says so once the message is complete).
            reuse = self._message_complete and keep_alive and parser.should_keep_alive()
            self._reset_head()
            if not reuse:
                self._parser = None
            return
        switching = status == 101 or (self._request_method == b"CONNECT" and status < 300)
        no_body = switching or status in _NO_BODY_STATUSES or self._request_method == b"HEAD"
        until_close = not (no_body or chunked or content_length is not None)
        if until_close:
            keep_alive = False
            self._set_keep_alive_off()
        self._events.append(Response(status, self._reason, version, self._fields, keep_alive))
        if switching:
            self._switch(head_end)
        elif no_body:
            self._end_message()
        elif chunked:
            self._start_chunked_body()
        elif until_close:
            self._body_received = 0
            self._phase = _BODY_UNTIL_CLOSE
            self._their_state = _SEND_BODY
            self._parser = None
        else:
            self._start_length_body(self._content_length_value(content_length))

    def _content_length_value(self, value: bytes | None) -> int:
        # llhttp already refused signs, spaces inside, duplicates and overflow.
        if value is None:
            length = 0
        else:
            length = _LENGTHS.get(value, -1)
            if length < 0:
                length = int(value)
                if len(_LENGTHS) < _LENGTHS_KEPT and len(value) <= 20:
                    _LENGTHS[value] = length
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
        if length == 0:
            self._end_message()
            return
        self._parser = None  # llhttp would wait for the body that is sliced here instead
        self._body_expected = length
        self._body_left = length
        self._phase = _LENGTH_BODY
        self._their_state = _SEND_BODY

    def _start_chunked_body(self) -> None:
        parser = self._parser
        if parser is not None and parser.should_upgrade():
            # llhttp stopped after a head that offered an upgrade we decline (a body comes:
            # served as plain HTTP, curl --http2 sends such POSTs) and reads no more. A fresh
            # parser, put at a chunked body by a head of our own whose callbacks write to
            # scratch fields, reads the body instead.
            target, reason, fields = self._target, self._reason, self._fields
            self._fields = []
            self._new_parser().feed_data(_CHUNKED_REQUEST if self._server else _CHUNKED_RESPONSE)
            self._target, self._reason, self._fields = target, reason, fields
        self._chunk_left = 0
        self._chunk_line = b""
        self._in_trailers = False
        self._trailers: list[tuple[bytes, bytes]] = []
        self._body_received = 0
        self._trailer_bytes = 0
        self._trailer_lines = 0
        self._phase = _CHUNKED_BODY
        self._their_state = _SEND_BODY

    def _end_message(self, trailers: list[tuple[bytes, bytes]] | None = None) -> None:
        self._events.append(EndOfMessage(trailers))
        self._phase = _DONE
        # The parser serves the next message only if llhttp itself saw this one end and
        # expects another (the usual GET); otherwise the next message gets a fresh one.
        parser = self._parser
        if parser is not None and not (self._message_complete and parser.should_keep_alive()):
            self._parser = None
        self._their_state = _STATE_DONE if self._keep_alive else _MUST_CLOSE

    def _set_keep_alive_off(self) -> None:
        self._keep_alive = False
        if self._our_state is _STATE_DONE:
            self._our_state = _MUST_CLOSE
        if self._their_state is _STATE_DONE:
            self._their_state = _MUST_CLOSE
