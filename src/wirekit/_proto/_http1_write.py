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
    "KIND_CONNECTION",
    "KIND_CONTENT_LENGTH",
    "KIND_HOST",
    "KIND_OTHER",
    "KIND_TRANSFER_ENCODING",
    "check_head",
    "check_target",
    "check_value",
    "chunk",
    "connection_tokens",
    "header_kind",
    "method_is_valid",
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
_CONTROLS: Final = bytes(range(0x00, 0x09)) + bytes(range(0x0A, 0x20)) + b"\x7f"
# RFC 9112 §3.2: request-target is visible ASCII; a space would end it early.
_TARGET: Final = re.compile(rb"[\x21-\x7e]+")

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
# regex match and a lower() call on the hot path. Bounded so a peer that makes us echo
# random names cannot grow it without end.
_NAME_CACHE_SIZE: Final = 2048
_name_kinds: dict[bytes, int] = {}
_valid_methods: set[bytes] = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH",
                              b"OPTIONS", b"CONNECT", b"TRACE"}  # fmt: skip


def header_kind(name: bytes) -> int:
    """The framing role of a header name; raises LocalProtocolError if it is not a token."""
    kind = _name_kinds.get(name)
    if kind is not None:
        return kind
    if not isinstance(name, bytes) or _TOKEN.fullmatch(name) is None:
        raise LocalProtocolError(f"header name {name!r} is not a valid token (RFC 9110 §5.1)")
    kind = _SPECIAL_KINDS.get(name.lower(), KIND_OTHER)
    if len(_name_kinds) < _NAME_CACHE_SIZE:
        _name_kinds[name] = kind
    return kind


def method_is_valid(method: bytes) -> bool:
    if method in _valid_methods:
        return True
    if isinstance(method, bytes) and _TOKEN.fullmatch(method) is not None:
        if len(_valid_methods) < _NAME_CACHE_SIZE:
            _valid_methods.add(method)
        return True
    return False


def check_target(target: bytes) -> None:
    if not isinstance(target, bytes) or _TARGET.fullmatch(target) is None:
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
    if len(head.translate(None, _CONTROLS)) == len(head) - 2 * line_count:
        return
    for name, value in headers:
        check_value(name, value)
    raise LocalProtocolError("message head contains CR, LF or control characters")


def check_value(name: bytes, value: bytes) -> None:
    if not isinstance(value, bytes) or _BAD_VALUE_CHAR.search(value) is not None:
        raise LocalProtocolError(
            f"value of header {name!r} contains CR, LF, NUL or another control character"
        )


def connection_tokens(value: bytes) -> set[bytes]:
    """The lower-cased tokens of a Connection header (RFC 9110 §7.6.1: a comma list)."""
    value = value.lower()
    if b"," not in value:  # the usual single "keep-alive" / "close"
        return {value.strip()}
    return {token.strip() for token in value.split(b",")}


# Status lines are built once per code: the hot path then costs one dict lookup.
_STATUS_LINES: dict[tuple[int, bytes | None], bytes] = {}
_REASONS: Final = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}


def status_line(status_code: int, reason: bytes | None) -> bytes:
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
