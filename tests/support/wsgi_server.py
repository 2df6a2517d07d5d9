"""Run a WSGI app (httpbin, Flask...) on 127.0.0.1 port 0 in a thread, plain or TLS.

Uses werkzeug's threaded development server; the fixture will move to wirekit's own server
once it exists.
"""

from __future__ import annotations

import ssl
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["ThreadedWSGIServer"]


class ThreadedWSGIServer:
    def __init__(self, app: Any, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context
        )
        self.port: int = self._server.server_port
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> ThreadedWSGIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def __enter__(self) -> ThreadedWSGIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
