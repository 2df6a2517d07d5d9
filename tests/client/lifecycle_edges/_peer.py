"""A loopback HTTP/1.1 keep-alive peer that answers each request with "<connection id>:<path>".

A path starting with /slow waits 0.5 s before answering. Bounded in time: every socket has a
timeout, and leaving the ``with`` block stops the listener and every connection
(tests/support/listener.py).
"""

from __future__ import annotations

import socket
import time
from typing import Any

from tests.support.listener import ThreadedListener

HANDLER_TIMEOUT = 10.0


class IdPeer(ThreadedListener):
    def __init__(self) -> None:
        super().__init__()
        self._next_id = 0
        #: Ids of the connections the client closed (EOF seen), in the order seen.
        self.closed_by_client: list[int] = []

    def accepted(self, sock: socket.socket) -> tuple[int]:
        self._next_id += 1  # under the listener's lock
        return (self._next_id,)

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        conn_id: int = extra[0]
        sock.settimeout(HANDLER_TIMEOUT)
        buffer = b""
        try:
            for _ in range(100_000):
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        with self._lock:
                            self.closed_by_client.append(conn_id)
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                path = head.split(b"\r\n", 1)[0].split(b" ")[1]
                if path.startswith(b"/slow"):
                    time.sleep(0.5)
                body = b"%d:%s" % (conn_id, path)
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        except OSError:
            pass
        finally:
            sock.close()  # at once, as a server would (stop() closes the rest)
