"""A loopback keep-alive responder that can close after answering, and counts the
connections still open on its side (what a leak leaves behind)."""

from __future__ import annotations

import socket
import time

from tests.support.listener import ThreadedListener

_BODY = b"x" * 100
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(_BODY) + _BODY


class ChaosServer(ThreadedListener):
    """Answers every request with 200; a path starting ``/thenclose`` closes after it."""

    def __init__(self) -> None:
        super().__init__(backlog=512)
        self.active = 0  # connections open on the server's side
        self.__enter__()  # serving at once: the tests close it in their ``finally``

    def handle(self, sock: socket.socket, *extra: object) -> None:
        sock.settimeout(10)
        buffer = b""
        with self._lock:
            self.active += 1
        try:
            while not self.stopping:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                sock.sendall(_OK)
                if head.split(b" ", 2)[1].startswith(b"/thenclose"):
                    return
        except OSError:
            return
        finally:
            sock.close()
            with self._lock:
                self.active -= 1

    def wait_all_closed(self, timeout: float = 1.0) -> int:
        """Connections still open on the server's side after up to ``timeout`` s."""
        end = time.monotonic() + timeout
        while self.active and time.monotonic() < end:
            time.sleep(0.01)
        return self.active

    def close(self) -> None:
        self.stop()
