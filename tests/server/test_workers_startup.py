"""``wirekit serve --workers``: a SIGHUP roll onto an app that no longer imports.

The supervisor is meant to keep the old worker when the new one dies before it is ready
("keeping the old one and retrying"), but a worker reports ready before importing the app,
so a broken deploy plus ``systemctl reload`` replaces every working worker with one that
dies at import: the port stays bound and clients wait on a server that answers no one.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.server.process_support import (
    _SERVING,
    ServeProcess,
    wait_until,
    worker_pids,
)

SERVER_TESTS = Path(__file__).resolve().parent

pytestmark = pytest.mark.slow

GOOD_APP = """
import os

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"""
BROKEN_APP = "raise RuntimeError('deploy broke this module')\n"


def _answers(port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(100).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def test_sighup_onto_an_app_that_fails_to_import_keeps_the_old_workers(tmp_path: Path) -> None:
    (tmp_path / "rollapp.py").write_text(GOOD_APP)
    with ServeProcess(
        "rollapp:app",
        ["--workers", "2", "--shutdown-timeout", "2"],
        log_path=tmp_path / "serve.log",
        app_dir=tmp_path,
    ) as server:
        server.wait_serving(count=2)
        wait_until(lambda: len(worker_pids(server.pid)) == 2, "2 worker processes")
        assert _answers(server.port)
        (tmp_path / "rollapp.py").write_text(BROKEN_APP)
        for cached in (tmp_path / "__pycache__").glob("rollapp*"):
            os.unlink(cached)
        server.signal(signal.SIGHUP)
        # Let the roll try both slots (old workers stop within --shutdown-timeout 2).
        deadline = time.monotonic() + 8.0
        while time.monotonic() < deadline:
            time.sleep(0.5)
        supervisor_lines = [
            line for line in server.log().splitlines() if "wirekit.server.workers" in line
        ]
        assert _answers(server.port), (
            "no answer after SIGHUP onto a broken app: the old workers were replaced\n"
            + "\n".join(supervisor_lines[-12:])
        )


def test_workers_with_an_unloadable_certificate_exit_with_an_error(tmp_path: Path) -> None:
    # One process: "error: could not load TLS certificate ..." and exit status 9. With
    # --workers the certificate is loaded only inside each worker, which dies at startup;
    # the supervisor restarts them forever (backoff up to 10 s) and never exits, holding
    # the port while serving nothing.
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    with ServeProcess(
        "peer_apps:wsgi_whoami",
        ["--workers", "2", "--ssl-certfile", str(bad), "--shutdown-timeout", "2"],
        log_path=tmp_path / "serve.log",
    ) as server:
        try:
            status = server.process.wait(20.0)
        except subprocess.TimeoutExpired:
            pytest.fail(
                "supervisor still running 20 s after its workers failed to load the "
                "certificate:\n" + server.log()[-1500:]
            )
        assert status != 0
        assert "could not load TLS certificate" in server.log()


def _limit_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def test_connections_over_the_open_file_limit_get_503_not_a_log_flood(tmp_path: Path) -> None:
    # The default max_connections (10 000) is far above the usual RLIMIT_NOFILE (1024), so
    # the 503 path never triggers: accept() hits EMFILE instead. On the asyncio loop (no
    # uvloop extra) every accept event then logs a traceback per backlog slot (2048), so
    # clients over the limit hang while the log grows by megabytes a second; uvloop closes
    # them without an answer. Keeping max_connections under the descriptor limit (or
    # warning and clamping at startup) restores the documented 503 + Retry-After.
    log_path = tmp_path / "serve.log"
    command = [
        sys.executable,
        "-m",
        "wirekit.cli",
        "serve",
        "peer_apps:wsgi_whoami",
        "--app-dir",
        str(SERVER_TESTS),
        "--port",
        "0",
        "--idle-timeout",
        "30",
        "--no-uvloop",
    ]
    environment = {**os.environ, "PYTHONPATH": str(SERVER_TESTS.parent.parent)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            preexec_fn=_limit_open_files,
            start_new_session=True,
        )
    sockets: list[socket.socket] = []
    try:
        port = 0

        def serving() -> bool:
            nonlocal port
            assert process.poll() is None, log_path.read_text(errors="replace")
            match = _SERVING.search(log_path.read_text(errors="replace"))
            if match is not None:
                port = int(match.group("port"))
            return port != 0

        wait_until(serving, "the server to start")
        for _ in range(100):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.5)
        answers = []
        for sock in sockets[90:]:
            # A connection that met EMFILE in asyncio's accept burst waits in the backlog for
            # its retry one second later (ACCEPT_RETRY_DELAY), then gets its 503.
            sock.settimeout(3.0)
            try:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                answers.append(sock.recv(64)[:12] or b"closed")
            except OSError as exc:
                answers.append(type(exc).__name__.encode())
        log_size = log_path.stat().st_size
        answered = all(answer in (b"HTTP/1.1 200", b"HTTP/1.1 503") for answer in answers)
        problems = [] if answered else [f"answers over the limit: {answers}"]
        if log_size >= 1_000_000:
            problems.append(f"server log grew to {log_size} bytes")
        assert not problems, "; ".join(problems)
    finally:
        for sock in sockets:
            sock.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


FAILING_STARTUP_APP = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})
"""


def test_workers_whose_app_cannot_start_make_the_supervisor_give_up(tmp_path: Path) -> None:
    # One process exits 1 when lifespan startup fails; with --workers every worker died at
    # startup and was restarted forever, holding the port while serving no one.
    (tmp_path / "failapp.py").write_text(FAILING_STARTUP_APP)
    with ServeProcess(
        "failapp:app",
        ["--workers", "2", "--lifespan", "on", "--shutdown-timeout", "2"],
        log_path=tmp_path / "serve.log",
        app_dir=tmp_path,
    ) as server:
        try:
            status = server.process.wait(40.0)
        except subprocess.TimeoutExpired:
            pytest.fail("supervisor still restarting workers after 40 s:\n" + server.log()[-1500:])
        assert status == 1
        assert "no worker ever started" in server.log()
