"""graceful shutdown keeps to shutdown_timeout."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.server.support import WAIT, running


def test_shutdown_with_stuck_wsgi_threads_keeps_to_shutdown_timeout() -> None:
    """After shutdown_timeout the connections are cut, then WorkerPool.shutdown joins each
    stuck thread for 1 s in turn: with N busy threads the server stops N seconds late (with
    the default 32 threads and 30 s timeout, SIGTERM takes 62 s instead of about 30)."""
    release = threading.Event()
    started = threading.Semaphore(0)

    def stuck(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started.release()
        release.wait(20)  # a hung backend call
        start_response("200 OK", [])
        return [b"late"]

    threads = 6
    socks = []
    try:
        with running(stuck, threads=threads, shutdown_timeout=1.0) as server:
            for _ in range(threads):
                sock = server.connect()
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(sock)
            for _ in range(threads):
                assert started.acquire(timeout=WAIT)
            began = time.monotonic()
            server.server.shutdown()
            server.thread.join(WAIT * 2)
            took = time.monotonic() - began
            assert not server.thread.is_alive()
    finally:
        release.set()
        for sock in socks:
            sock.close()
    # shutdown_timeout (1 s) plus one bounded wait for the threads, not one per thread.
    assert took < 3.5, f"shutdown took {took:.1f}s with shutdown_timeout=1.0"
