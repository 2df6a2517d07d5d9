"""A threaded loopback server whose behaviour is chosen by the request path."""

from __future__ import annotations

import socket
import struct
import threading
import time


class ChaosServer:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.active = 0  # connections open on the server's side
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._acceptor = t

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
            t = threading.Thread(target=self._handle, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _handle(self, c: socket.socket) -> None:
        c.settimeout(10)
        buf = b""
        with self.lock:
            self.active += 1
        try:
            while not self.stop.is_set():
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                if not self._respond(c, path):
                    return
        except OSError:
            return
        finally:
            try:
                c.close()
            except OSError:
                pass
            with self.lock:
                self.active -= 1

    def wait_all_closed(self, timeout: float = 1.0) -> int:
        """Connections still open on the server's side after up to ``timeout`` s."""
        end = time.monotonic() + timeout
        while self.active and time.monotonic() < end:
            time.sleep(0.01)
        return self.active

    def _respond(self, c: socket.socket, path: str) -> bool:
        body = b"x" * 100
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        if path.startswith("/fast"):
            c.sendall(ok)
            return True
        if path.startswith("/slow"):
            time.sleep(0.02)
            c.sendall(ok)
            return True
        if path.startswith("/pieces"):
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(10):
                time.sleep(0.003)
                c.sendall(b"y" * 10)
            return True
        if path.startswith("/big"):
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n")
            for _ in range(20):
                c.sendall(b"z" * 100000)
            return True
        if path.startswith("/thenclose"):
            c.sendall(ok)
            return False
        if path.startswith("/close"):
            return False
        if path.startswith("/reset"):
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if path.startswith("/halfbody"):
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            return False
        if path.startswith("/stall"):
            time.sleep(0.3)
            c.sendall(ok)
            return True
        if path.startswith("/503"):
            c.sendall(b"HTTP/1.1 503 No\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n")
            return True
        if path.startswith("/redirect"):
            c.sendall(b"HTTP/1.1 302 Found\r\nLocation: /fast\r\nContent-Length: 3\r\n\r\nabc")
            return True
        c.sendall(ok)
        return True

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._acceptor.join(2)
        deadline = time.monotonic() + 3
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
