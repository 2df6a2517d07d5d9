"""Serialising HTTP/1.1 heads and chunked framing, with the checks that stop header injection.

httptools (llhttp) only parses; it has no serialiser, so message heads and chunk framing are
written here by hand. Every name, value, method and target is checked before it is sent.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Final

from wirekit.errors import LocalProtocolError

__all__ = [
    "CONTROLS",
    "KIND_CONNECTION",
    "KIND_CONTENT_LENGTH",
    "KIND_HOST",
    "KIND_OTHER",
    "KIND_TRANSFER_ENCODING",
    "TARGET",
    "build_head",
    "check_head",
    "check_target",
    "check_value",
    "chunk",
    "connection_tokens",
    "content_length_line",
    "head_lines",
    "header_kind",
    "known_methods",
    "method_is_valid",
    "scan_headers",
    "status_line",
    "trailer_block",
]

# RFC 9110 §5.6.2: token = 1*tchar; field names and methods are tokens.
_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 §5.5: a field value holds visible characters, SP, HTAB and obs-text, never CR, LF,
# NUL or another control character (CR/LF would let a value start a new header line).
_BAD_VALUE_CHAR: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# Every control character but HTAB: what a whole serialised head may hold only as the CR LF
# pairs we put there ourselves (see check_head).
CONTROLS: Final = bytes(range(0x00, 0x09)) + bytes(range(0x0A, 0x20)) + b"\x7f"
# RFC 9112 §3.2: request-target is visible ASCII; a space would end it early.
TARGET: Final = re.compile(rb"[\x21-\x7e]+")

KIND_OTHER: Final = 0
KIND_HOST: Final = 1
KIND_CONTENT_LENGTH: Final = 2
KIND_TRANSFER_ENCODING: Final = 3
KIND_CONNECTION: Final = 4
_SPECIAL_KINDS: Final = {
    b"host": KIND_HOST,
    b"content-length": KIND_CONTENT_LENGTH,
    b"transfer-encoding": KIND_TRANSFER_ENCODING,
    b"connection": KIND_CONNECTION,
}
# Header names already checked, mapped to their kind: one dict lookup per header replaces a
# regex match and a lower() call on the hot path. Bounded in entries and in the length of
# what is kept, so a peer that makes us echo random names cannot grow it without end.
_NAME_CACHE_SIZE: Final = 2048
_CACHED_BYTES_MAX: Final = 64
_name_kinds: dict[bytes, int] = {}
known_methods: set[bytes] = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH",
                              b"OPTIONS", b"CONNECT", b"TRACE"}  # fmt: skip


def header_kind(name: bytes) -> int:
    """The framing role of a header name; raises LocalProtocolError if it is not a token."""
    kind = _name_kinds.get(name)
    if kind is not None:
        return kind
    if not isinstance(name, bytes) or _TOKEN.fullmatch(name) is None:
        raise LocalProtocolError(f"header name {name!r} is not a valid token (RFC 9110 §5.1)")
    kind = _SPECIAL_KINDS.get(name.lower(), KIND_OTHER)
    if len(_name_kinds) < _NAME_CACHE_SIZE and len(name) <= _CACHED_BYTES_MAX:
        _name_kinds[name] = kind
    return kind


def method_is_valid(method: bytes) -> bool:
    if method in known_methods:
        return True
    if isinstance(method, bytes) and _TOKEN.fullmatch(method) is not None:
        if len(known_methods) < _NAME_CACHE_SIZE and len(method) <= _CACHED_BYTES_MAX:
            known_methods.add(method)
        return True
    return False


def check_target(target: bytes) -> None:
    if not isinstance(target, bytes) or TARGET.fullmatch(target) is None:
        raise LocalProtocolError(
            f"request target {target!r} is empty or has spaces or control characters"
        )


def check_head(head: bytes, line_count: int, headers: list[tuple[bytes, bytes]]) -> None:
    """Check a serialised head that must hold ``line_count`` CRLFs of ours and no other CTL.

    One ``bytes.translate`` pass deletes every control character; if more than our own CR
    and LF went, something injected one. Measured on a 10-header request: 0.5-0.8 µs, against
    1.8-2.9 µs for a regex search per value. Only when it fails do we look at each header,
    to name the one at fault.
    """
    if len(head.translate(None, CONTROLS)) == len(head) - 2 * line_count:
        return
    for name, value in headers:
        check_value(name, value)
    raise LocalProtocolError("message head contains CR, LF or control characters")


def check_value(name: bytes, value: bytes) -> None:
    if not isinstance(value, bytes) or _BAD_VALUE_CHAR.search(value) is not None:
        raise LocalProtocolError(
            f"value of header {name!r} contains CR, LF, NUL or another control character"
        )


def check_fields(headers: list[tuple[bytes, bytes]]) -> None:
    """Refuse, before anything is sent, what ``check_head`` would find once the head is
    serialised: a name that is not a token, a value with CR, LF, NUL or another control
    character. For headers a caller gives (a client checks its own once, not per request)."""
    for name, value in headers:
        if _name_kinds.get(name) is None:
            header_kind(name)
        check_value(name, value)


def connection_tokens(value: bytes) -> frozenset[bytes]:
    """The lower-cased tokens of a Connection header (RFC 9110 §7.6.1: a comma list)."""
    tokens = _connection_tokens.get(value)
    if tokens is not None:
        return tokens
    lowered = value.lower()
    if b"," not in lowered:  # the usual single "keep-alive" / "close"
        tokens = frozenset((lowered.strip(),))
    else:
        tokens = frozenset(token.strip() for token in lowered.split(b","))
    if len(_connection_tokens) < _NAME_CACHE_SIZE and len(value) <= _CACHED_BYTES_MAX:
        _connection_tokens[value] = tokens
    return tokens


# Connection values seen, with their tokens: nearly every peer sends the same few.
_connection_tokens: dict[bytes, frozenset[bytes]] = {}


def scan_headers(
    headers: list[tuple[bytes, bytes]],
) -> tuple[int, bytes | None, bytes | None, bytes | None]:
    """Check names; return (Host count, Content-Length, Transfer-Encoding, Connection)."""
    hosts = 0
    content_length = transfer_encoding = connection = None
    kind_of = _name_kinds.get
    for name, value in headers:
        kind = kind_of(name)
        if kind is None:
            kind = header_kind(name)
        if kind:
            if kind == KIND_HOST:
                hosts += 1
            elif kind == KIND_CONTENT_LENGTH:
                if content_length is not None:
                    raise LocalProtocolError("more than one Content-Length header")
                content_length = value
            elif kind == KIND_TRANSFER_ENCODING:
                # Fields joined as one list (RFC 9110 §5.3), so "chunked" twice, or "gzip"
                # then "chunked", is seen as the coding list it is on the wire.
                transfer_encoding = (
                    value if transfer_encoding is None else transfer_encoding + b"," + value
                )
            else:
                connection = value if connection is None else connection + b"," + value
    return hosts, content_length, transfer_encoding, connection


def head_lines(
    first_line: bytes, headers: list[tuple[bytes, bytes]], extra: list[bytes]
) -> list[bytes]:
    """The lines of a head, with the two empty items that make join() end it with CRLF CRLF.

    The fields are joined by a C-level map rather than a Python loop (0.3 µs less for 8).
    """
    return [first_line, *map(b": ".join, headers), *extra, b"", b""]


def build_head(first_line: bytes, headers: list[tuple[bytes, bytes]], extra: list[bytes]) -> bytes:
    """The serialised head: first line, fields, ``extra`` lines, blank line; checked."""
    lines = head_lines(first_line, headers, extra)
    head = b"\r\n".join(lines)
    check_head(head, len(lines) - 1, headers)
    return head


# "Content-Length: N" lines for the lengths seen, as most answers repeat a few sizes.
_CONTENT_LENGTH_CACHE_SIZE: Final = 4096
_content_length_lines: dict[int, bytes] = {}


def content_length_line(length: int) -> bytes:
    line = _content_length_lines.get(length)
    if line is None:
        line = b"Content-Length: %d" % length
        if len(_content_length_lines) < _CONTENT_LENGTH_CACHE_SIZE:
            _content_length_lines[length] = line
    return line


# Status lines are built once per code: the hot path then costs one dict lookup.
_STATUS_LINES: dict[tuple[int, bytes | None], bytes] = {}
_REASONS: Final = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}
# The usual case, with the standard reason phrase, keyed by the code alone.
_DEFAULT_STATUS_LINES: Final = {
    code: b"HTTP/1.1 %d %s" % (code, phrase) for code, phrase in _REASONS.items()
}


def status_line(status_code: int, reason: bytes | None) -> bytes:
    if reason is None:
        line = _DEFAULT_STATUS_LINES.get(status_code)
        if line is not None:
            return line
    line = _STATUS_LINES.get((status_code, reason))
    if line is not None:
        return line
    if not isinstance(status_code, int) or not 100 <= status_code <= 999:
        raise LocalProtocolError(f"status code {status_code!r} is not a number from 100 to 999")
    phrase = _REASONS.get(status_code, b"") if reason is None else reason
    if not isinstance(phrase, bytes) or _BAD_VALUE_CHAR.search(phrase) is not None:
        raise LocalProtocolError(f"reason phrase {phrase!r} contains control characters")
    line = b"HTTP/1.1 %d %s" % (status_code, phrase)
    if reason is None or len(_STATUS_LINES) < _NAME_CACHE_SIZE:
        _STATUS_LINES[(status_code, reason)] = line
    return line


def chunk(data: bytes) -> bytes:
    """One chunk (RFC 9112 §7.1): hex size, CRLF, data, CRLF. Empty data gives b""."""
    if not data:
        return b""
    return b"".join((b"%x\r\n" % len(data), data, b"\r\n"))


def trailer_block(trailers: list[tuple[bytes, bytes]] | None) -> bytes:
    """The last chunk and the trailer section (RFC 9112 §7.1.2), checked like a head."""
    if not trailers:
        return b"0\r\n\r\n"
    lines = [b"0"]
    for name, value in trailers:
        kind = header_kind(name)
        if kind != KIND_OTHER:
            raise LocalProtocolError(f"header {name!r} is not allowed in trailers")
        check_value(name, value)
        lines.append(name + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"
