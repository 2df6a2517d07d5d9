"""A raw loopback peer for the request-body review: it frames each request as a server
would (Content-Length or chunked), records whether the body arrived complete, and answers
200 to each complete request. Every wait is bounded (a recv times out after ``WAIT``).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

from tests.support.pool_peers import Peer

WAIT = 5.0


@dataclass
class Got:
    """One request as the server saw it: ``complete`` is False when the connection ended
    before the body its framing announced had arrived."""

    line: bytes
    head: bytes
    body: bytes
    complete: bool


class FramingPeer(Peer):
    def __init__(self) -> None:
        self.got: list[Got] = []
        self._finished: list[threading.Event] = []
        self._list_lock = threading.Lock()
        super().__init__(self._serve)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_finished(self, timeout: float = WAIT) -> None:
        """Wait (bounded) until a connection came and every handler has returned."""
        ends = time.monotonic() + timeout
        while not self._finished and time.monotonic() < ends:
            time.sleep(0.01)
        with self._list_lock:
            events = list(self._finished)
        for event in events:
            event.wait(timeout)

    def _serve(self, sock: socket.socket) -> None:
        finished = threading.Event()
        with self._list_lock:
            self._finished.append(finished)
        sock.settimeout(WAIT)
        try:
            self._loop(sock)
        finally:
            finished.set()

    def _record(self, got: Got) -> None:
        with self._list_lock:
            self.got.append(got)

    def _loop(self, sock: socket.socket) -> None:
        buffer = b""

        def more() -> bool:
            nonlocal buffer
            try:
                data = sock.recv(65536)
            except OSError:
                return False
            buffer += data
            return bool(data)

        while True:
            while b"\r\n\r\n" not in buffer:
                if not more():
                    return
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0]
            fields = {}
            for raw in head.split(b"\r\n")[1:]:
                name, _, value = raw.partition(b":")
                fields[name.strip().lower()] = value.strip()
            if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
                body = b""
                while True:
                    while b"\r\n" not in buffer:
                        if not more():
                            self._record(Got(line, head, body, False))
                            return
                    size_line, _, buffer = buffer.partition(b"\r\n")
                    size = int(size_line.split(b";")[0], 16)
                    while len(buffer) < size + 2:
                        if not more():
                            self._record(Got(line, head, body + buffer, False))
                            return
                    if size == 0:
                        buffer = buffer[2:]
                        break
                    body += buffer[:size]
                    buffer = buffer[size + 2 :]
            else:
                length = int(fields.get(b"content-length", b"0"))
                while len(buffer) < length:
                    if not more():
                        self._record(Got(line, head, buffer, False))
                        return
                body, buffer = buffer[:length], buffer[length:]
            self._record(Got(line, head, body, True))
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
