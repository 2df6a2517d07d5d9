"""What llhttp (through httptools) tells the HTTP/1.1 core, in the core's words.

Its error reasons become ProtocolViolations with plain messages and the status to answer;
the header names the core looks at are classified here, with a bounded cache.
"""

from __future__ import annotations

import re
from typing import Final

import httptools

from wirekit._proto._http1_events import ProtocolViolation

__all__ = [
    "CHUNK_SIZE",
    "HEX_DIGITS_AND_CRLF",
    "NOTED_CONNECTION",
    "NOTED_CONTENT_LENGTH",
    "NOTED_EXPECT",
    "NOTED_HOST",
    "NOTED_TRANSFER_ENCODING",
    "OWS_ENDINGS",
    "REQUEST_LINE_VERSIONS",
    "STATUS_LINE_VERSIONS",
    "VERSIONS",
    "noted_kind",
    "noted_kinds",
    "parser_error",
    "strip_values",
]

CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]+")
HEX_DIGITS_AND_CRLF: Final = b"0123456789abcdefABCDEF\r\n"
VERSIONS: Final = {"1.1": b"1.1", "1.0": b"1.0"}
# The version as it ends a request line / starts a status line, for the fast path; any
# other spelling goes through llhttp's own reading (and is refused there or below).
REQUEST_LINE_VERSIONS: Final = {b"HTTP/1.1": b"1.1", b"HTTP/1.0": b"1.0"}
STATUS_LINE_VERSIONS: Final = {b"HTTP/1.1 ": b"1.1", b"HTTP/1.0 ": b"1.0"}
# Header names we look at while parsing. Names as received (any case) are cached with their
# kind, so most headers cost one dict lookup instead of a lower() and compares; the cache
# is bounded in entries and name length so a peer sending random names cannot grow it.
NOTED_OTHER: Final = 0
NOTED_HOST: Final = 1
NOTED_CONNECTION: Final = 2
NOTED_CONTENT_LENGTH: Final = 3
NOTED_TRANSFER_ENCODING: Final = 4
NOTED_EXPECT: Final = 5
NOTED_UPGRADE: Final = 6
_NOTED_NAMES: Final = {
    b"host": NOTED_HOST,
    b"connection": NOTED_CONNECTION,
    b"content-length": NOTED_CONTENT_LENGTH,
    b"transfer-encoding": NOTED_TRANSFER_ENCODING,
    b"expect": NOTED_EXPECT,
    b"upgrade": NOTED_UPGRADE,
}
_NOTED_CACHE_SIZE: Final = 1024
_NOTED_NAME_MAX: Final = 64
noted_kinds: dict[bytes, int] = {}


def noted_kind(name: bytes) -> int:
    kind = _NOTED_NAMES.get(name.lower(), NOTED_OTHER)
    if len(noted_kinds) < _NOTED_CACHE_SIZE and len(name) <= _NOTED_NAME_MAX:
        noted_kinds[name] = kind
    return kind


OWS_ENDINGS: Final = frozenset((b" ", b"\t"))


def strip_values(fields: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    # llhttp strips leading whitespace but keeps trailing OWS (RFC 9112 §5.1 says both go).
    return [(name, value.rstrip(b" \t")) for name, value in fields]


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
    "Missing expected CR after response line": (
        400,
        "{0} ends a line with a bare LF (RFC 9112 §2.2: lines end with CRLF)",
    ),
    "Missing expected CR after header value": (
        400,
        "{0} ends a line with a bare LF (RFC 9112 §2.2: lines end with CRLF)",
    ),
    "Expected CRLF after version": (
        400,
        "{0} ends a line with a bare LF (RFC 9112 §2.2: lines end with CRLF)",
    ),
    "Empty Transfer-Encoding": (400, "{0} has an empty Transfer-Encoding"),
    "Expected dot": (505, "{0} has an unsupported HTTP version (not HTTP/1.0 or HTTP/1.1)"),
    "Data after `Connection: close`": (
        400,
        "{0} bytes came after a message that said Connection: close",
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


def parser_error(exc: httptools.HttpParserError, noun: str) -> ProtocolViolation:
    """The ProtocolViolation for llhttp's complaint; ``noun`` is "request" or "response".

    A violation raised by one of our callbacks comes back as it was.
    """
    if isinstance(exc, httptools.HttpParserCallbackError):
        if isinstance(exc.__context__, ProtocolViolation):
            return exc.__context__
        return _violation(f"malformed {{0}}: {exc}", noun)
    if isinstance(exc, httptools.HttpParserInvalidMethodError):
        return _violation("{0} has an unknown method", noun, 501)
    if isinstance(exc, httptools.HttpParserInvalidURLError):
        return _violation("{0} has an invalid target", noun)
    if isinstance(exc, httptools.HttpParserInvalidStatusError):
        return _violation("{0} has an invalid status code", noun)
    reason = str(exc)
    status, message = _LLHTTP_REASONS.get(reason, (400, f"malformed {{0}}: {reason}"))
    return _violation(message, noun, status)


def _violation(message: str, noun: str, status_code: int = 400) -> ProtocolViolation:
    # replace(), never format(): the message may quote peer bytes holding "{1}".
    return ProtocolViolation(message.replace("{0}", noun), status_code=status_code)
