"""Shared plumbing of the benchmarks: CPU pinning, free ports, starting and stopping server
processes, waiting for a port, process-tree memory, and the machine description.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
#: Where scripts/compile.py puts the compiled copy of the package (``make compile``); the
#: ``-mypyc`` servers and clients run with it first on the path.
COMPILED_DIR = BENCH_DIR.parent / "build" / "compiled"
REPO_DIR = BENCH_DIR.parent
PYTHON = sys.executable

#: Seconds a server gets to start answering before it is reported as failed to start.
SERVER_START_TIMEOUT = 30.0

#: Seconds a stopped server gets between SIGTERM and SIGKILL.
SERVER_STOP_TIMEOUT = 10.0

#: Libraries whose versions go into the report next to the results.
REPORTED_PACKAGES = (
    "wirekit",
    "requests",
    "urllib3",
    "httpx",
    "httpcore",
    "aiohttp",
    "pycurl",
    "uvicorn",
    "httptools",
    "uvloop",
    "granian",
    "gunicorn",
    "waitress",
)


def cores() -> tuple[int, int]:
    """(server core, client core): 0 and 1 when there are two, else both on the only one."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    if len(available) >= 2:
        return available[0], available[1]
    return available[0], available[0]


def pin(core: int | None) -> None:
    """Pin the calling process (and its future threads and children) to one core."""
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for programs that cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def child_environment(*, bench_on_path: bool = True) -> dict[str, str]:
    """The environment for every child: no proxy variables, so clients go straight out.

    ``bench_on_path`` puts bench/ on PYTHONPATH so servers find ``apps``; import timings
    leave it off so no bench module can shadow (or pre-import) a library.
    """
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().endswith("_proxy") and key.lower() != "proxy"
    }
    environment["NO_PROXY"] = environment["no_proxy"] = "127.0.0.1,localhost,::1"
    if bench_on_path:
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(BENCH_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    return environment


def http_get(port: int, path: str = "/", *, timeout: float = 2.0) -> tuple[int, bytes]:
    """One GET over a fresh connection: (status, body). Reads to the Content-Length."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        received = bytearray()
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
            head_end = received.find(b"\r\n\r\n")
            if head_end >= 0:
                match = re.search(rb"(?im)^content-length:\s*(\d+)", received[:head_end])
                if match and len(received) >= head_end + 4 + int(match.group(1)):
                    break
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


class ServerProcess:
    """A server started in its own session, pinned to a core, stopped by its process group."""

    def __init__(self, name: str, argv: Sequence[str], *, core: int | None, cwd: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.core = core
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, log: Any) -> None:
        core = self.core
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=child_environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() reaches the workers too
            preexec_fn=(lambda: pin(core)) if core is not None else None,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_ready(self, port: int, *, timeout: float = SERVER_START_TIMEOUT) -> None:
        """Poll until GET / answers 200; raise RuntimeError naming the server otherwise."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode} before answering"
                )
            try:
                status, _ = http_get(port, "/", timeout=1.0)
            except OSError as error:
                last_error = str(error)
            else:
                if status == 200:
                    return
                last_error = f"status {status}"
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} did not answer on 127.0.0.1:{port} within {timeout:.0f} s ({last_error})"
        )

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=SERVER_STOP_TIMEOUT)


@contextlib.contextmanager
def running(server: ServerProcess, port: int, log: Any) -> Iterator[ServerProcess]:
    """Start ``server``, wait until it answers on ``port``, stop it on the way out."""
    server.start(log)
    try:
        server.wait_ready(port)
        yield server
    finally:
        server.stop()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def tree_rss_kib(pid: int) -> int:
    """Resident memory (VmRSS, KiB) of a process plus all its descendants."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
        pending.extend(_children(current))
    return total


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_description() -> dict[str, Any]:
    """CPU model and count, kernel, Python and library versions: printed with every result."""
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    tools: dict[str, str | None] = {}
    for tool, flag in (("wrk", "-v"), ("nginx", "-v")):
        try:
            completed = subprocess.run(
                [tool, flag], capture_output=True, text=True, timeout=10, check=False
            )
            tools[tool] = (completed.stdout + completed.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            tools[tool] = None
    return {
        # Load before the run: above ~0.5 other work shared the cores and moved the numbers.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": {name: package_version(name) for name in REPORTED_PACKAGES},
        "tools": tools,
    }


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]
