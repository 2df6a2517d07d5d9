"""Worker targets for the supervisor tests: a tiny raw-socket HTTP responder and friends.

They live in an importable module because workers are spawned interpreters that import
their target by name.
"""

from __future__ import annotations

import os
import select
import socket
import time

from wirekit.server.workers import worker_stop_event

MAX_REQUEST_BYTES = 65536


def http_responder(sock: socket.socket) -> None:
    """Answer every request with 200 and this worker's PID; stop when asked, finishing the
    connection in hand (so a graceful stop drops nothing)."""
    stop = worker_stop_event()
    # The listening socket is shared by all workers: poll, then accept without blocking, and
    # let whichever worker wins the race take the connection.
    sock.setblocking(False)
    while not stop.is_set():
        readable, _, _ = select.select([sock], [], [], 0.05)
        if not readable:
            continue
        try:
            connection, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            continue
        with connection:
            connection.setblocking(True)
            connection.settimeout(10)
            received = b""
            while b"\r\n\r\n" not in received and len(received) < MAX_REQUEST_BYTES:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                received += chunk
            body = str(os.getpid()).encode()
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (len(body), body)
            )


def stubborn(sock: socket.socket) -> None:
    """Ignores the stop request entirely: the supervisor must kill it after the timeout."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.1)


def crash_on_start(sock: socket.socket) -> None:
    """Dies at once, as a worker with a broken import would; notes its PID first."""
    with open(os.environ["WIREKIT_TEST_CRASH_LOG"], "a") as log:
        log.write(f"{os.getpid()}\n")
    os._exit(3)
