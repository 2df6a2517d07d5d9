"""Drive ``Client`` and ``AsyncClient`` through one synchronous facade, for paired tests.

The async client lives on one ``asyncio.Runner`` loop for its whole life, so its pooled
connections stay valid from one call to the next.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import wirekit

KINDS = ("sync", "async")

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def url_of(server: Any, path: str = "/") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def refused_url() -> str:
    """A loopback port with nothing listening (a connect there is refused at once)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/"


def wait_until(predicate: Callable[[], bool], limit: float = 10.0) -> bool:
    """Poll ``predicate`` (bounded: at most ``limit`` seconds, 0.02 s apart)."""
    ends = time.monotonic() + limit
    while time.monotonic() < ends:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Both:
    """``Both(kind, **client_options)``: ``.client`` is the real client; ``request`` and
    ``get`` return the response (body read) in both flavours."""

    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self.runner: asyncio.Runner | None = None
        if kind == "sync":
            self.client: Any = wirekit.Client(**options)
        else:
            self.runner = asyncio.Runner()
            try:
                self.client = self.runner.run(self._make(options))
            except BaseException:
                self.runner.close()
                raise

    @staticmethod
    async def _make(options: dict[str, Any]) -> wirekit.AsyncClient:
        return wirekit.AsyncClient(**options)

    def run(self, coro: Any) -> Any:
        assert self.runner is not None
        return self.runner.run(coro)

    def request(self, method: str, url: str, **kwargs: Any) -> wirekit.Response:
        if self.runner is None:
            return self.client.request(method, url, **kwargs)
        return self.runner.run(self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> wirekit.Response:
        return self.request("GET", url, **kwargs)

    def close(self) -> None:
        if self.runner is None:
            self.client.close()
            return
        try:
            self.runner.run(self.client.aclose())
        finally:
            self.runner.close()

    def __enter__(self) -> Both:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
