"""A raw TCP peer that follows a script per connection, to play misbehaving HTTP servers.

``ScriptedServer([expect(), send(b"HTTP/1.1 200 OK\\r\\n..."), reset()])`` accepts on
127.0.0.1 port 0; connection *n* runs ``scripts[min(n, len(scripts) - 1)]`` and records
what it received. Every wait is bounded; leaving the ``with`` block ends all connections.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.listener import ThreadedListener

__all__ = [
    "ScriptedServer",
    "close",
    "expect",
    "hold",
    "reset",
    "send",
    "shutdown_write",
    "sleep",
    "trickle",
]

#: An ``expect`` step gives up (and records a failure) after this many seconds.
EXPECT_TIMEOUT = 30.0
#: An ``expect`` step stops reading after this many bytes (a runaway client).
EXPECT_MAX_BYTES = 16 * 1024 * 1024
#: ``hold()`` lasts at most this long even if the test forgets to end the server.
HOLD_LIMIT = 120.0


@dataclass
class ScriptedConnection:
    """What one accepted connection received, and how its script ended."""

    number: int
    received: bytearray = field(default_factory=bytearray)
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)


class _Context:
    def __init__(self, sock: socket.socket, record: ScriptedConnection, stop: threading.Event):
        self.sock = sock
        self.record = record
        self.stop = stop
        self.closed = False
        self.pending = bytearray()  # received but not yet matched by an expect step


Step = Callable[[_Context], None]


def expect(request_bytes_until: bytes = b"\r\n\r\n", *, extra_bytes: int = 0) -> Step:
    """Read until ``request_bytes_until`` was received (then ``extra_bytes`` more), or EOF."""

    def step(ctx: _Context) -> None:
        deadline = time.monotonic() + EXPECT_TIMEOUT
        needed: int | None = None
        while True:
            if needed is None:
                index = ctx.pending.find(request_bytes_until)
                if index >= 0:
                    needed = index + len(request_bytes_until) + extra_bytes
            if needed is not None and len(ctx.pending) >= needed:
                del ctx.pending[:needed]
                return
            left = deadline - time.monotonic()
            if left <= 0 or ctx.stop.is_set() or len(ctx.record.received) > EXPECT_MAX_BYTES:
                raise TimeoutError(f"expect({request_bytes_until!r}) not satisfied")
            ctx.sock.settimeout(min(left, 0.2))
            try:
                data = ctx.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            ctx.record.received += data
            ctx.pending += data

    return step


def send(data: bytes) -> Step:
    def step(ctx: _Context) -> None:
        ctx.sock.settimeout(EXPECT_TIMEOUT)
        ctx.sock.sendall(data)

    return step


def sleep(seconds: float) -> Step:
    """Pause (ends early when the server stops)."""

    def step(ctx: _Context) -> None:
        ctx.stop.wait(seconds)

    return step


def trickle(data: bytes, interval: float, *, chunk: int = 1) -> Step:
    """Send ``data`` ``chunk`` bytes at a time, ``interval`` seconds apart."""

    def step(ctx: _Context) -> None:
        ctx.sock.settimeout(EXPECT_TIMEOUT)
        for start in range(0, len(data), chunk):
            if ctx.stop.is_set():
                return
            ctx.sock.sendall(data[start : start + chunk])
            ctx.stop.wait(interval)

    return step


def reset() -> Step:
    """Abort with a TCP RST (SO_LINGER 0), as a crashed server would."""

    def step(ctx: _Context) -> None:
        ctx.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ctx.sock.close()
        ctx.closed = True

    return step


def close() -> Step:
    def step(ctx: _Context) -> None:
        ctx.sock.close()
        ctx.closed = True

    return step


def shutdown_write() -> Step:
    """Half-close: send FIN, keep reading."""

    def step(ctx: _Context) -> None:
        ctx.sock.shutdown(socket.SHUT_WR)

    return step


def hold() -> Step:
    """Never answer, until the server stops (the test ends)."""

    def step(ctx: _Context) -> None:
        ctx.stop.wait(HOLD_LIMIT)

    return step


class ScriptedServer(ThreadedListener):
    """Scripted raw TCP server thread on 127.0.0.1 (or ``::1``) port 0."""

    def __init__(self, *scripts: Sequence[Step], host: str = "127.0.0.1") -> None:
        if not scripts:
            raise ValueError("ScriptedServer needs at least one script")
        self.scripts = scripts
        super().__init__(host=host, backlog=64)
        self.connections: list[ScriptedConnection] = []

    @property
    def received(self) -> list[bytes]:
        """Bytes received on each connection so far, in accept order."""
        return [bytes(c.received) for c in self.connections]

    def accepted(self, sock: socket.socket) -> tuple[ScriptedConnection, Sequence[Step]]:
        record = ScriptedConnection(len(self.connections))
        self.connections.append(record)
        return record, self.scripts[min(record.number, len(self.scripts) - 1)]

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        record: ScriptedConnection = extra[0]
        script: Sequence[Step] = extra[1]
        ctx = _Context(sock, record, self._stop)
        try:
            for step in script:
                if ctx.closed:
                    break
                step(ctx)
        except Exception as exc:  # recorded for the test to inspect; the peer just goes away
            record.error = f"{type(exc).__name__}: {exc}"
        finally:
            if not ctx.closed:
                with contextlib.suppress(OSError):
                    sock.close()
            record.finished.set()
