"""A loopback HTTP/1.1 keep-alive peer that answers each request with "<connection id>:<path>".

A path starting with /slow waits 0.5 s before answering. Bounded in time: every socket has a
timeout, and close() stops the listener and every connection.
"""

from __future__ import annotations

import socket
import threading
import time

HANDLER_TIMEOUT = 10.0


class IdPeer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._next_id = 0
        self._socks: list[socket.socket] = []
        self.closed_by_client: list[int] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._next_id += 1
                conn_id = self._next_id
                self._socks.append(sock)
            thread = threading.Thread(target=self._handle, args=(sock, conn_id), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, sock: socket.socket, conn_id: int) -> None:
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
            sock.close()

    @property
    def connections(self) -> int:
        return self._next_id

    def close(self) -> None:
        self._stop.set()
        self._accept.join(2)
        self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(2)

    def __enter__(self) -> IdPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
