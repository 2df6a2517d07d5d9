"""Events, limits and errors of the sans-IO HTTP/1.1 core (see ``http1`` for the machine).

Kept apart so the parsing and the serialising halves can share them without importing
each other; ``wirekit._proto.http1`` re-exports every public name here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, TypeAlias

from wirekit.errors import RemoteLimitExceeded, RemoteProtocolError

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
    "InformationalResponse",
    "ProtocolLimitExceeded",
    "ProtocolViolation",
    "Request",
    "Response",
    "Signal",
    "State",
    "Upgrade",
]

# -- limits ------------------------------------------------------------------------------
#: Whole message head (request/status line, headers, final CRLF), and separately the trailer
#: section. Precedents: h11 16 KiB, Node.js 16 KiB, nginx 4 x 8 KiB buffers, Apache 100 x
#: 8 KiB. 64 KiB leaves room for large cookies and tokens while bounding memory per peer.
DEFAULT_MAX_HEADER_BYTES: Final = 64 * 1024
#: Header fields per head (and per trailer section). Apache LimitRequestFields is 100.
DEFAULT_MAX_HEADER_COUNT: Final = 100
#: Request or status line. Apache LimitRequestLine is 8190, nginx's default buffer 8 KiB;
#: RFC 9112 §3 recommends supporting at least 8000 octets of request line.
DEFAULT_MAX_LINE_BYTES: Final = 8 * 1024
#: One chunk-size line with its extensions. Node.js capped extensions at 16 KiB after
#: CVE-2024-22019 (a peer streaming an endless extension pinned the CPU).
DEFAULT_MAX_CHUNK_EXTENSION_BYTES: Final = 16 * 1024


# -- errors ------------------------------------------------------------------------------
class ProtocolViolation(RemoteProtocolError):
    """The peer sent bytes HTTP/1.1 forbids. ``status_code`` is the answer a server gives."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class ProtocolLimitExceeded(ProtocolViolation, RemoteLimitExceeded):
    """The peer went over a limit; ``limit`` names the knob, ``value`` its setting."""

    def __init__(self, message: str, *, limit: str, value: int, status_code: int) -> None:
        RemoteLimitExceeded.__init__(self, message, limit=limit, value=value)
        self.status_code = status_code


# -- events ------------------------------------------------------------------------------
class Signal(enum.Enum):
    NEED_DATA = "NEED_DATA"
    PAUSED = "PAUSED"


#: next_event(): more bytes are needed before the next event.
NEED_DATA: Final = Signal.NEED_DATA
#: next_event(): a complete message was read; call start_next_cycle() to read the next one.
PAUSED: Final = Signal.PAUSED


class State(enum.Enum):
    IDLE = "IDLE"
    SEND_BODY = "SEND_BODY"
    DONE = "DONE"
    MUST_CLOSE = "MUST_CLOSE"
    CLOSED = "CLOSED"
    SWITCHED_PROTOCOL = "SWITCHED_PROTOCOL"
    ERROR = "ERROR"


# The events are dataclasses for their repr and ==, with __init__ written out: the one
# dataclasses generates is interpreted Python even in the compiled build, and three events
# are made per request (callgrind, compiled client: about 600 instructions each).


@dataclass(slots=True, init=False)
class Request:
    """A request head (server role). Header names keep their case and order."""

    method: bytes
    target: bytes
    http_version: bytes
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    expect_continue: bool
    upgrade: bytes | None

    def __init__(
        self,
        method: bytes,
        target: bytes,
        http_version: bytes,
        headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        expect_continue: bool,
        upgrade: bytes | None,
    ) -> None:
        self.method = method
        self.target = target
        self.http_version = http_version
        self.headers = headers
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.upgrade = upgrade


@dataclass(slots=True, init=False)
class Response:
    """A final response head (client role); 101 and 2xx to CONNECT are followed by Upgrade."""

    status_code: int
    reason: bytes
    http_version: bytes
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool

    def __init__(
        self,
        status_code: int,
        reason: bytes,
        http_version: bytes,
        headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.http_version = http_version
        self.headers = headers
        self.keep_alive = keep_alive


@dataclass(slots=True)
class InformationalResponse:
    """A 1xx response other than 101 (client role); the final response follows."""

    status_code: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]


@dataclass(slots=True, init=False)
class Data:
    """A piece of body, already de-chunked."""

    data: bytes

    def __init__(self, data: bytes) -> None:
        self.data = data


@dataclass(slots=True, init=False)
class EndOfMessage:
    trailers: list[tuple[bytes, bytes]]

    def __init__(self, trailers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.trailers = [] if trailers is None else trailers


@dataclass(slots=True)
class ConnectionClosed:
    """The peer closed the connection cleanly, between messages."""


@dataclass(slots=True)
class Upgrade:
    """The protocol switches after the head just reported; ``data`` are the bytes that
    followed it (they belong to the new protocol)."""

    data: bytes


Event: TypeAlias = (
    Request | Response | InformationalResponse | Data | EndOfMessage | ConnectionClosed | Upgrade
)
