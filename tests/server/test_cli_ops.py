"""Operating ``wirekit serve`` as a process: worker rolls on SIGHUP, a SIGKILLed worker
replaced, SIGTERM leaving no child behind, ``--reload`` picking up an edit, and SIGTERM in
the middle of concurrent load (no truncated answer, exit status 0).

Clients speak raw HTTP/1.1 with ``Connection: close`` so each outcome is classified
exactly: a complete answer, a refused connection, or a failure naming what was seen.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.server.peer_apps import SLOW_BODY
from tests.server.process_support import (
    PROCESS_WAIT,
    ServeProcess,
    get,
    is_running,
    running_in_group,
    wait_until,
    worker_pids,
)

pytestmark = pytest.mark.slow

#: Requests at most while waiting for a roll or replacement (bounds the loops).
MAX_REQUESTS = 2_000
#: Concurrent clients and requests per client in the SIGTERM-under-load test.
LOAD_CLIENTS = 16
LOAD_REQUESTS_PER_CLIENT = 40


def answered_by(port: int) -> int:
    """One ``Connection: close`` request to the whoami app; the PID that answered (200 only)."""
    status, body = get(port, headers={"Connection": "close"})
    assert status == 200, body
    pid: int = json.loads(body)["pid"]
    return pid


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[ServeProcess]:
    with ServeProcess(
        "peer_apps:wsgi_whoami",
        ["--workers", "2", "--shutdown-timeout", "10"],
        log_path=tmp_path / "serve.log",
    ) as server:
        server.wait_serving(count=2)
        wait_until(lambda: len(worker_pids(server.pid)) == 2, "2 worker processes")
        yield server


def test_sighup_replaces_workers_one_by_one_without_failed_requests(
    two_workers: ServeProcess,
) -> None:
    server = two_workers
    before = worker_pids(server.pid)
    assert answered_by(server.port) in before
    server.signal(signal.SIGHUP)
    answered: list[int] = []
    alive_counts: list[int] = []
    for _ in range(MAX_REQUESTS):
        answered.append(answered_by(server.port))  # every one must be a 200
        current = worker_pids(server.pid)
        alive_counts.append(len(current))
        if len(current) == 2 and not current & before:
            break
        time.sleep(0.01)
    after = worker_pids(server.pid)
    assert not after & before, (
        f"workers {before} not replaced after {len(answered)} requests: now {after}\n"
        f"{server.log()[-3000:]}"
    )
    assert len(after) == 2
    # One at a time: never fewer than two serving, never more than one extra starting.
    assert min(alive_counts) >= 2, alive_counts
    assert max(alive_counts) <= 3, alive_counts
    assert set(answered) & after, "no answer came from a new worker during the roll"
    for _ in range(10):
        assert answered_by(server.port) in after
    # The old workers' exit can show in /proc a moment before the supervisor logs it.
    wait_until(lambda: "reload finished" in server.log(), "the 'reload finished' log line")
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0


def test_killed_worker_is_replaced_and_requests_still_answered(
    two_workers: ServeProcess,
) -> None:
    server = two_workers
    before = worker_pids(server.pid)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # The survivor keeps answering while the slot restarts.
    assert answered_by(server.port) in before - {victim}
    wait_until(
        lambda: len(worker_pids(server.pid)) == 2 and victim not in worker_pids(server.pid),
        "a new worker in place of the killed one",
    )
    after = worker_pids(server.pid)
    assert len(after - before) == 1
    seen = {answered_by(server.port) for _ in range(20)}
    assert seen <= after
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0


def test_sigterm_stops_supervisor_and_every_worker(two_workers: ServeProcess) -> None:
    server = two_workers
    workers = worker_pids(server.pid)
    assert answered_by(server.port) in workers
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    leftovers = [pid for pid in workers if is_running(pid)]
    assert not leftovers, f"workers {leftovers} outlived the supervisor"
    # Nothing else of the process group runs on either (multiprocessing's resource
    # tracker exits by itself once the supervisor's end of its pipe closes).
    wait_until(
        lambda: running_in_group(server.pid) == [],
        "every process of the server's group to exit",
    )
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=PROCESS_WAIT)


# -- --reload -------------------------------------------------------------------------------
APP_TEMPLATE = '''"""A WSGI app the reload test edits."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [{answer!r}]
'''


def test_reload_serves_the_edited_app_on_the_same_address(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    module = project / "editable_app.py"
    module.write_text(APP_TEMPLATE.format(answer=b"first version"))
    with ServeProcess(
        "editable_app:app", ["--reload"], log_path=tmp_path / "serve.log", app_dir=project
    ) as server:
        port = server.wait_serving()
        assert get(port) == (200, b"first version")
        module.write_text(APP_TEMPLATE.format(answer=b"second version"))
        # Moved forward in time: a change no file system can round away.
        stamp = module.stat().st_mtime + 10
        os.utime(module, (stamp, stamp))
        # The reloader holds the listening socket across the restart, so every request
        # made meanwhile is answered (by the old app or the new one), none refused, and
        # the address stays the same even though --port 0 was asked for.
        answers = []
        for _ in range(MAX_REQUESTS):
            status, body = get(port)
            assert status == 200
            answers.append(body)
            if body == b"second version":
                break
            time.sleep(0.02)
        assert answers[-1] == b"second version", f"still {answers[-1]!r}:\n{server.log()}"
        assert set(answers) <= {b"first version", b"second version"}
        assert "change detected" in server.log()
        server.wait_serving(count=2)
        assert set(_SERVING_PORT.findall(server.log())) == {str(port)}
        server.signal(signal.SIGTERM)
        assert server.wait_exit() == 0
        wait_until(
            lambda: running_in_group(server.pid) == [],
            "the reloaded server to exit with the reloader",
        )


_SERVING_PORT = re.compile(r"serving .* on \('127\.0\.0\.1', (\d+)\)")


# -- SIGTERM during load --------------------------------------------------------------------
@dataclass
class Outcomes:
    complete: int = 0
    overloaded: int = 0  # a complete 503 (shutting down): a clean answer too
    refused: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def one_request(port: int, outcomes: Outcomes) -> bool:
    """One ``Connection: close`` request, classified; False once connections are refused."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=PROCESS_WAIT)
    except ConnectionRefusedError:
        with outcomes.lock:
            outcomes.refused += 1
        return False
    received = bytearray()
    problem = ""
    with sock:
        try:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: load\r\nConnection: close\r\n\r\n")
            for _ in range(10_000):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except OSError as exc:
            problem = f"{type(exc).__name__} after {len(received)} bytes"
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    with outcomes.lock:
        if head.startswith(b"HTTP/1.1 200 ") and body == SLOW_BODY and not problem:
            outcomes.complete += 1
        elif head.startswith(b"HTTP/1.1 503 ") and b"retry-after" in head.lower():
            outcomes.overloaded += 1
        else:
            outcomes.failures.append(problem or f"incomplete answer: {bytes(received[:200])!r}")
    return True


@pytest.mark.parametrize("app", ["peer_apps:wsgi_slow", "peer_apps:asgi_slow"])
def test_sigterm_under_load_truncates_nothing_and_exits_zero(tmp_path: Path, app: str) -> None:
    with ServeProcess(app, ["--shutdown-timeout", "20"], log_path=tmp_path / "serve.log") as server:
        port = server.wait_serving()
        outcomes = Outcomes()
        started = threading.Barrier(LOAD_CLIENTS + 1)

        def client() -> None:
            started.wait(PROCESS_WAIT)
            for _ in range(LOAD_REQUESTS_PER_CLIENT):
                if not one_request(port, outcomes):
                    break

        threads = [threading.Thread(target=client, daemon=True) for _ in range(LOAD_CLIENTS)]
        for thread in threads:
            thread.start()
        started.wait(PROCESS_WAIT)
        # Let the load reach a steady state: answers have been completed and more are in
        # flight (every request sleeps in the app), then pull the plug.
        wait_until(lambda: outcomes.complete >= LOAD_CLIENTS, "the first answers")
        with outcomes.lock:
            completed_before_signal = outcomes.complete
        server.signal(signal.SIGTERM)
        for thread in threads:
            thread.join(PROCESS_WAIT * 2)
            assert not thread.is_alive(), "a client thread did not finish"
        assert server.wait_exit() == 0, server.log()[-3000:]
        assert not outcomes.failures, (
            f"{len(outcomes.failures)} requests got no complete answer "
            f"({outcomes.complete} complete, {outcomes.refused} refused): "
            f"{outcomes.failures[:10]}"
        )
        # Requests in flight when the signal came were answered in full, not cut.
        assert outcomes.complete > completed_before_signal
        assert "server stopped" in server.log()
        # The loop was still running when the signal came: later connections were refused.
        assert outcomes.refused > 0
