"""A tiny loopback TCP server for the deadline tests: ``handler(conn, peer)`` runs per
connection in a thread; ``peer.stop`` is set when the test is done with it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any


class Peer:
    def __init__(self, handler: Callable[[socket.socket, Peer], None]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.handler = handler
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn, self)
        except OSError:
            pass

    def close(self) -> None:
        self.stop.set()
        self._thread.join(2)
        self.sock.close()
        for conn in self.conns:
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def sleep_until(peer: Peer, seconds: float) -> None:
    """Stall, but return as soon as the test closes the peer."""
    peer.stop.wait(seconds)
