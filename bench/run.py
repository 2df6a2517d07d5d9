"""``make bench``: run the client and server benchmarks, print tables, save the results.

Writes bench/results/latest.json and rewrites the tables in bench/README.md between the
``<!-- results:... -->`` markers. ``--quick`` is a ~1 minute smoke run of the harness
(results/quick.json, README untouched);
``--only NAME`` (repeatable) keeps one section (client, server), case, client or server.
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import sys
import time
from typing import Any

import client_bench
import report
import server_bench
from _harness import BENCH_DIR, machine_description
from client_cases import CASES

RESULTS_PATH = BENCH_DIR / "results" / "latest.json"
#: Smoke runs go here and never touch the README: their numbers are not worth showing.
QUICK_RESULTS_PATH = BENCH_DIR / "results" / "quick.json"
README_PATH = BENCH_DIR / "README.md"

#: Open-file limit raised for this run (children inherit it): the idle-memory case holds
#: 1,000 connections in this process and as many in the server.
OPEN_FILES_WANTED = 8_192

CLIENT_CASES = (*CASES, "import")


def _choices() -> dict[str, set[str]]:
    return {
        "sections": {"client", "server"},
        "client_cases": set(CLIENT_CASES),
        "clients": set(client_bench.ALL_CLIENTS),
        "servers": set(server_bench.SERVER_NAMES),
    }


def _selection(only: list[str]) -> dict[str, Any]:
    """Which sections, cases, clients and servers ``--only`` keeps (all when it is empty)."""
    choices = _choices()
    known = set().union(*choices.values())
    expanded = set(only)
    # "wirekit" names the client, its async twin, both servers, and their compiled builds.
    if "wirekit" in expanded:
        expanded |= {"wirekit-async", "wirekit-asgi", "wirekit-wsgi"}
        expanded |= {"wirekit-mypyc", "wirekit-async-mypyc"}
        expanded |= {"wirekit-asgi-mypyc", "wirekit-wsgi-mypyc"}
    unknown = expanded - known - {"wirekit"}
    if unknown:
        raise SystemExit(f"--only: unknown name(s) {sorted(unknown)}; choose from {sorted(known)}")
    cases = expanded & choices["client_cases"]
    clients = expanded & choices["clients"]
    servers = expanded & choices["servers"]
    run_client = not only or "client" in expanded or bool(cases or clients)
    run_server = not only or "server" in expanded or bool(servers)
    return {
        "client": run_client,
        "server": run_server,
        "client_cases": cases or set(CLIENT_CASES),
        "clients": clients or set(client_bench.ALL_CLIENTS),
        "servers": servers or set(server_bench.SERVER_NAMES),
    }


def _merge(old: Any, new: Any) -> Any:
    """Deep-merge ``new`` into ``old`` so a partial run keeps the other rows of the tables."""
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = _merge(old.get(key), value)
        return merged
    return new


def _raise_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~1 minute smoke run of the harness")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="keep only this section (client, server), case, client or server; repeatable",
    )
    parser.add_argument(
        "--no-readme", action="store_true", help="do not rewrite the tables in bench/README.md"
    )
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="only re-render bench/README.md from results/latest.json",
    )
    args = parser.parse_args(argv)
    if args.readme_only:
        report.update_readme(README_PATH, json.loads(RESULTS_PATH.read_text()))
        return 0
    selection = _selection(args.only)
    _raise_open_file_limit()
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {"machine": machine_description(), "quick": args.quick}
    if selection["client"]:
        plan = client_bench.QUICK_PLAN if args.quick else client_bench.FULL_PLAN
        results["client"] = client_bench.run(
            plan,
            clients=selection["clients"],
            cases=selection["client_cases"],
            progress=progress,
        )
        report.print_tables(report.client_tables(results["client"]))
    if selection["server"]:
        server_plan = server_bench.QUICK_PLAN if args.quick else server_bench.FULL_PLAN
        results["server"] = server_bench.run(
            server_plan, servers=selection["servers"], progress=progress
        )
        report.print_tables(report.server_tables(results["server"]))
    stamp = {
        "finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": round(time.monotonic() - started, 1),
    }
    path = QUICK_RESULTS_PATH if args.quick else RESULTS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    if args.only and path.exists():
        # A partial run refreshes its own rows and keeps the rest (and the date) of the last
        # results; the README names it apart so nobody takes it for a whole run.
        previous = json.loads(path.read_text())
        machine = results.pop("machine")
        results = _merge(previous, results)
        results["last_partial_run"] = {**stamp, "only": args.only, "machine": machine}
    else:
        results.update(stamp)
    path.write_text(json.dumps(results, indent=2) + "\n")
    if not (args.quick or args.no_readme):
        report.update_readme(README_PATH, results)
    progress(f"done; results in {path.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
