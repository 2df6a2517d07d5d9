"""Server benchmark: wrk against each server (one worker, pinned to its own core).

Each server runs ``bench/apps.py`` (or its native equivalent: nginx ``return``, the bare
responder), is checked to send the expected body, then loaded by ``wrk --latency`` pinned to
the other core. Also measures server memory per idle keep-alive connection.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _harness import (
    BENCH_DIR,
    COMPILED_DIR,
    PYTHON,
    ServerProcess,
    cores,
    free_port,
    http_get,
    pin,
    running,
    tree_rss_kib,
)
from apps import HELLO_BODY, json_body

VENV_BIN = Path(PYTHON).parent

#: The two responses every server sends: path -> expected body.
PAYLOADS = {"hello": ("/", HELLO_BODY), "json": ("/json", json_body())}


@dataclass(frozen=True)
class ServerPlan:
    """wrk settings; every wrk run is bounded by ``duration_s`` (plus a kill timeout)."""

    duration_s: int = 5
    connections: tuple[int, ...] = (64, 1)
    payloads: tuple[str, ...] = ("hello", "json")
    runs: int = 2
    idle_connections: int = 1_000
    memory_servers: tuple[str, ...] = ("wirekit-asgi", "uvicorn")


FULL_PLAN = ServerPlan()
QUICK_PLAN = ServerPlan(duration_s=1, connections=(64,), runs=1, idle_connections=100)

#: Seconds a wrk run may take past its duration before it is killed.
WRK_GRACE_S = 20.0

#: Seconds each idle connection gets to receive its first answer in the memory case.
IDLE_CONNECT_TIMEOUT_S = 5.0


def _nginx_config(directory: Path, port: int) -> Path:
    body = json_body().decode()
    # nginx expands $variables inside return strings; the document must not contain any.
    if "$" in body or "'" in body or "\\" in body:
        raise ValueError("the JSON document cannot be embedded in an nginx config")
    config = directory / "nginx.conf"
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / folder).mkdir(exist_ok=True)
    config.write_text(
        f"""worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    keepalive_requests 10000000;
    server {{
        listen 127.0.0.1:{port};
        location = /json {{ default_type application/json; return 200 '{body}'; }}
        location / {{ default_type text/plain; return 200 "Hello, world!"; }}
    }}
}}
"""
    )
    return config


def _wirekit_interface_flag(kind: str) -> str:
    """The ``--interface`` value ``wirekit serve`` accepts for ``kind`` (asgi3 or asgi)."""
    if kind == "wsgi":
        return "wsgi"
    completed = subprocess.run(
        [PYTHON, "-m", "wirekit.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "asgi3" if "asgi3" in completed.stdout else "asgi"


ArgvBuilder = Callable[[int, Path], list[str]]


def _server_commands() -> dict[str, ArgvBuilder]:
    """Server name -> argv builder (port, scratch directory). One worker process each."""
    bin_ = str(VENV_BIN)
    return {
        "nginx": lambda port, scratch: [
            "nginx",
            "-p",
            str(scratch),
            "-c",
            str(_nginx_config(scratch, port)),
            "-e",
            str(scratch / "error.log"),
        ],
        "bare-protocol": lambda port, _: [
            PYTHON,
            str(BENCH_DIR / "responder.py"),
            f"--port={port}",
        ],
        "uvicorn": lambda port, _: [
            f"{bin_}/uvicorn",
            "apps:asgi_app",
            "--host=127.0.0.1",
            f"--port={port}",
            "--http=httptools",
            "--loop=uvloop",
            "--no-access-log",
            "--log-level=warning",
            "--timeout-keep-alive=60",
        ],
        "granian-asgi": lambda port, _: [
            f"{bin_}/granian",
            "--interface=asgi",
            "--host=127.0.0.1",
            f"--port={port}",
            "--workers=1",
            "--loop=uvloop",
            "--no-access-log",
            "--log-level=warning",
            "apps:asgi_app",
        ],
        "granian-wsgi": lambda port, _: [
            f"{bin_}/granian",
            "--interface=wsgi",
            "--host=127.0.0.1",
            f"--port={port}",
            "--workers=1",
            "--no-access-log",
            "--log-level=warning",
            "apps:wsgi_app",
        ],
        "gunicorn": lambda port, _: [
            f"{bin_}/gunicorn",
            "--worker-class=gthread",
            "--workers=1",
            "--threads=8",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "--keep-alive=60",
            "apps:wsgi_app",
        ],
        "waitress": lambda port, _: [
            f"{bin_}/waitress-serve",
            f"--listen=127.0.0.1:{port}",
            "--threads=8",
            "apps:wsgi_app",
        ],
        "wirekit-asgi": lambda port, _: [
            PYTHON,
            "-m",
            "wirekit.cli",
            "serve",
            "apps:asgi_app",
            f"--interface={_wirekit_interface_flag('asgi')}",
            f"--port={port}",
            "--log-level=warning",
            "--idle-timeout=60",
        ],
        "wirekit-wsgi": lambda port, _: [
            PYTHON,
            "-m",
            "wirekit.cli",
            "serve",
            "apps:wsgi_app",
            "--interface=wsgi",
            "--threads=8",
            f"--port={port}",
            "--log-level=warning",
            "--idle-timeout=60",
        ],
        # The same two on the mypyc build (scripts/compile.py, `make compile`).
        "wirekit-asgi-mypyc": lambda port, scratch: _compiled(
            _server_commands()["wirekit-asgi"](port, scratch)
        ),
        "wirekit-wsgi-mypyc": lambda port, scratch: _compiled(
            _server_commands()["wirekit-wsgi"](port, scratch)
        ),
    }


def _compiled(argv: list[str]) -> list[str]:
    """``argv`` run with the compiled package first on the path (before the editable one)."""
    return ["env", f"PYTHONPATH={COMPILED_DIR}{os.pathsep}{BENCH_DIR}", *argv]


SERVER_NAMES = tuple(_server_commands())


def availability(name: str) -> str | None:
    """None when ``name`` can run here, else the reason it is reported "not available"."""
    argv = _server_commands()[name](0, Path(tempfile.gettempdir()))
    program = argv[0]
    if shutil.which(program) is None and not Path(program).exists():
        return f"{program} is not installed"
    if name.endswith("-mypyc") and not any(COMPILED_DIR.glob("wirekit/_proto/http1.*.so")):
        return f"no compiled build in {COMPILED_DIR} (run `make compile`)"
    if name.startswith("wirekit"):
        completed = subprocess.run(
            [PYTHON, "-m", "wirekit.cli", "serve", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if completed.returncode != 0:
            last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            return f"`python -m wirekit.cli serve` does not run yet: {last}"
    return None


_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, p50/p99 latency (ms) and error counts from ``wrk --latency`` output."""
    result: dict[str, Any] = {}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise ValueError(f"no Requests/sec in wrk output: {output[-300:]!r}")
    result["requests_per_s"] = float(rate.group(1))
    for label, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        found = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", output, re.MULTILINE)
        result[key] = _milliseconds(found.group(1)) if found else None
    total = re.search(r"(\d+) requests in", output)
    result["requests"] = int(total.group(1)) if total else None
    bad_status = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx"] = int(bad_status.group(1)) if bad_status else 0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = socket_errors.group(1).strip() if socket_errors else None
    return result


def run_wrk(port: int, path: str, *, connections: int, duration: int, core: int) -> dict[str, Any]:
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        f"http://127.0.0.1:{port}{path}",
    ]
    try:
        completed = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=duration + WRK_GRACE_S,
            preexec_fn=lambda: pin(core),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"wrk against port {port}{path} ran past {duration + WRK_GRACE_S:.0f} s"}
    try:
        return parse_wrk(completed.stdout)
    except ValueError as error:
        return {"error": f"wrk exited {completed.returncode}: {error}"}


def _check_payloads(port: int, payloads: Collection[str]) -> str | None:
    """None when the server sends each expected body; else what it sent instead."""
    for name in payloads:
        path, expected = PAYLOADS[name]
        status, body = http_get(port, path, timeout=5.0)
        if status != 200 or body != expected:
            return f"GET {path} answered {status} with {len(body)} bytes, expected 200 with {len(expected)}"
    return None


def idle_memory(server: ServerProcess, port: int, *, connections: int) -> dict[str, Any]:
    """Server RSS before and after ``connections`` idle keep-alive connections (one GET each)."""
    for _ in range(20):  # warm the server up so lazy imports and caches are in "before"
        http_get(port, "/")
    time.sleep(0.5)
    before = tree_rss_kib(server.pid)
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    opened: list[socket.socket] = []
    try:
        for _ in range(connections):
            connection = socket.create_connection(
                ("127.0.0.1", port), timeout=IDLE_CONNECT_TIMEOUT_S
            )
            opened.append(connection)
            connection.sendall(request)
        for connection in opened:
            received = b""
            # One hello answer is under 1 KiB; read until its body has arrived.
            while not received.endswith(HELLO_BODY):
                chunk = connection.recv(4096)
                if not chunk:
                    raise RuntimeError(f"{server.name} closed an idle connection before answering")
                received += chunk
        time.sleep(0.5)
        after = tree_rss_kib(server.pid)
    finally:
        for connection in opened:
            connection.close()
    return {
        "connections": connections,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_connection": (after - before) / connections,
    }


def run(
    plan: ServerPlan,
    *,
    servers: Collection[str] = SERVER_NAMES,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """wrk results keyed by server, payload, connections; then the idle-memory results."""
    server_core, client_core = cores()
    results: dict[str, Any] = {"plan": asdict(plan), "cores": [server_core, client_core]}
    runs: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    commands = _server_commands()
    for name in SERVER_NAMES:
        if name not in servers:
            continue
        reason = availability(name)
        if reason is not None:
            progress(f"server {name:<14} not available: {reason}")
            runs[name] = {"unavailable": reason}
            if name in plan.memory_servers:
                memory[name] = {"unavailable": reason}
            continue
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as scratch_name:
            scratch = Path(scratch_name)
            runs[name] = _load_one(
                name, commands[name], scratch, plan, server_core, client_core, progress
            )
        if name in plan.memory_servers:
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as scratch_name:
                scratch = Path(scratch_name)
                progress(f"server {name:<14} memory with {plan.idle_connections} idle connections")
                memory[name] = _memory_one(name, commands[name], scratch, plan, server_core)
    results["runs"] = runs
    results["memory"] = memory
    return results


def _load_one(
    name: str,
    command: ArgvBuilder,
    scratch: Path,
    plan: ServerPlan,
    server_core: int,
    client_core: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    port = free_port()
    server = ServerProcess(name, command(port, scratch), core=server_core, cwd=BENCH_DIR)
    log_path = scratch / "server.log"
    outcome: dict[str, Any] = {}
    try:
        with open(log_path, "wb") as log, running(server, port, log):
            problem = _check_payloads(port, plan.payloads)
            if problem is not None:
                return {"error": f"{name}: {problem}"}
            for payload in plan.payloads:
                path = PAYLOADS[payload][0]
                for connections in plan.connections:
                    attempts = []
                    for attempt in range(plan.runs):
                        progress(
                            f"server {name:<14} {payload:<5} c{connections:<3} run {attempt + 1}"
                        )
                        attempts.append(
                            run_wrk(
                                port,
                                path,
                                connections=connections,
                                duration=plan.duration_s,
                                core=client_core,
                            )
                        )
                    good = [one for one in attempts if "error" not in one]
                    best = max(good, key=lambda one: one["requests_per_s"]) if good else attempts[0]
                    outcome.setdefault(payload, {})[str(connections)] = {
                        **best,
                        "attempts": attempts,
                    }
    except (RuntimeError, OSError) as error:
        tail = (
            log_path.read_text(errors="replace").strip().splitlines()[-3:]
            if log_path.exists()
            else []
        )
        return {"error": f"{name}: {error}" + (f" (log: {' | '.join(tail)})" if tail else "")}
    return outcome


def _memory_one(
    name: str, command: ArgvBuilder, scratch: Path, plan: ServerPlan, server_core: int
) -> dict[str, Any]:
    port = free_port()
    server = ServerProcess(name, command(port, scratch), core=server_core, cwd=BENCH_DIR)
    try:
        with open(scratch / "server.log", "wb") as log, running(server, port, log):
            return idle_memory(server, port, connections=plan.idle_connections)
    except (RuntimeError, OSError) as error:
        return {"error": f"{name}: {error}"}


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(json.dumps(run(QUICK_PLAN if quick else FULL_PLAN), indent=2))
