"""The HTTP server: hosts WSGI and ASGI apps on the shared sans-IO HTTP/1.1 core.

``Server(app, ...)`` for embedding (``run()`` blocking, ``await serve()`` inside a loop),
``serve(app, ...)`` in one call, ``ServerConfig`` for every knob and its default.
"""

from __future__ import annotations

from wirekit.server.config import ServerConfig
from wirekit.server.main import Server, detect_interface, serve

__all__ = ["Server", "ServerConfig", "detect_interface", "serve"]
