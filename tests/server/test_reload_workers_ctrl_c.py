"""``wirekit serve --reload --workers N``: one Ctrl-C must stop gracefully.

Ctrl-C sends SIGINT to the whole foreground process group: the reloader, the supervisor it
started and the workers. The reloader then also sends SIGTERM to the supervisor, which
takes that second stop request for "a second Ctrl-C" and SIGKILLs its workers at once, so
the request in flight is cut off (a single process, or --workers without --reload, lets it
finish).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.server.process_support import ServeProcess

pytestmark = pytest.mark.slow

SLOW_APP = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await asyncio.sleep(2.0)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"finished"})
"""


def test_one_ctrl_c_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    (tmp_path / "slowapp.py").write_text(SLOW_APP)
    with ServeProcess(
        "slowapp:app",
        ["--reload", "--workers", "2", "--shutdown-timeout", "8", "--lifespan", "off"],
        log_path=tmp_path / "serve.log",
        app_dir=tmp_path,
    ) as server:
        server.wait_serving(count=2)
        answer: list[bytes] = []

        def request() -> None:
            with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                for _ in range(100):  # bounded: the answer is small
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    if data.endswith(b"finished"):
                        break
                answer.append(data)

        thread = threading.Thread(target=request, daemon=True)
        thread.start()
        time.sleep(0.7)  # the request is in flight in a worker
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert server.wait_exit(timeout=20) == 0
        thread.join(10)
        received = answer[0] if answer else b"(nothing)"
        context = f"request in flight cut off by one Ctrl-C: {received!r}\n{server.log()[-1500:]}"
        assert received.startswith(b"HTTP/1.1 200"), context
        assert received.endswith(b"finished"), context
