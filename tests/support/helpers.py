"""Small helpers every test suite uses: free ports, open file descriptor counts, waiting.

Everything here is bounded in time: waiting loops take a deadline and fail loudly.
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import subprocess
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "cyclic_garbage",
    "free_port",
    "log_tail",
    "open_fds",
    "stop_process",
    "wait_for_port",
]

#: How long an external program (nginx, squid, microsocks) may take to start listening.
STARTUP_TIMEOUT = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for programs that cannot bind port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def cyclic_garbage(*kinds: type) -> Iterator[list[str]]:
    """The type names of the objects of ``kinds`` made in the block that only the cycle
    collector would free (filled in when the block ends; the collector is off inside)."""
    found: list[str] = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(type(o).__name__ for o in gc.garbage if isinstance(o, kinds))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def open_fds() -> int:
    """How many file descriptors this process has open (Linux /proc/self/fd)."""
    return len(os.listdir("/proc/self/fd"))


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for_port(
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = STARTUP_TIMEOUT,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    what: str = "server",
) -> None:
    """Return once ``host:port`` accepts a connection; fail with the log if it never does."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with status {process.returncode} before listening on "
                f"{host}:{port}\n{log_tail(log) if log else ''}"
            )
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} did not listen on {host}:{port} within {timeout} s\n"
                f"{log_tail(log) if log else ''}"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def stop_process(
    process: subprocess.Popen[bytes], *, timeout: float = 10.0, graceful: bool = True
) -> None:
    """Terminate (or kill at once if not ``graceful``), kill after ``timeout``; always reaps."""
    if process.poll() is None:
        if graceful:
            process.terminate()
        else:
            process.kill()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


#: A fixed "now" (2023-11-14T22:13:20Z) for code that takes a clock (the cookie jar).
FIXED_NOW = 1_700_000_000.0


class Clock:
    """A clock to pass as ``clock=``: it says ``now`` until a test moves it on."""

    def __init__(self, now: float = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def secrets_in_frame_locals(error: BaseException, *secrets: str) -> list[str]:
    """Locals of wirekit's own frames in ``error``'s traceback (and its cause's and
    context's), as repr() shows them (what Sentry, rich and pytest --showlocals record),
    that contain any of ``secrets``."""
    import wirekit

    package = str(Path(wirekit.__file__).parent)
    found = []
    for cause in (error, error.__cause__, error.__context__):
        if cause is None:
            continue
        summary = traceback.TracebackException.from_exception(cause, capture_locals=True)
        for frame in summary.stack:
            if frame.filename.startswith(package):
                found += [
                    f"{frame.name}: {name} = {value}"
                    for name, value in (frame.locals or {}).items()
                    if any(secret in value for secret in secrets)
                ]
    return found
