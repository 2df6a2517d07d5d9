"""How close ``wirekit bench`` gets to wrk: both load the same bare responder on loopback.

    .venv/bin/python bench/cli_vs_wrk.py            # writes the table into bench/README.md

The responder runs pinned to one core; wrk and ``wirekit bench`` take turns on the other,
each for a fixed time at 10 and 64 connections. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile

from _harness import BENCH_DIR, PYTHON, ServerProcess, cores, free_port, pin, running
from report import replace_between_markers

DURATION_SECONDS = 5
CONCURRENCY = (10, 64)
WIREKIT_MAX_REQUESTS = 2_000_000  # the duration stops the run long before this


def _wrk(url: str, connections: int, core: int) -> float:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{DURATION_SECONDS}s", url],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: pin(core),
        timeout=DURATION_SECONDS + 30,
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if match is None:
        raise RuntimeError(f"could not read wrk's output:\n{done.stdout}")
    return float(match.group(1))


def _wirekit(url: str, connections: int, core: int) -> tuple[float, float]:
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "wirekit.cli",
            "bench",
            url,
            "-n",
            str(WIREKIT_MAX_REQUESTS),
            "-c",
            str(connections),
            "-d",
            str(DURATION_SECONDS),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: pin(core),
        timeout=DURATION_SECONDS + 60,
    )
    report = json.loads(done.stdout)
    return float(report["requests_per_second"]), float(report["latency_ms"]["p99"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-readme", action="store_true", help="print only")
    args = parser.parse_args()
    server_core, client_core = cores()
    port = free_port()
    responder = ServerProcess(
        "responder",
        [PYTHON, str(BENCH_DIR / "responder.py"), f"--port={port}", f"--core={server_core}"],
        core=server_core,
        cwd=BENCH_DIR,
    )
    url = f"http://127.0.0.1:{port}/"
    rows = [
        "| connections | wrk req/s | wirekit bench req/s | wirekit / wrk | wirekit p99 ms |",
        "|--:|--:|--:|--:|--:|",
    ]
    with tempfile.TemporaryFile() as log, running(responder, port, log):
        for connections in CONCURRENCY:
            wrk = _wrk(url, connections, client_core)
            ours, p99 = _wirekit(url, connections, client_core)
            rows.append(
                f"| {connections} | {wrk:,.0f} | {ours:,.0f} | {ours / wrk:.2f}x | {p99:.2f} |"
            )
    table = "\n".join(rows)
    print(table)
    if not args.no_readme:
        readme = BENCH_DIR / "README.md"
        readme.write_text(replace_between_markers(readme.read_text(), "cli", table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
