"""Sans-IO HTTP/1.1 for both roles: bytes in, events out, events (as calls) to bytes.

Parsing is httptools (llhttp, in C); the message framing around it (where a head ends, where
a body ends, pipelining, limits, the strict RFC 9112 checks llhttp lets through) is here.

The state machine lives here and in _http1_read.py (its receiving half). Each side has a state:

    IDLE               no message of this cycle started (client: waiting for a response head)
    SEND_BODY          the head is done, the body is in progress
    DONE               the message is complete and the connection can be reused
    MUST_CLOSE         the message is complete and the connection cannot be reused
    CLOSED             the peer closed the connection (EOF between messages)
    SWITCHED_PROTOCOL  the bytes that follow belong to another protocol (Upgrade, CONNECT)
    ERROR              the peer broke the protocol (their side only)

    their side:  IDLE --head--> SEND_BODY --end--> DONE | MUST_CLOSE --start_next_cycle--> IDLE
                 IDLE --EOF--> CLOSED;  IDLE --upgrade head--> SWITCHED_PROTOCOL
                 IDLE --head without body--> DONE | MUST_CLOSE;  any --bad bytes--> ERROR
    our side:    IDLE --send_request/send_response--> SEND_BODY --send_end_of_message-->
                 DONE | MUST_CLOSE (straight there when ``body=`` went with the head, or
                 for a request without body framing);
                 101 / 2xx to CONNECT --> SWITCHED_PROTOCOL

Rules: a message is DONE only if every message so far allowed keep-alive; once one side
turns keep-alive off, every DONE becomes MUST_CLOSE. ``start_next_cycle()`` needs both
sides DONE. After a complete message from the peer, ``next_event()`` returns PAUSED (bytes
of pipelined messages stay buffered) until ``start_next_cycle()``, or ConnectionClosed if
the peer has closed and nothing is buffered.

llhttp is fed only the bytes of the current message: its head, and the body when it is
chunked. Content-Length and close-delimited bodies are sliced here, so a body that arrives
as whole reads is handed out without a copy. A parser serves the next message too when
llhttp saw the message end with its head (a request without body, a 204); otherwise the next
message gets a fresh one (0.3 µs), since llhttp cannot be told "no body here" (a HEAD
answer) and would otherwise wait for the body sliced here.
"""

from __future__ import annotations

from typing import Final

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
from wirekit._proto._http1_read import (
    _BODY_METHODS,
    _ERROR,
    _HEAD,
    _IDLE,
    _MUST_CLOSE,
    _NO_BODY_STATUSES,
    _SEND_BODY,
    _SEND_CHUNKED,
    _SEND_DISCARD,
    _SEND_LENGTH,
    _SEND_NONE,
    _SEND_UNTIL_CLOSE,
    _STATE_DONE,
    _SWITCHED_PROTOCOL,
    HTTP1Receiver,
)
from wirekit._proto._http1_write import CONTROLS as _CONTROLS
from wirekit._proto._http1_write import known_methods as _known_methods
from wirekit.errors import LocalProtocolError

#: Request targets already checked (visible ASCII, RFC 9112 §3.2): a client sends few
#: distinct ones, and a set lookup costs a tenth of the regex match.
_valid_targets: set[bytes] = set()
_VALID_TARGETS_MAX: Final = 1024
_VALID_TARGET_BYTES: Final = 256

__all__ = [
    "DEFAULT_MAX_CHUNK_EXTENSION_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_HEADER_COUNT",
    "DEFAULT_MAX_LINE_BYTES",
    "NEED_DATA",
    "PAUSED",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "HTTP1Connection",
    "InformationalResponse",
    "ProtocolLimitExceeded",
    "ProtocolViolation",
    "Request",
    "Response",
    "Signal",
    "State",
    "Upgrade",
]


class HTTP1Connection(HTTP1Receiver):
    """One HTTP/1.1 connection, client or server side, without any I/O.

    Feed what the socket received to :meth:`receive_data` (``b""`` when the peer closed),
    take events from :meth:`next_event`, and write what the ``send_*`` methods return.
    Knobs (all limits on what the peer sends): ``max_header_bytes``, ``max_header_count``,
    ``max_line_bytes``, ``max_body_bytes`` (None: unlimited), ``max_chunk_extension_bytes``.
    """

    __slots__ = ()

    # -- sending -------------------------------------------------------------------------
    def _framing(
        self,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        content_length: int | None,
        chunked: bool | None,
        header_length: bytes | None,
        header_encoding: bytes | None,
        extra: list[bytes],
    ) -> int:
        """Pick the framing; append the framing header lines to add to ``extra``."""
        if header_encoding is not None and header_encoding.strip().lower() != b"chunked":
            raise LocalProtocolError(
                f"Transfer-Encoding {header_encoding!r} is not supported (only chunked)"
            )
        if header_length is not None:
            if not header_length.isdigit():
                raise LocalProtocolError(f"Content-Length {header_length!r} is not digits")
            if header_encoding is not None or chunked:
                raise LocalProtocolError("message has both Content-Length and chunked framing")
            declared = int(header_length)
            actual = len(body) if body is not None else content_length
            if actual is not None and actual != declared:
                raise LocalProtocolError(
                    f"Content-Length header says {declared} bytes, the body has {actual}"
                )
            self._send_left = self._send_total = declared
            return _SEND_LENGTH
        if header_encoding is not None or chunked:
            if content_length is not None:
                raise LocalProtocolError("content_length given together with chunked framing")
            if header_encoding is None:
                extra.append(b"Transfer-Encoding: chunked")
            return _SEND_CHUNKED
        length = len(body) if body is not None else content_length
        if length is None:
            return -1  # the caller decides (no body, or close-delimited)
        if length < 0:
            raise LocalProtocolError(f"content_length {length} is negative")
        extra.append(b"Content-Length: %d" % length)
        self._send_left = self._send_total = length
        return _SEND_LENGTH

    def _body_bytes(self, body: bytes, framing: int) -> bytes:
        if framing == _SEND_CHUNKED:
            return write.chunk(body) + b"0\r\n\r\n"
        return body

    def send_request(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        body: bytes | None = None,
        content_length: int | None = None,
        chunked: bool = False,
    ) -> bytes:
        """Serialise a request head (and ``body``, if given, in the same bytes).

        Framing: ``body`` -> Content-Length (added if absent); ``chunked`` ->
        Transfer-Encoding: chunked; ``content_length`` -> that Content-Length, body to follow
        by send_data(); none of these and no framing header -> no body (Content-Length: 0
        for POST, PUT and PATCH, RFC 9110 §8.6).
        """
        if self._server:
            raise LocalProtocolError("only the client role sends requests")
        if self._our_state is not _IDLE or self._request_sent:
            raise LocalProtocolError(
                f"cannot send a request now (our state {self._our_state.value}, "
                f"theirs {self._their_state.value}); call start_next_cycle() first"
            )
        if method not in _known_methods and not write.method_is_valid(method):
            raise LocalProtocolError(f"method {method!r} is not a valid token")
        if type(target) is not bytes or target not in _valid_targets:
            write.check_target(target)  # raises, naming the target
            if len(_valid_targets) >= _VALID_TARGETS_MAX:
                _valid_targets.clear()
            if len(target) <= _VALID_TARGET_BYTES:
                _valid_targets.add(target)
        hosts, header_length, header_encoding, connection = write.scan_headers(headers)
        if hosts != 1:
            raise LocalProtocolError(
                "request has no Host header" if hosts == 0 else "request has two Host headers"
            )
        extra: list[bytes] = []
        if (
            body is None
            and content_length is None
            and not chunked
            and header_length is None
            and header_encoding is None
        ):
            framing = -1  # the usual GET: no body (what _framing would decide, sooner)
        else:
            framing = self._framing(
                headers, body, content_length, chunked, header_length, header_encoding, extra
            )
        if framing < 0:
            if method in _BODY_METHODS:
                extra.append(b"Content-Length: 0")
            framing = _SEND_NONE
        if connection is not None and b"close" in write.connection_tokens(connection):
            self._set_keep_alive_off()
        # write.build_head(), inlined: this is the hot path of every request.
        lines = [b" ".join((method, target, b"HTTP/1.1")), *map(b": ".join, headers), *extra]
        lines += (b"", b"")
        head = b"\r\n".join(lines)
        if len(head.translate(None, _CONTROLS)) != len(head) - 2 * len(lines) + 2:
            write.check_head(head, len(lines) - 1, headers)
        self._request_method = method
        self._request_sent = True
        self._send_framing = framing
        if body is not None:
            self._our_state = _STATE_DONE if self._keep_alive else _MUST_CLOSE
            if framing == _SEND_CHUNKED or body:
                return head + self._body_bytes(body, framing)
            return head
        if framing == _SEND_NONE or (framing == _SEND_LENGTH and self._send_left == 0):
            self._our_state = _STATE_DONE if self._keep_alive else _MUST_CLOSE
        else:
            self._our_state = _SEND_BODY
        return head

    @property
    def send_left(self) -> int | None:
        """Body bytes still owed under Content-Length framing; None under any other."""
        return self._send_left if self._send_framing == _SEND_LENGTH else None

    def _our_done(self) -> None:
        self._our_state = _STATE_DONE if self._keep_alive else _MUST_CLOSE

    def send_informational(
        self, status_code: int, headers: list[tuple[bytes, bytes]] | None = None
    ) -> bytes:
        """A 1xx response other than 101 (e.g. 100 Continue, 103 Early Hints)."""
        self._check_can_respond()
        if not 100 <= status_code < 200 or status_code == 101:
            raise LocalProtocolError(
                f"status {status_code} is not informational (use send_response for 101)"
            )
        if self._their_version != b"1.1":
            # RFC 9110 §15.2: no 1xx to an HTTP/1.0 client.
            raise LocalProtocolError("cannot send a 1xx response to an HTTP/1.0 client")
        headers = headers or []
        write.scan_headers(headers)
        return write.build_head(write.status_line(status_code, None), headers, [])

    def _check_can_respond(self) -> None:
        if not self._server:
            raise LocalProtocolError("only the server role sends responses")
        if self._our_state is not _IDLE:
            raise LocalProtocolError(
                f"cannot send a response now (our state {self._our_state.value})"
            )

    def send_response(
        self,
        status_code: int,
        headers: list[tuple[bytes, bytes]],
        *,
        reason: bytes | None = None,
        body: bytes | None = None,
        content_length: int | None = None,
        chunked: bool | None = None,
    ) -> bytes:
        """Serialise a response head (and ``body``, if given, in the same bytes).

        Framing: Content-Length when known, else chunked for HTTP/1.1 peers, else
        close-delimited. No body for HEAD, 204, 304, 101 and 2xx to CONNECT. Adds
        ``Connection: close`` when the connection must close. Does not add Date/Server.
        Without ``body``, our state is SEND_BODY until send_end_of_message(), whatever the
        status (body data for HEAD is dropped).
        """
        if self._our_state is not _IDLE or not self._server:
            self._check_can_respond()
        if status_code < 200 and status_code != 101:
            raise LocalProtocolError(f"use send_informational() for status {status_code}")
        status = write.status_line(status_code, reason)
        _, header_length, header_encoding, connection = write.scan_headers(headers)
        their = self._their_state
        got_request = their is not _IDLE and their is not _ERROR
        method = self._request_method if got_request else b""
        extra: list[bytes] = []
        switching = False
        if status_code == 101 or (method == b"CONNECT" and status_code < 300):
            if their is not _SWITCHED_PROTOCOL:
                raise LocalProtocolError(f"status {status_code} answers no upgrade request")
            if body:
                raise LocalProtocolError(f"a {status_code} response has no body")
            framing = _SEND_NONE
            switching = True
        elif status_code in _NO_BODY_STATUSES:
            if body:
                raise LocalProtocolError(f"a {status_code} response has no body")
            framing = _SEND_NONE
            if header_length is not None or header_encoding is not None:
                # RFC 9110 §8.6: no Content-Length on a 204; RFC 9112 §6.1: no
                # Transfer-Encoding on a 204, nor to an HTTP/1.0 peer (a 304 may keep its
                # Content-Length: the length the GET's body would have).
                drop: tuple[bytes, ...] = ()
                if status_code == 204:
                    drop = (b"content-length", b"transfer-encoding")
                elif self._their_version != b"1.1":
                    drop = (b"transfer-encoding",)
                if drop:
                    headers = [(n, v) for n, v in headers if n.lower() not in drop]
        elif (
            body is not None
            and not chunked
            and content_length is None
            and header_length is None
            and header_encoding is None
            and (body or method != b"HEAD")  # an empty HEAD body says nothing of the GET's
        ):
            # The usual answer, a whole body: what _framing would decide, sooner.
            length = len(body)
            extra.append(write.content_length_line(length))
            self._send_left = self._send_total = length
            framing = _SEND_LENGTH
        else:
            if self._their_version != b"1.1":
                # HTTP/1.0 peers cannot read chunked (RFC 9112 §6.1: a server MUST NOT send
                # it to them): close-delimited instead, also when the app named it itself.
                chunked = False
                if header_encoding is not None and header_length is None:
                    headers = [(n, v) for n, v in headers if n.lower() != b"transfer-encoding"]
                    header_encoding = None
            # A HEAD answer may carry the GET's Content-Length without its body (RFC 9110
            # §9.3.2): only a body actually given must match the header.
            framing = self._framing(
                headers,
                None if method == b"HEAD" else body,
                content_length,
                chunked,
                header_length,
                header_encoding,
                extra,
            )
            if framing < 0 and method == b"HEAD":
                framing = _SEND_NONE  # nothing known to mirror: a bare HEAD answer
            elif framing < 0:
                if chunked is False or self._their_version != b"1.1":
                    framing = _SEND_UNTIL_CLOSE
                else:
                    framing = _SEND_CHUNKED
                    extra.append(b"Transfer-Encoding: chunked")
        # A switch of protocol ends HTTP on this connection without "Connection: close"
        # (which would contradict the 101's "Connection: upgrade").
        close = not switching and (
            not got_request
            or not self._keep_alive
            or framing == _SEND_UNTIL_CLOSE
            or their is _SWITCHED_PROTOCOL  # upgrade declined: its bytes are gone
        )
        if connection is not None and b"close" in write.connection_tokens(connection):
            close = True
        elif close:
            extra.append(b"Connection: close")
        elif self._their_version == b"1.0" and not switching:
            extra.append(b"Connection: keep-alive")
        if close:
            self._set_keep_alive_off()
        # write.build_head(), inlined: this is the hot path of every answer.
        lines = [status, *map(b": ".join, headers), *extra, b"", b""]
        head = b"\r\n".join(lines)
        if len(head.translate(None, _CONTROLS)) != len(head) - 2 * len(lines) + 2:
            write.check_head(head, len(lines) - 1, headers)
        if switching:
            self._our_state = _SWITCHED_PROTOCOL
            return head
        # Without ``body`` the response streams: SEND_BODY until send_end_of_message(), even
        # for HEAD, 204 and 304, so a server runs every answer through the same calls.
        self._send_framing = _SEND_DISCARD if method == b"HEAD" else framing
        if body is None:
            self._our_state = _SEND_BODY
            return head
        self._our_state = _STATE_DONE if self._keep_alive else _MUST_CLOSE
        if method == b"HEAD" or framing == _SEND_NONE or (not body and framing != _SEND_CHUNKED):
            return head
        if framing == _SEND_LENGTH:
            return head + body
        return head + self._body_bytes(body, framing)

    def send_data(self, data: bytes) -> bytes:
        """Bytes for one piece of body (chunk-framed when chunked)."""
        if self._our_state is not _SEND_BODY:
            raise LocalProtocolError(f"cannot send body data in state {self._our_state.value}")
        framing = self._send_framing
        if framing == _SEND_CHUNKED:
            return write.chunk(data)
        if framing == _SEND_LENGTH:
            left = self._send_left - len(data)
            if left < 0:
                raise LocalProtocolError(
                    f"body is longer than its Content-Length of {self._send_total} bytes"
                )
            self._send_left = left
            return data
        if framing == _SEND_UNTIL_CLOSE:
            return data
        if framing == _SEND_DISCARD:
            return b""  # a HEAD response: the body a GET would get is not sent
        if data:
            raise LocalProtocolError("this message has no body (no framing, 204 or 304)")
        return b""

    def send_end_of_message(self, trailers: list[tuple[bytes, bytes]] | None = None) -> bytes:
        """Bytes that end the body (``0\\r\\n...\\r\\n`` when chunked, else b"")."""
        if self._our_state is not _SEND_BODY:
            raise LocalProtocolError(f"cannot end a message in state {self._our_state.value}")
        framing = self._send_framing
        if framing == _SEND_DISCARD:
            self._our_done()
            return b""
        if trailers and framing != _SEND_CHUNKED:
            raise LocalProtocolError("trailers can only be sent with a chunked body")
        if framing == _SEND_LENGTH and self._send_left:
            raise LocalProtocolError(
                f"body ended after {self._send_total - self._send_left} of "
                f"{self._send_total} bytes declared by Content-Length"
            )
        if framing == _SEND_UNTIL_CLOSE:
            self._set_keep_alive_off()
        self._our_done()
        return write.trailer_block(trailers) if framing == _SEND_CHUNKED else b""

    def start_next_cycle(self) -> None:
        """Both messages are complete and keep-alive holds: get ready for the next pair."""
        if not (
            self._keep_alive and self._our_state is _STATE_DONE and self._their_state is _STATE_DONE
        ):
            raise LocalProtocolError(
                "cannot start the next request/response cycle: our state "
                f"{self._our_state.value}, theirs {self._their_state.value}, "
                f"keep-alive {'on' if self._keep_alive else 'off'}"
            )
        self._our_state = _IDLE
        self._their_state = _IDLE
        self._phase = _HEAD
        self._request_sent = False
        self._request_method = b""
        self._send_framing = _SEND_NONE
        self._reset_head()
