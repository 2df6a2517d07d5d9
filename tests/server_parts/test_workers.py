"""The process supervisor, run in a subprocess so the tests can signal it freely."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wirekit.server.workers import MAX_WORKERS, Supervisor

REPO = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 30.0  # upper bound for any wait below; none is a timing assertion
POLL = 0.05


class Running:
    def __init__(self, process: subprocess.Popen[str], port: int, pid: int) -> None:
        self.process, self.port, self.pid = process, port, pid


StartSupervisor = Callable[..., Running]


@pytest.fixture
def start_supervisor() -> Iterator[StartSupervisor]:
    started: list[subprocess.Popen[str]] = []

    def start(
        workers: int = 2,
        target: str = "http_responder",
        graceful: float = 10.0,
        *extra: str,
        env: dict[str, str] | None = None,
    ) -> Running:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.server_parts.supervisor_app",
                str(workers),
                target,
                str(graceful),
                *extra,
            ],
            cwd=REPO,
            env=None if env is None else {**os.environ, **env},
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, "the supervisor script exited before binding its socket"
        info = json.loads(line)
        return Running(process, info["port"], info["pid"])

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(WAIT_SECONDS)
        if process.stdout is not None:
            process.stdout.close()


def worker_pids(supervisor_pid: int) -> set[int]:
    """Spawned worker processes whose parent is the supervisor (from /proc)."""
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read()
        except OSError:
            continue
        if int(fields[1]) == supervisor_pid and fields[0] != "Z" and b"spawn_main" in cmdline:
            found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            state = stat_file.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(POLL)
    raise AssertionError(f"gave up waiting: {what}")


def request(port: int) -> int:
    """One HTTP request; returns the PID of the worker that answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        received = b""
        while len(received) < 65536:
            chunk = connection.recv(4096)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), received
    return int(body)


def wait_ready(running: Running, workers: int) -> set[int]:
    wait_for(lambda: len(worker_pids(running.pid)) == workers, f"{workers} workers running")
    request(running.port)
    return worker_pids(running.pid)


def stop(running: Running) -> None:
    os.kill(running.pid, signal.SIGTERM)
    assert running.process.wait(WAIT_SECONDS) == 0


def test_workers_answer_requests(start_supervisor: StartSupervisor) -> None:
    running = start_supervisor(2)
    pids = wait_ready(running, 2)
    answered = {request(running.port) for _ in range(20)}
    assert answered <= pids
    stop(running)


def test_killed_worker_is_replaced(start_supervisor: StartSupervisor) -> None:
    running = start_supervisor(2)
    before = wait_ready(running, 2)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: victim not in worker_pids(running.pid) and len(worker_pids(running.pid)) == 2,
        "a replacement worker",
    )
    after = worker_pids(running.pid)
    assert after - before, "no new PID after a worker was killed"
    for _ in range(10):
        assert request(running.port) in after
    stop(running)


def test_sigterm_stops_every_worker(start_supervisor: StartSupervisor) -> None:
    running = start_supervisor(3)
    pids = wait_ready(running, 3)
    stop(running)
    assert running.process.stdout is not None
    assert running.process.stdout.readline() == "stopped\n"
    assert not [pid for pid in pids if alive(pid)]


def test_stubborn_worker_is_killed_after_graceful_timeout(
    start_supervisor: StartSupervisor,
) -> None:
    running = start_supervisor(2, "stubborn", 0.5)
    wait_for(lambda: len(worker_pids(running.pid)) == 2, "2 workers running")
    pids = worker_pids(running.pid)
    stop(running)
    assert not [pid for pid in pids if alive(pid)]


def test_sighup_replaces_workers_without_dropping_requests(
    start_supervisor: StartSupervisor,
) -> None:
    running = start_supervisor(2)
    original = wait_ready(running, 2)
    os.kill(running.pid, signal.SIGHUP)
    answered: list[int] = []
    deadline = time.monotonic() + WAIT_SECONDS
    rolled = False
    for _ in range(2000):
        answered.append(request(running.port))  # raises if any request fails
        current = worker_pids(running.pid)
        if len(current) == 2 and not current & original:
            rolled = True
            break
        if time.monotonic() > deadline:
            break
    assert rolled, "workers were not all replaced"
    for _ in range(5):
        answered.append(request(running.port))
    assert set(answered) & worker_pids(running.pid), "no request reached a new worker"
    # An old worker is listed no more once it starts exiting; let it finish doing so.
    wait_for(lambda: not [pid for pid in original if alive(pid)], "old workers to exit")
    stop(running)


def test_workers_die_with_a_killed_supervisor(start_supervisor: StartSupervisor) -> None:
    running = start_supervisor(2)
    pids = wait_ready(running, 2)
    os.kill(running.pid, signal.SIGKILL)
    running.process.wait(WAIT_SECONDS)
    wait_for(lambda: not [pid for pid in pids if alive(pid)], "workers to die with the parent")


def test_reuse_port_workers_bind_their_own_sockets(start_supervisor: StartSupervisor) -> None:
    assert hasattr(socket, "SO_REUSEPORT"), "--reuse-port needs SO_REUSEPORT (Linux has it)"
    running = start_supervisor(2, "http_responder", 10.0, "--reuse-port")
    wait_for(lambda: len(worker_pids(running.pid)) == 2, "2 workers running")
    pids = worker_pids(running.pid)

    def answers() -> bool:
        # Nothing listens until a worker has bound its own socket: refusals until then.
        try:
            return request(running.port) in pids
        except ConnectionRefusedError:
            return False

    wait_for(answers, "a reuse-port worker to answer")
    assert {request(running.port) for _ in range(10)} <= pids
    stop(running)


def test_configuration_errors_are_named() -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    with sock:
        with pytest.raises(ValueError, match="MAX_WORKERS"):
            Supervisor(print, [sock], 0)
        with pytest.raises(ValueError, match="MAX_WORKERS"):
            Supervisor(print, [sock], MAX_WORKERS + 1)
        with pytest.raises(ValueError, match="at least one listening socket"):
            Supervisor(print, [], 1)
        with pytest.raises(ValueError, match="is listening"):
            Supervisor(print, [sock], 1, reuse_port=True)


def test_crashing_worker_is_restarted_and_stop_still_works(
    start_supervisor: StartSupervisor, tmp_path: Path
) -> None:
    log = tmp_path / "crashes.log"
    running = start_supervisor(1, "crash_on_start", 10.0, env={"WIREKIT_TEST_CRASH_LOG": str(log)})

    def crashed_pids() -> list[int]:
        return [int(line) for line in log.read_text().split()] if log.exists() else []

    wait_for(lambda: len(crashed_pids()) >= 3, "three restarts of a crashing worker")
    assert len(set(crashed_pids())) == len(crashed_pids())
    stop(running)
    assert not [pid for pid in crashed_pids() if alive(pid)]
