"""``wirekit serve --workers N``: stopping the supervisor must stop every worker promptly,
refuse (not hang then reset) new connections, and let each worker run its lifespan shutdown.

Each test starts a real ``wirekit serve`` subprocess on 127.0.0.1 with bounded waits.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.server.process_support import (
    ServeProcess,
    running_in_group,
    wait_until,
    worker_pids,
)

pytestmark = pytest.mark.slow

#: Sleeps at import only inside a worker process (the supervisor imports the app too).
SLOW_IMPORT_APP = """
import multiprocessing, os, time

if multiprocessing.current_process().name.startswith("wirekit-worker"):
    with open(os.environ["IMPORTING"], "a") as marker:
        marker.write(f"{os.getpid()}\\n")
    time.sleep(3.0)

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"""

#: ASGI: answers after ?SECONDS; its lifespan shutdown takes a moment (closing a pool) and
#: then appends "shutdown PID" to the file in $LS_OUT.
LIFESPAN_APP = """
import asyncio, os

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await asyncio.sleep(0.3)
                with open(os.environ["LS_OUT"], "a") as out:
                    out.write(f"shutdown {os.getpid()}\\n")
                await send({"type": "lifespan.shutdown.complete"})
                return
    await asyncio.sleep(float(scope["query_string"] or b"0"))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"done"})
"""


def _request_in_background(port: int, path: str) -> threading.Thread:
    def run() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                sock.recv(100)
        except OSError:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sigterm_while_workers_import_the_app_stops_them_promptly(tmp_path: Path) -> None:
    """SIGTERM reaching a worker before its server installed its own handler is lost:
    the worker goes on to serve, and is SIGKILLed only after the whole shutdown_timeout."""
    (tmp_path / "slowimport.py").write_text(SLOW_IMPORT_APP)
    importing = tmp_path / "importing.txt"
    with ServeProcess(
        "slowimport:app",
        ["--workers", "2", "--shutdown-timeout", "20"],
        log_path=tmp_path / "serve.log",
        app_dir=tmp_path,
        environment={"IMPORTING": str(importing)},
    ) as server:
        # Both workers are inside their 3 s import (their SIGTERM handler is installed).
        wait_until(
            lambda: importing.exists() and len(importing.read_text().split()) == 2,
            "2 workers importing the app",
            timeout=15,
        )
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        status = server.wait_exit(timeout=12)  # import (3 s) + a prompt stop; not 20 s
        took = time.monotonic() - started
        log = server.log()
        assert status == 0, log
        assert "killing it" not in log, f"a worker ignored SIGTERM (exit took {took:.1f}s):\n{log}"
        # multiprocessing's resource tracker exits by itself just after the supervisor.
        wait_until(
            lambda: running_in_group(server.pid) == [],
            "every process of the server's group to exit",
        )


def test_new_connection_during_graceful_shutdown_is_refused_not_reset(tmp_path: Path) -> None:
    """While a slow request finishes, a new client must be refused at once (as with one
    process), not accepted into a backlog nobody reads and reset when the supervisor exits."""
    workers = "2"
    arguments = ["--shutdown-timeout", "10", "--workers", workers]
    with ServeProcess(
        "tests.server.apps:asgi_slow", arguments, log_path=tmp_path / "serve.log"
    ) as server:
        server.wait_serving(count=int(workers))
        slow = _request_in_background(server.port, "/slow?4")
        time.sleep(0.5)
        server.signal(signal.SIGTERM)
        time.sleep(0.7)  # every worker has seen SIGTERM and stopped listening
        assert server.process.poll() is None, "the slow request should still hold shutdown open"
        outcome = "refused"
        try:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=2)
        except ConnectionRefusedError:
            sock = None
        if sock is not None:
            with sock:
                try:
                    sock.sendall(b"GET /new HTTP/1.1\r\nHost: x\r\n\r\n")
                    answer = sock.recv(100)
                    outcome = "answered" if answer.startswith(b"HTTP/1.1 ") else f"eof {answer!r}"
                except TimeoutError:
                    outcome = "hung: connected, but no answer within 2 s"
                except ConnectionResetError:
                    outcome = "reset"
        assert outcome in ("refused", "answered"), outcome
        assert server.wait_exit(timeout=20) == 0
        slow.join(10)


def test_lifespan_shutdown_runs_in_every_worker_when_a_request_overruns(tmp_path: Path) -> None:
    """One process aborts the overrunning request at shutdown_timeout and then runs the
    lifespan shutdown; under --workers the supervisor SIGKILLs the worker at that same
    moment, so the app's shutdown (closing pools, flushing) never runs."""
    (tmp_path / "lsapp.py").write_text(LIFESPAN_APP)
    events = tmp_path / "events.txt"
    with ServeProcess(
        "lsapp:app",
        ["--workers", "2", "--shutdown-timeout", "2"],
        log_path=tmp_path / "serve.log",
        app_dir=tmp_path,
        environment={"LS_OUT": str(events)},
    ) as server:
        server.wait_serving(count=2)
        wait_until(lambda: len(worker_pids(server.pid)) == 2, "2 worker processes")
        requests = [_request_in_background(server.port, "/?30") for _ in range(4)]
        time.sleep(0.7)
        server.signal(signal.SIGTERM)
        assert server.wait_exit(timeout=20) == 0
        for thread in requests:
            thread.join(5)
        ran = events.read_text().splitlines() if events.exists() else []
        assert len(ran) == 2, (
            f"lifespan shutdown ran in {len(ran)} of 2 workers: {ran}\n{server.log()[-2000:]}"
        )
