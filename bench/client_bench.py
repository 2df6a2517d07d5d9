"""Client benchmark: every HTTP client against the same bare responder on loopback.

Starts ``responder.py`` once, pinned to the server core, then runs each (client, case) in its
own child process (``client_cases.py``) pinned to the client core, and times imports in fresh
interpreters. Returns plain dicts; ``report.py`` turns them into tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from typing import Any

from _harness import (
    BENCH_DIR,
    COMPILED_DIR,
    PYTHON,
    ServerProcess,
    child_environment,
    cores,
    free_port,
    running,
)
from client_cases import ASYNC_CLIENTS, CASES, COMPILED_CLIENTS, SYNC_CLIENTS

ALL_CLIENTS = SYNC_CLIENTS + ASYNC_CLIENTS

#: Module imported by the import-time case for each library (async twins share a module).
IMPORTED_MODULES = {
    "http.client": "http.client",
    "urllib3": "urllib3",
    "requests": "requests",
    "httpx": "httpx",
    "aiohttp": "aiohttp",
    "pycurl": "pycurl",
    "wirekit": "wirekit",
}

#: Seconds a child may run past its own budget (interpreter start, imports, warm-up) before
#: it is killed and reported as timed out.
CHILD_GRACE_S = 60.0


@dataclass(frozen=True)
class ClientPlan:
    """How much work each case does; every loop also stops at ``budget_s`` seconds."""

    sequential_requests: int = 5_000
    threads: int = 16
    threads_requests: int = 8_000
    async_requests: int = 10_000
    async_concurrency: int = 64
    sweep_concurrencies: tuple[int, ...] = (8, 64, 256)
    download_requests: int = 300
    constructions: int = 300
    import_rounds: int = 5
    #: Rounds of the CPU-per-request cases (sequential, async at ``async_concurrency``),
    #: interleaved over the clients; each client keeps its lowest CPU per request. One
    #: round let the anchors move by 30% between runs (http.client: 92 to 125 µs); with
    #: three, aiohttp's best still ranged 103-118 µs over three runs of one hour.
    cpu_rounds: int = 5
    budget_s: float = 10.0


FULL_PLAN = ClientPlan()
QUICK_PLAN = ClientPlan(
    sequential_requests=300,
    threads_requests=320,
    async_requests=640,
    sweep_concurrencies=(64,),
    download_requests=20,
    constructions=10,
    import_rounds=1,
    cpu_rounds=1,
    budget_s=2.0,
)


def _child_environment(client: str) -> dict[str, str]:
    environment = child_environment()
    if client in COMPILED_CLIENTS:
        # The compiled copy goes before the editable install, as for the -mypyc servers.
        environment["PYTHONPATH"] = os.pathsep.join([str(COMPILED_DIR), environment["PYTHONPATH"]])
    return environment


def _run_child(
    client: str, case: str, port: int, *, count: int, concurrency: int, budget: float, core: int
) -> dict[str, Any]:
    argv = [
        PYTHON,
        str(BENCH_DIR / "client_cases.py"),
        f"--client={client}",
        f"--case={case}",
        f"--port={port}",
        f"--count={count}",
        f"--concurrency={concurrency}",
        f"--budget={budget}",
        f"--core={core}",
    ]
    try:
        completed = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=budget + CHILD_GRACE_S,
            env=_child_environment(client),
            cwd=BENCH_DIR,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"{client} {case}: child timed out after {budget + CHILD_GRACE_S:.0f} s"}
    lines = completed.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        stderr_lines = completed.stderr.strip().splitlines() or ["no output"]
        return {
            "error": f"{client} {case}: child exited {completed.returncode}: {stderr_lines[-1]}"
        }
    return result


def import_time_ms(module: str, *, rounds: int, core: int) -> dict[str, Any]:
    """Best and all wall times (ms) of ``import module`` in a fresh interpreter, with the
    bytecode of every module cached (as after ``pip install``)."""
    code = (
        "import os, time\n"
        f"os.sched_setaffinity(0, {{{core}}})\n"
        "started = time.perf_counter()\n"
        f"import {module}\n"
        "print((time.perf_counter() - started) * 1e3)\n"
    )
    # Imports are timed as an installed package is used: with its bytecode cached. pip
    # compiles site-packages at install time, but an editable install (wirekit's, here)
    # only gets its __pycache__ on first import, and never while PYTHONDONTWRITEBYTECODE is
    # set; without this, wirekit alone would pay for compiling its source on every run.
    # So the variable is dropped and one untimed warm-up run writes any missing bytecode.
    environment = child_environment(bench_on_path=False)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    runs: list[float] = []
    for round_number in range(rounds + 1):
        try:
            completed = subprocess.run(
                [PYTHON, "-c", code],
                capture_output=True,
                text=True,
                timeout=60,
                env=environment,
                cwd=tempfile.gettempdir(),  # not bench/: its modules must not shadow packages
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"import {module} took over 60 s"}
        if completed.returncode != 0:
            last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            return {"unavailable": f"cannot import {module}: {last}"}
        if round_number:  # round 0 is the warm-up
            runs.append(float(completed.stdout.strip()))
    return {"best_ms": min(runs), "runs_ms": runs}


def run(
    plan: ClientPlan,
    *,
    clients: Collection[str] = ALL_CLIENTS,
    cases: Collection[str] = (*CASES, "import"),
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the selected cases for the selected clients; results keyed by case then client."""
    server_core, client_core = cores()
    results: dict[str, Any] = {"plan": asdict(plan), "cores": [server_core, client_core]}
    port = free_port()
    responder = ServerProcess(
        "responder",
        [PYTHON, str(BENCH_DIR / "responder.py"), f"--port={port}", f"--core={server_core}"],
        core=server_core,
        cwd=BENCH_DIR,
    )
    with tempfile.TemporaryFile() as log, running(responder, port, log):

        def child(client: str, case: str, count: int, concurrency: int = 1) -> dict[str, Any]:
            progress(f"client {case:<10} {client:<14} x{concurrency}")
            return _run_child(
                client,
                case,
                port,
                count=count,
                concurrency=concurrency,
                budget=plan.budget_s,
                core=client_core,
            )

        selected = [name for name in ALL_CLIENTS if name in clients]

        def best_of_rounds(
            names: list[str], case: str, count: int, concurrency: int = 1
        ) -> dict[str, dict[str, Any]]:
            """Each client's run with the lowest CPU per request, rounds interleaved."""
            best: dict[str, dict[str, Any]] = {}
            for _ in range(plan.cpu_rounds):
                for name in names:
                    result = child(name, case, count, concurrency)
                    cpu = result.get("cpu_us_per_request")
                    kept = best.get(name)
                    kept_cpu = None if kept is None else kept.get("cpu_us_per_request")
                    if kept is None or (cpu is not None and (kept_cpu is None or cpu < kept_cpu)):
                        best[name] = result
            return best

        if "sequential" in cases:
            results["sequential"] = best_of_rounds(selected, "sequential", plan.sequential_requests)
        if "threads" in cases:
            results["threads"] = {
                name: child(name, "threads", plan.threads_requests, plan.threads)
                for name in selected
                if name in SYNC_CLIENTS
            }
        if "async" in cases:
            sweep: dict[str, dict[str, Any]] = {}
            async_clients = [name for name in selected if name in ASYNC_CLIENTS]
            for concurrency in sorted({plan.async_concurrency, *plan.sweep_concurrencies}):
                if concurrency == plan.async_concurrency:
                    sweep[str(concurrency)] = best_of_rounds(
                        async_clients, "async", plan.async_requests, concurrency
                    )
                else:
                    sweep[str(concurrency)] = {
                        name: child(name, "async", plan.async_requests, concurrency)
                        for name in async_clients
                    }
            results["async"] = sweep
        if "download" in cases:
            results["download"] = {
                name: child(name, "download", plan.download_requests) for name in selected
            }
        if "construct" in cases:
            results["construct"] = {
                name: child(name, "construct", plan.constructions) for name in selected
            }
    if "import" in cases:
        modules = {IMPORTED_MODULES[name] for name in clients if name in IMPORTED_MODULES}
        results["import"] = {}
        for name, module in IMPORTED_MODULES.items():
            if module in modules:
                progress(f"client import     {module}")
                results["import"][name] = import_time_ms(
                    module, rounds=plan.import_rounds, core=client_core
                )
    return results


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(json.dumps(run(QUICK_PLAN if quick else FULL_PLAN), indent=2))
