"""Output and exit codes shared by every ``wirekit`` command.

Colours only when stdout is a terminal and NO_COLOR is unset (rich decides); ``--json``
prints one JSON document instead. Network failures map to the documented exit codes below,
the same for every command, with a one-line plain message.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from wirekit.errors import (
    ConnectError,
    HTTPStatusError,
    NameResolutionError,
    TimeoutException,
    TLSError,
    TransportError,
    WirekitError,
)

__all__ = [
    "EXIT_CONNECTION_REFUSED",
    "EXIT_DNS_FAILURE",
    "EXIT_FAILURE",
    "EXIT_HTTP_CLIENT_ERROR",
    "EXIT_HTTP_SERVER_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK_ERROR",
    "EXIT_OK",
    "EXIT_REMOTE_TARGET",
    "EXIT_TIMEOUT",
    "EXIT_TLS_FAILURE",
    "EXIT_USAGE",
    "Output",
    "add_common_options",
    "exit_code_for",
]

#: Success.
EXIT_OK = 0
#: Any failure without a more specific code below (nothing found, bad input...).
EXIT_FAILURE = 1
#: The command line was wrong (argparse's own code).
EXIT_USAGE = 2
#: The server answered with a 4xx status.
#: ``wirekit bench`` refuses a target outside loopback unless --allow-remote.
EXIT_REMOTE_TARGET = 3
EXIT_HTTP_CLIENT_ERROR = 4
#: The server answered with a 5xx status.
EXIT_HTTP_SERVER_ERROR = 5
#: A host name did not resolve (or the DNS server said no).
EXIT_DNS_FAILURE = 6
#: The connection was refused: nothing listens on that port.
EXIT_CONNECTION_REFUSED = 7
#: A time limit ran out (connect, read, DNS server silence...).
EXIT_TIMEOUT = 8
#: The TLS handshake or certificate check failed.
EXIT_TLS_FAILURE = 9
#: Any other network failure (unreachable, reset, protocol error).
EXIT_NETWORK_ERROR = 10
#: Stopped with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
#: The reader of stdout went away (``wirekit get URL | head -1``): 128 + SIGPIPE, as a shell
#: reports a program killed by SIGPIPE, with no traceback.
EXIT_BROKEN_PIPE = 141


def _refused(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "refused" in str(exc).lower()


def exit_code_for(exc: BaseException) -> tuple[int, str]:
    """The exit code and one-line message for an exception a command let through.

    Order matters: a DNS server that times out is a timeout (8), so the check for
    timeouts comes before the one for name resolution.
    """
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, HTTPStatusError):
        status = getattr(exc.response, "status_code", 0)
        code = EXIT_HTTP_SERVER_ERROR if int(status) >= 500 else EXIT_HTTP_CLIENT_ERROR
        return code, message
    if isinstance(exc, TimeoutException):
        return EXIT_TIMEOUT, message
    if isinstance(exc, NameResolutionError):
        return EXIT_DNS_FAILURE, message
    if isinstance(exc, TLSError):
        return EXIT_TLS_FAILURE, message
    if isinstance(exc, ConnectError) and _refused(exc):
        return EXIT_CONNECTION_REFUSED, message
    if isinstance(exc, TransportError):
        return EXIT_NETWORK_ERROR, message
    if isinstance(exc, WirekitError):
        return EXIT_FAILURE, message
    return EXIT_FAILURE, f"{type(exc).__name__}: {message}"


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options every command has (``--json``). Call it in each command's add_parser()."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of text"
    )


def _plain(value: Any) -> Any:
    """Make dataclasses, enums, tuples and sets JSON-friendly."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


class Output:
    """Where a command writes: styled text for people, or JSON with ``--json``."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.json_mode = json_mode
        self._stdout = stdout or sys.stdout
        # highlight=False: rich would otherwise colour every number and address it spots.
        self.console = Console(file=self._stdout, highlight=False, soft_wrap=True)
        self.errors = Console(file=stderr or sys.stderr, highlight=False, soft_wrap=True)

    def json(self, document: Any) -> None:
        """Print ``document`` as JSON (dataclasses and enums converted)."""
        self._stdout.write(json.dumps(_plain(document), indent=2, sort_keys=False) + "\n")
        self._stdout.flush()

    def line(self, *parts: str | tuple[str, str]) -> None:
        """Print one line; each part is plain text or (text, rich style)."""
        text = Text()
        for part in parts:
            if isinstance(part, tuple):
                text.append(part[0], style=part[1])
            else:
                text.append(part)
        self.console.print(text)

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, style: str = ""
    ) -> None:
        """Print aligned columns with a bold header row (plain text when not a terminal)."""
        widths = [len(h) for h in headers]
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        header = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
        self.line((header, "bold"))
        for row in rows:
            cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            self.line((cells, style) if style else cells)

    def error(self, message: str, *, code: int = EXIT_FAILURE) -> int:
        """Report a failure (JSON on stdout with ``--json``, else red text on stderr)."""
        if self.json_mode:
            self.json({"ok": False, "error": message, "exit_code": code})
        else:
            self.errors.print(Text("error: ", style="bold red") + Text(message))
        return code
