"""Peers and helpers of the parity tests: a TLS ScriptedServer, and messages with ports and
durations masked so the two clients' can be compared."""

from __future__ import annotations

import re
import socket
import ssl
from typing import Any

from tests.support.scripted import ScriptedServer

PORT_RE = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d+")
NUM_RE = re.compile(r"\d+\.\d+ s")


def norm(msg: str) -> str:
    return NUM_RE.sub("N s", PORT_RE.sub(r"\1:PORT", msg))


class TLSScriptedServer(ScriptedServer):
    """ScriptedServer whose connections are TLS (the handshake first, then the script)."""

    def __init__(self, context: ssl.SSLContext, *scripts: Any, host: str = "127.0.0.1") -> None:
        super().__init__(*scripts, host=host)
        self._tls_context = context

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        sock.settimeout(10)
        try:
            tls = self._tls_context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            extra[0].error = f"handshake: {exc}"
            extra[0].finished.set()
            return
        super().handle(tls, *extra)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"
