"""The one thread-per-connection loopback listener that every raw test peer builds on.

``ThreadedListener`` binds port 0, accepts in a thread, runs ``handle(sock, *extra)`` for
each connection in a thread of its own, and on ``stop()`` (or leaving the ``with`` block)
closes the listener, unblocks and joins every handler, and closes every socket.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any, Self

__all__ = ["ACCEPT_POLL_SECONDS", "JOIN_SECONDS", "ThreadedListener"]

#: The accept loop notices ``stop()`` this often.
ACCEPT_POLL_SECONDS = 0.1
#: How long ``stop()`` waits for each thread.
JOIN_SECONDS = 5.0


class ThreadedListener:
    """TCP listener on ``host`` (127.0.0.1 or ::1) port 0; subclasses implement ``handle``."""

    def __init__(self, *, host: str = "127.0.0.1", backlog: int = 128) -> None:
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(backlog)
        self._listener.settimeout(ACCEPT_POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def accepted(self, sock: socket.socket) -> tuple[Any, ...]:
        """Called under the lock for each new connection; returns extra ``handle`` arguments."""
        return ()

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        if self._acceptor.is_alive():
            self._acceptor.join(JOIN_SECONDS)
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:  # unblock handlers waiting in recv()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(JOIN_SECONDS)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._sockets.append(sock)
                extra = self.accepted(sock)
            thread = threading.Thread(target=self.handle, args=(sock, *extra), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()
