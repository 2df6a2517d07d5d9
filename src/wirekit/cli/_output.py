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
import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from wirekit.errors import (
    ConnectError,
    HTTPStatusError,
    NameResolutionError,
    ProxyError,
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
    "MAX_SECONDS",
    "Output",
    "OutputError",
    "add_common_options",
    "exit_code_for",
    "non_negative_seconds",
    "port_number",
    "positive_seconds",
    "write_stdout_bytes",
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

#: Most seconds a time option accepts (a week): far beyond it the OS timers overflow
#: (``socket.settimeout(1e10)`` raises OverflowError).
MAX_SECONDS = 604_800.0


class OutputError(Exception):
    """Writing the output failed (disk full, no such directory...): exit 1, one line.

    ``stdout`` is True when stdout itself failed: the message then goes to stderr, even
    with ``--json``.
    """

    def __init__(self, target: str, error: OSError, *, stdout: bool = False) -> None:
        super().__init__(f"cannot write {target}: {error.strerror or error}")
        self.stdout = stdout


def _refused(exc: BaseException, *, by_message: bool = True) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return by_message and "refused" in str(exc).lower()


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
    # A proxy that refuses the connection (SOCKS or HTTP alike) is a refused connection; a
    # proxy that "refused to forward" (407) says so in words and is not.
    if isinstance(exc, ProxyError) and _refused(exc, by_message=False):
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


def _seconds(text: str, *, zero: bool) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}")
    if value < 0 or (value == 0 and not zero):
        raise argparse.ArgumentTypeError(
            "must not be negative" if zero else "must be more than 0 seconds"
        )
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SECONDS:g} seconds (a week)")
    return value


def non_negative_seconds(text: str) -> float:
    """argparse type: seconds from 0 to :data:`MAX_SECONDS` (no nan, no inf)."""
    return _seconds(text, zero=True)


def positive_seconds(text: str) -> float:
    """argparse type: seconds above 0, at most :data:`MAX_SECONDS` (no nan, no inf)."""
    return _seconds(text, zero=False)


def port_number(text: str) -> int:
    """argparse type: a TCP or UDP port, 1 to 65535."""
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 1 to 65535, not {value}")
    return value


def write_stdout_bytes(data: bytes) -> None:
    """Write ``data`` to stdout exactly, after any text already printed.

    Loops until all is written: with ``PYTHONUNBUFFERED=1`` ``sys.stdout.buffer`` is a raw
    FileIO, whose write() may take only part. A closed pipe raises BrokenPipeError (the
    caller's exit 141); any other failure (a full disk) raises :class:`OutputError`.
    """
    try:
        sys.stdout.flush()
        stream = sys.stdout.buffer
        view = memoryview(data)
        while view:
            written = stream.write(view)
            if written is None:  # a non-blocking stdout that is full
                raise BlockingIOError(11, "stdout is non-blocking and full")
            view = view[written:]
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError("stdout", exc, stdout=True) from None


class _Console(Console):
    """A rich Console whose closed pipe ends like any other (exit 141, app.run decides).

    rich's own on_broken_pipe raises SystemExit(1), which hides the documented code.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True  # as rich does: print nothing more through this console
        raise BrokenPipeError(32, "the reader of the output went away")


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
        self.console = _Console(file=self._stdout, highlight=False, soft_wrap=True)
        self.errors = Console(file=stderr or sys.stderr, highlight=False, soft_wrap=True)

    def _failed(self, exc: OSError) -> OutputError:
        stdout = self._stdout is sys.stdout
        return OutputError("stdout" if stdout else "the output", exc, stdout=stdout)

    def json(self, document: Any) -> None:
        """Print ``document`` as JSON (dataclasses and enums converted)."""
        text = json.dumps(_plain(document), indent=2, sort_keys=False) + "\n"
        try:
            self._stdout.write(text)
            self._stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._failed(exc) from None

    def print(self, *objects: Any, **options: Any) -> None:
        """``console.print`` (text or any rich renderable) on stdout.

        Raises BrokenPipeError when the reader went away and :class:`OutputError` when
        stdout cannot be written (a full disk)."""
        try:
            self.console.print(*objects, **options)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._failed(exc) from None

    def line(self, *parts: str | tuple[str, str]) -> None:
        """Print one line; each part is plain text or (text, rich style)."""
        text = Text()
        for part in parts:
            if isinstance(part, tuple):
                text.append(part[0], style=part[1])
            else:
                text.append(part)
        self.print(text)

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
