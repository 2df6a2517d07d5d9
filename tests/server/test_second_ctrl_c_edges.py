"""A second Ctrl-C during graceful shutdown of a single-process ``wirekit serve``.

With ``--workers`` the supervisor treats a second SIGINT as "do not wait any longer"
(workers.py ``_handle_requests``), and so does uvicorn. The single-process server kept
waiting for the whole ``--shutdown-timeout`` (30 s by default) whatever the user pressed;
now it stops at once too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.server.process_support import ServeProcess, wait_until

APP = """
import asyncio, pathlib

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    pathlib.Path(MARKER).touch()
    await asyncio.sleep(60)  # a stuck request
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"late"})
"""


def test_second_sigint_stops_a_single_process_server_at_once(tmp_path: Path) -> None:
    marker = tmp_path / "in-app"
    (tmp_path / "stuckapp.py").write_text(f"MARKER = {str(marker)!r}\n" + APP)
    server = ServeProcess(
        "stuckapp:app",
        ["--host", "127.0.0.1", "--shutdown-timeout", "25"],
        log_path=tmp_path / "serve.log",
        app_dir=tmp_path,
    )
    curl = None
    try:
        port = server.wait_serving()
        curl = subprocess.Popen(
            ["curl", "-sS", "--max-time", "30", f"http://127.0.0.1:{port}/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(marker.exists, "the request to reach the app")
        server.signal(signal.SIGINT)
        time.sleep(0.5)
        assert server.process.poll() is None  # the first Ctrl-C waits, as it should
        server.signal(signal.SIGINT)
        try:
            server.process.wait(5.0)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "a second Ctrl-C did not stop the server: it still waits for the "
                f"25 s shutdown timeout\n{server.log()[-2000:]}"
            ) from None
    finally:
        if server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.process.wait(10)
        server._log.close()
        if curl is not None:
            curl.kill()
            curl.wait(10)
