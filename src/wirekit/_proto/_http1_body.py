"""Reading HTTP/1.1 message bodies: Content-Length, close-delimited and chunked.

Part of the receiving half (``_http1_read.HTTP1Receiver`` inherits it). Content-Length and
close-delimited bodies are sliced from the buffer here, without llhttp; a chunked body is
followed chunk by chunk so that llhttp is never fed the bytes of a pipelined next message.
"""

from __future__ import annotations

from collections import deque

from wirekit._proto._http1_events import Data, Event, ProtocolViolation
from wirekit._proto._http1_llhttp import CHUNK_SIZE, HEX_DIGITS_AND_CRLF, strip_values

__all__ = ["BodyReader"]


class BodyReader:
    """The body readers of :class:`~wirekit._proto._http1_read.HTTP1Receiver` (state there)."""

    # No __slots__ of its own: HTTP1Receiver declares them all (mypy would refuse the
    # assignments to the attributes below if this class declared an empty tuple, and mypyc
    # compiles no statement hidden from it). CPython creates no instance dict unless one is
    # used, so instances stay as small.

    # State kept by HTTP1Receiver (declared there in __slots__).
    _buffer: bytes
    _pos: int
    _eof: bool
    _events: deque[Event]
    _body_expected: int
    _body_left: int
    _body_received: int
    _max_body_bytes: int | None
    _chunk_left: int
    _chunk_line: bytes
    _in_trailers: bool
    _trailer_bytes: int
    _trailer_lines: int
    _trailers: list[tuple[bytes, bytes]]
    _fields: list[tuple[bytes, bytes]]
    _scan_tail: bytes
    _message_complete: bool
    _max_header_bytes: int
    _max_header_count: int
    _max_chunk_extension_bytes: int

    # Defined by HTTP1Receiver; these bodies only give the mixin complete methods when it
    # is compiled (mypyc builds a method table per class, see scripts/compile.py).
    def _violation(self, message: str, status_code: int = 400) -> ProtocolViolation:
        raise NotImplementedError

    def _limit(self, message: str, limit: str, value: int, status_code: int) -> ProtocolViolation:
        raise NotImplementedError

    def _too_many_fields(self, where: str) -> ProtocolViolation:
        raise NotImplementedError

    def _find_blank_line(self, buffer: bytes, pos: int, end: int) -> int:
        raise NotImplementedError

    def _feed(self, data: bytes | memoryview) -> None:
        raise NotImplementedError

    def _end_message(self, trailers: list[tuple[bytes, bytes]] | None = None) -> None:
        raise NotImplementedError

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
        left = self._chunk_left  # a local in the loop: it runs once per chunk
        while pos < end:
            if left > 0:  # inside chunk data and the CRLF after it
                if left < end - pos:
                    pos += left
                    left = 0
                else:
                    left -= end - pos
                    pos = end
                    break
            if self._in_trailers:
                stop = self._find_blank_line(buffer, pos, end)
                if stop < 0:
                    stop = end
                else:
                    finished = True
                self._trailer_bytes += stop - pos
                if self._trailer_bytes > self._max_header_bytes:
                    raise self._limit(
                        "{0} trailer section is larger than max_header_bytes "
                        f"({self._max_header_bytes} bytes)",
                        "max_header_bytes",
                        self._max_header_bytes,
                        431,
                    )
                # One LF per field and one for the blank line, as for the head.
                self._trailer_lines += buffer.count(b"\n", pos, stop)
                if self._trailer_lines > self._max_header_count + 1:
                    raise self._too_many_fields("trailer section")
                pos = stop
                break
            newline = buffer.find(b"\n", pos, end)
            line_end = end if newline < 0 else newline + 1
            line = buffer[pos:line_end]
            if self._chunk_line:
                line = self._chunk_line + line
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
            # Only the size matters here; llhttp checks the line. A line of bare hex digits
            # (the usual case) is read by int() directly, 0.2 µs less than the regex.
            if line.translate(None, HEX_DIGITS_AND_CRLF):
                match = CHUNK_SIZE.match(line)
                if match is None:
                    break  # llhttp names the problem when it is fed this line below
                size = int(match.group(), 16)
            else:
                try:
                    size = int(line, 16)
                except ValueError:
                    break  # an empty size: llhttp names the problem below
            if size == 0:
                # Last chunk: the trailer section runs to the next empty line. The CRLF of
                # this line counts as the start of the blank-line search. Trailer fields
                # go to their own list from here on.
                self._in_trailers = True
                self._trailer_bytes = 0
                self._scan_tail = b"\r\n"
                self._fields = self._trailers
            else:
                left = size + 2
        self._chunk_left = left
        self._feed(buffer if start == 0 and pos == end else memoryview(buffer)[start:pos])
        self._pos = pos
        if finished:
            if not self._message_complete:
                raise self._violation("{0} body has chunked framing llhttp did not accept")
            trailers = self._trailers
            self._end_message(strip_values(trailers) if trailers else trailers)
        return True
