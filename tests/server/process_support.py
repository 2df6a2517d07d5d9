"""Run ``wirekit serve`` as a real subprocess for end-to-end tests, and read its state.

``ServeProcess`` starts the command with its log in a file (never a pipe: a pipe nobody
drains blocks a chatty server), learns the port from the "serving ... on" log line, and
always stops and reaps the process (and its children) at exit. Linux /proc helpers count
file descriptors, read VmRSS and list child processes.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: Upper bound for any single wait on a subprocess (bounds a hang; not a timing assertion).
PROCESS_WAIT = 30.0

_SERVING = re.compile(r"serving .* on \('(?P<host>[0-9.:a-f]+)', (?P<port>\d+)")

HERE = Path(__file__).resolve().parent


def require_tool(path: str) -> str:
    """The tool's path; a missing tool fails the test (CI installs them: .ci/run)."""
    assert os.access(path, os.X_OK), f"{path} is not installed (.ci/run installs it)"
    return path


def raise_open_file_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE (soft, and hard if allowed) to at least ``wanted``; fail clearly."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        except (ValueError, OSError) as exc:
            raise AssertionError(
                f"this test needs RLIMIT_NOFILE >= {wanted} but the hard limit is {hard} and "
                f"cannot be raised ({exc}); run as root or raise 'ulimit -Hn'"
            ) from exc
        return wanted
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def wait_until(condition: Callable[[], bool], what: str, *, timeout: float = PROCESS_WAIT) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up after {timeout}s waiting for: {what}")


def open_fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def resident_bytes(pid: int) -> int:
    """VmRSS of ``pid`` in bytes, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS line in /proc/{pid}/status")


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's list in /proc/PID/task/*/children)."""
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError):
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                found += [int(word) for word in text.split()]
    return sorted(set(found))


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rpartition(")")[2].split()[0] != "Z"


def worker_pids(supervisor: int) -> set[int]:
    """Live worker processes of a ``--workers`` supervisor (spawned interpreters)."""
    found = set()
    for pid in children_of(supervisor):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in command and is_running(pid):
            found.add(pid)
    return found


def running_in_group(group: int) -> list[int]:
    """Processes of process group ``group`` that are still running (zombies excluded: a
    child whose parent exited first is reaped by init, not by the code under test)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(entry))
    return found


def get(port: int, path: str = "/", *, host: str = "127.0.0.1", **kwargs: Any) -> tuple[int, bytes]:
    """One request on a fresh connection; (status, body)."""
    conn = http.client.HTTPConnection(host, port, timeout=PROCESS_WAIT)
    try:
        conn.request(kwargs.pop("method", "GET"), path, **kwargs)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class ServeProcess:
    """``python -m wirekit.cli serve APP --port 0 ARGS...`` with its log in ``log_path``.

    ``environment`` adds to (or overrides) this process's environment for the child.
    """

    def __init__(
        self,
        app: str,
        arguments: Sequence[str] = (),
        *,
        log_path: Path,
        app_dir: Path = HERE,
        port: int = 0,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.log_path = log_path
        self.command = [
            sys.executable,
            "-m",
            "wirekit.cli",
            "serve",
            app,
            "--app-dir",
            str(app_dir),
            "--port",
            str(port),
            *arguments,
        ]
        self._spawn(environment)

    def _spawn(self, environment: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        """Start ``self.command`` with its output in ``self.log_path``."""
        environment = {**os.environ, **(environment or {})}
        # The child imports wirekit and the test apps the same way this process does.
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(HERE.parent.parent), *filter(None, [environment.get("PYTHONPATH")])]
        )
        environment["PYTHONUNBUFFERED"] = "1"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=cwd,
            start_new_session=True,  # its own group: cleanup can reach every child
        )
        self.pid = self.process.pid
        self.port = 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_serving(self, *, count: int = 1) -> int:
        """Wait for ``count`` "serving ... on" log lines; return the port they name."""

        def serving() -> bool:
            assert self.process.poll() is None, (
                f"wirekit serve exited with {self.process.returncode} before serving:\n{self.log()}"
            )
            return len(_SERVING.findall(self.log())) >= count

        wait_until(serving, f"{count} 'serving ... on' log lines from {self.command}")
        match = _SERVING.search(self.log())
        assert match is not None
        self.port = int(match.group("port"))
        return self.port

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait_exit(self, *, timeout: float = PROCESS_WAIT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"wirekit serve (pid {self.pid}) still running {timeout}s after being told to "
                f"stop:\n{self.log()[-3000:]}"
            ) from None

    def stop(self) -> None:
        """Always safe: SIGTERM, then SIGKILL to the whole group if it lingers; reap."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(PROCESS_WAIT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(PROCESS_WAIT)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # stray workers of a failed test
        self._log.close()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
