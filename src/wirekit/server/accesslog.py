"""The server's access log: one line per request in Apache common/combined form or as JSON.

Lines go through :mod:`logging` (logger ``wirekit.access``) so applications can route them;
:class:`AccessLogger` can also attach a stream or file handler itself. Request fields come
from the client, so control characters are escaped: a crafted request cannot forge lines.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Final, Literal

__all__ = [
    "ACCESS_LOGGER_NAME",
    "FORMATTERS",
    "MAX_LOGGED_FIELD_CHARS",
    "AccessLogRecord",
    "AccessLogger",
    "escape_field",
    "format_combined",
    "format_common",
    "format_json",
]

ACCESS_LOGGER_NAME: Final = "wirekit.access"
#: Longest request field (target, referer, user agent...) written as is; longer ones are cut
#: and marked, so one request with a 64 KiB URL does not write a 64 KiB log line.
MAX_LOGGED_FIELD_CHARS: Final = 4096
_CUT_MARKER = "...[cut]"


def _now() -> datetime:
    return datetime.now().astimezone()


@dataclass(slots=True)
class AccessLogRecord:
    """What the access log knows about one finished request.

    ``peer`` is ``(host, port)``, a Unix socket path, or ``None``; ``duration`` is seconds
    from the first request byte to the last response byte; ``time`` is when it started.
    """

    peer: tuple[str, int] | str | None
    method: str
    target: str
    version: str
    status: int
    bytes_sent: int
    duration: float
    referer: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    user: str | None = None
    time: datetime = field(default_factory=_now)


def escape_field(text: str, *, max_chars: int = MAX_LOGGED_FIELD_CHARS) -> str:
    """``text`` made safe for one log line: ``"`` and ``\\`` backslash-escaped, control and
    non-ASCII characters as ``\\xHH``/``\\uHHHH`` (as Apache does since 2.0.46, CVE-2003-0020),
    and cut to ``max_chars``."""
    cut = len(text) > max_chars
    if cut:
        text = text[:max_chars]
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text + _CUT_MARKER if cut else text
    pieces: list[str] = []
    for character in text:
        code = ord(character)
        if character in '"\\':
            pieces.append("\\" + character)
        elif 0x20 <= code < 0x7F:
            pieces.append(character)
        elif code < 0x100:
            pieces.append(f"\\x{code:02x}")
        elif code < 0x10000:
            pieces.append(f"\\u{code:04x}")
        else:
            pieces.append(f"\\U{code:08x}")
    escaped = "".join(pieces)
    return escaped + _CUT_MARKER if cut else escaped


def _host(peer: tuple[str, int] | str | None) -> str:
    if peer is None:
        return "-"
    if isinstance(peer, str):
        return escape_field(peer) or "-"
    return escape_field(peer[0])


def _optional(value: str | None) -> str:
    return "-" if value is None or value == "" else escape_field(value)


def format_common(record: AccessLogRecord) -> str:
    """Apache Common Log Format: ``host - user [time] "request" status bytes``."""
    request_line = f"{record.method} {record.target} HTTP/{record.version}"
    size = str(record.bytes_sent) if record.bytes_sent else "-"
    stamp = record.time.strftime("%d/%b/%Y:%H:%M:%S %z")
    return (
        f"{_host(record.peer)} - {_optional(record.user)} [{stamp}] "
        f'"{escape_field(request_line)}" {record.status} {size}'
    )


def format_combined(record: AccessLogRecord) -> str:
    """Apache Combined Log Format: common plus ``"referer" "user agent"``."""
    return f'{format_common(record)} "{_optional(record.referer)}" "{_optional(record.user_agent)}"'


def format_json(record: AccessLogRecord) -> str:
    """One JSON object per line; ``json`` escapes control characters and non-ASCII."""
    peer = record.peer
    document = {
        "time": record.time.isoformat(timespec="milliseconds"),
        "peer": peer[0] if isinstance(peer, tuple) else peer,
        "peer_port": peer[1] if isinstance(peer, tuple) else None,
        "method": _cut(record.method),
        "target": _cut(record.target),
        "version": record.version,
        "status": record.status,
        "bytes_sent": record.bytes_sent,
        "duration_ms": round(record.duration * 1000.0, 3),
        "referer": None if record.referer is None else _cut(record.referer),
        "user_agent": None if record.user_agent is None else _cut(record.user_agent),
        "request_id": record.request_id,
        "user": record.user,
    }
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))


def _cut(text: str) -> str:
    if len(text) > MAX_LOGGED_FIELD_CHARS:
        return text[:MAX_LOGGED_FIELD_CHARS] + _CUT_MARKER
    return text


FormatName = Literal["common", "combined", "json"]
FORMATTERS: Final[dict[str, Callable[[AccessLogRecord], str]]] = {
    "common": format_common,
    "combined": format_combined,
    "json": format_json,
}


class AccessLogger:
    """Formats :class:`AccessLogRecord` objects and emits them on ``wirekit.access``.

    Without ``stream`` or ``path`` lines go to the logger only (configure ``logging`` to see
    them; they are INFO). With one of them, a handler writing bare lines is attached, the
    logger is set to INFO and stops propagating (so lines are not printed twice).
    ``path`` uses a :class:`~logging.handlers.WatchedFileHandler`: logrotate can move the
    file and the next line reopens it.
    """

    def __init__(
        self,
        format: FormatName | Callable[[AccessLogRecord], str] = "combined",
        *,
        stream: IO[str] | None = None,
        path: str | os.PathLike[str] | None = None,
        logger_name: str = ACCESS_LOGGER_NAME,
    ) -> None:
        if callable(format):
            self._format = format
        else:
            try:
                self._format = FORMATTERS[format]
            except KeyError:
                raise ValueError(
                    f"unknown access log format {format!r}; use one of {sorted(FORMATTERS)}"
                ) from None
        if stream is not None and path is not None:
            raise ValueError("give the access log a stream or a path, not both")
        self.logger = logging.getLogger(logger_name)
        self._handler: logging.Handler | None = None
        if stream is not None or path is not None:
            handler: logging.Handler = (
                logging.StreamHandler(stream)
                if stream is not None
                else logging.handlers.WatchedFileHandler(os.fspath(path), encoding="utf-8")  # type: ignore[arg-type]
            )
            handler.setFormatter(logging.Formatter("%(message)s"))
            self.logger.addHandler(handler)
            self.logger.setLevel(logging.INFO)
            self.logger.propagate = False
            self._handler = handler

    def log(self, record: AccessLogRecord) -> None:
        """Write one line for ``record`` (formatting is skipped if INFO is disabled)."""
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info(self._format(record), extra={"access": record})

    def close(self) -> None:
        """Detach and close the handler this object attached, if any."""
        if self._handler is not None:
            self.logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None
            self.logger.propagate = True
