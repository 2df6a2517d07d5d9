"""A loopback port whose new connections never complete: a real connect timeout, locally.

Linux drops a SYN when a listener's accept queue is full, so a connect to a listener with
backlog 0 whose queue is filled (and never accepted) neither succeeds nor is refused.
"""

from __future__ import annotations

import select
import socket
from types import TracebackType

__all__ = ["MAX_FILLERS", "Blackhole"]

#: Connections used to fill the accept queue before giving up (the kernel needs 1 or 2).
MAX_FILLERS = 16


class Blackhole:
    """127.0.0.1:``port`` never answers; ``close()`` (or leaving ``with``) frees it."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        try:
            for _ in range(MAX_FILLERS):
                filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                filler.setblocking(False)
                self._fillers.append(filler)
                filler.connect_ex(("127.0.0.1", self.port))
                _, writable, _ = select.select([], [filler], [], 0.3)
                if not writable:
                    return  # this SYN was dropped: the queue is full
            raise RuntimeError("could not fill the accept queue of a loopback listener")
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for sock in self._fillers:
            sock.close()
        self._fillers.clear()
        self._listener.close()

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
