"""Turns benchmark results into tables: Markdown for bench/README.md, rich for the terminal.

Each table is a list of rows of strings built once (``client_tables`` / ``server_tables``)
and rendered twice, so the README and the console always show the same numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Table = tuple[str, list[str], list[list[str]]]  # (title, header, rows)

NOT_AVAILABLE = "not available"

SYNC_ANCHORS = ("http.client", "urllib3")
ASYNC_ANCHOR = "aiohttp"


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(value: Any, anchor: Any) -> str:
    if not value or not anchor:
        return "-"
    return f"{value / anchor:.2f}x"


def _failure(result: Mapping[str, Any]) -> str | None:
    """The cell text of a result that has no numbers (not available or failed)."""
    if "unavailable" in result:
        return NOT_AVAILABLE
    if "error" in result:
        message = str(result["error"])
        return "failed: " + (message if len(message) <= 90 else message[:87] + "...")
    return None


def _row_or_failure(name: str, result: Mapping[str, Any], width: int) -> list[str] | None:
    failure = _failure(result)
    if failure is None:
        return None
    return [name, failure] + [""] * (width - 2)


def _cpu_against_anchors(name: str, cpu: Any, results: Mapping[str, Any]) -> str:
    is_async = name.removesuffix("-mypyc").endswith("-async") or name == "aiohttp"
    anchors = (ASYNC_ANCHOR,) if is_async else SYNC_ANCHORS
    parts = []
    for anchor in anchors:
        anchor_cpu = results.get(anchor, {}).get("cpu_us_per_request")
        if anchor != name and anchor_cpu:
            parts.append(f"{_ratio(cpu, anchor_cpu)} {anchor}")
    return ", ".join(parts) or "-"


def _request_table(
    title: str, results: Mapping[str, Any], *, rate_anchor: str | None = None
) -> Table:
    header = ["client", "req/s", "CPU µs/req", "CPU vs anchors", "p50 ms", "p99 ms", "peak RSS MiB"]
    if rate_anchor:
        header.insert(2, f"req/s vs {rate_anchor}")
    rows = []
    anchor_rate = results.get(rate_anchor, {}).get("requests_per_s") if rate_anchor else None
    for name, result in results.items():
        failed = _row_or_failure(name, result, len(header))
        if failed:
            rows.append(failed)
            continue
        cpu = result.get("cpu_us_per_request")
        row = [
            name,
            _number(result.get("requests_per_s")),
            _number(cpu, 1),
            _cpu_against_anchors(name, cpu, results),
            _number(result.get("p50_ms"), 3),
            _number(result.get("p99_ms"), 3),
            _number(result.get("peak_rss_mib"), 1),
        ]
        if rate_anchor:
            row.insert(2, _ratio(result.get("requests_per_s"), anchor_rate))
        rows.append(row)
    return title, header, rows


def client_tables(client: Mapping[str, Any]) -> list[Table]:
    plan = client.get("plan", {})
    tables: list[Table] = []
    if "sequential" in client:
        tables.append(
            _request_table(
                f"Sequential GETs on one keep-alive connection ({plan.get('sequential_requests')} requests, 13-byte body)",
                client["sequential"],
            )
        )
    if "threads" in client:
        tables.append(
            _request_table(
                f"{plan.get('threads')} threads sharing one client ({plan.get('threads_requests')} requests; http.client and pycurl: one connection per thread)",
                client["threads"],
                rate_anchor="urllib3",
            )
        )
    sweep = client.get("async", {})
    main_concurrency = str(plan.get("async_concurrency", 64))
    if main_concurrency in sweep:
        tables.append(
            _request_table(
                f"Async, {main_concurrency} concurrent requests ({plan.get('async_requests')} requests)",
                sweep[main_concurrency],
            )
        )
    if sweep:
        levels = sorted(sweep, key=int)
        header = ["client"] + [f"p99 ms @{level}" for level in levels]
        header += [f"req/s @{level}" for level in levels]
        names = list(dict.fromkeys(name for level in levels for name in sweep[level]))
        rows = []
        for name in names:
            results = [sweep[level].get(name, {"error": "not run"}) for level in levels]
            first_failure = next((_failure(result) for result in results if _failure(result)), None)
            if first_failure == NOT_AVAILABLE:
                rows.append([name, NOT_AVAILABLE] + [""] * (len(header) - 2))
                continue
            p99 = [_failure(result) or _number(result.get("p99_ms"), 2) for result in results]
            rate = [
                "" if _failure(result) else _number(result.get("requests_per_s"))
                for result in results
            ]
            rows.append([name, *p99, *rate])
        tables.append(("Async latency as concurrency grows (does p99 stay flat?)", header, rows))
    if "download" in client:
        header = ["client", "downloads/s", "MB/s", "CPU ms/download", "peak RSS MiB"]
        rows = []
        for name, result in client["download"].items():
            failed = _row_or_failure(name, result, len(header))
            if failed:
                rows.append(failed)
                continue
            per_second: float = result.get("requests_per_s") or 0.0
            cpu = result.get("cpu_us_per_request")
            rows.append(
                [
                    name,
                    _number(per_second, 1),
                    _number(per_second * 1.048576, 0),
                    _number(cpu / 1000 if cpu is not None else None, 2),
                    _number(result.get("peak_rss_mib"), 1),
                ]
            )
        tables.append(
            (
                f"1 MiB downloads ({plan.get('download_requests')} in a row, one connection)",
                header,
                rows,
            )
        )
    if "construct" in client:
        header = ["client", "median µs", "first (cold) µs", "constructions"]
        rows = []
        for name, result in client["construct"].items():
            failed = _row_or_failure(name, result, len(header))
            rows.append(
                failed
                or [
                    name,
                    _number(result.get("median_us"), 1),
                    _number(result.get("first_us"), 1),
                    _number(result.get("constructions")),
                ]
            )
        tables.append(("Client construction (Client(), Session(), PoolManager()...)", header, rows))
    if "import" in client:
        header = ["module", "import ms (best)", "all runs ms"]
        rows = []
        for name, result in client["import"].items():
            failed = _row_or_failure(name, result, len(header))
            rows.append(
                failed
                or [
                    name,
                    _number(result.get("best_ms"), 1),
                    ", ".join(f"{value:.1f}" for value in result.get("runs_ms", [])),
                ]
            )
        tables.append(("Import time in a fresh interpreter (best of the runs)", header, rows))
    tables.append(targets_table(client))
    return tables


def _get(client: Mapping[str, Any], *path: str) -> Any:
    found: Any = client
    for key in path:
        if not isinstance(found, Mapping) or key not in found:
            return None
        found = found[key]
    return found


def targets_table(client: Mapping[str, Any]) -> Table:
    """wirekit against the anchors, with the goal each comparison must meet."""
    concurrency = str(_get(client, "plan", "async_concurrency") or 64)

    def pair(
        case: str, anchor: str, key: str, *, sub: str | None = None, build: str = ""
    ) -> tuple[Any, Any, str | None]:
        base = [case, sub] if sub else [case]
        ours = _get(client, *base, ("wirekit-async" if case == "async" else "wirekit") + build)
        theirs = _get(client, *base, anchor)
        failure = _failure(ours) if isinstance(ours, Mapping) else "not run"
        return (
            _get(ours, key) if isinstance(ours, Mapping) else None,
            _get(theirs, key) if isinstance(theirs, Mapping) else None,
            failure,
        )

    rows = []
    specs = [
        (
            "sequential CPU/request <= 0.7x http.client",
            "sequential",
            "http.client",
            "cpu_us_per_request",
            None,
            0.7,
            "le",
        ),
        (
            "16 threads req/s >= 1.5x urllib3",
            "threads",
            "urllib3",
            "requests_per_s",
            None,
            1.5,
            "ge",
        ),
        (
            f"async {concurrency} CPU/request <= 0.8x aiohttp",
            "async",
            "aiohttp",
            "cpu_us_per_request",
            concurrency,
            0.8,
            "le",
        ),
    ]
    # The compiled build's rows (``-mypyc``) follow the pure package's when they were run.
    specs += [
        (f"{goal} (compiled)", case, anchor, key, sub, limit, direction)
        for goal, case, anchor, key, sub, limit, direction in specs
        if _get(client, *([case, sub] if sub else [case]), "wirekit-mypyc")
        or _get(client, *([case, sub] if sub else [case]), "wirekit-async-mypyc")
    ]
    for goal, case, anchor, key, sub, limit, direction in specs:
        build = "-mypyc" if goal.endswith("(compiled)") else ""
        ours, theirs, failure = pair(case, anchor, key, sub=sub, build=build)
        if failure or ours is None or not theirs:
            rows.append([goal, failure or "not run", _number(theirs, 1), "-", "-"])
            continue
        ratio = ours / theirs
        met = ratio <= limit if direction == "le" else ratio >= limit
        rows.append(
            [goal, _number(ours, 1), _number(theirs, 1), f"{ratio:.2f}x", "yes" if met else "NO"]
        )
    construct = _get(client, "construct", "wirekit")
    if isinstance(construct, Mapping) and _failure(construct) is None:
        median = construct.get("median_us") or 0.0
        rows.append(
            [
                "Client() < 1 ms",
                f"{median:,.1f} µs",
                "1,000 µs",
                "-",
                "yes" if median < 1000 else "NO",
            ]
        )
    else:
        rows.append(
            [
                "Client() < 1 ms",
                (_failure(construct) if isinstance(construct, Mapping) else None) or "not run",
                "1,000 µs",
                "-",
                "-",
            ]
        )
    ours_import = _get(client, "import", "wirekit")
    theirs_import = _get(client, "import", "requests", "best_ms")
    if isinstance(ours_import, Mapping) and _failure(ours_import) is None and theirs_import:
        ours_ms = ours_import["best_ms"]
        rows.append(
            [
                "import time <= requests'",
                f"{ours_ms:.1f} ms",
                f"{theirs_import:.1f} ms",
                f"{ours_ms / theirs_import:.2f}x",
                "yes" if ours_ms <= theirs_import else "NO",
            ]
        )
    else:
        failure = _failure(ours_import) if isinstance(ours_import, Mapping) else "not run"
        rows.append(
            ["import time <= requests'", failure or "not run", _number(theirs_import, 1), "-", "-"]
        )
    return (
        "Targets: wirekit against the anchors",
        ["goal", "wirekit", "anchor", "ratio", "met"],
        rows,
    )


def _wrk_problems(level: str, result: Mapping[str, Any]) -> list[str]:
    """Non-2xx answers and socket errors of the shown run: a fast server that errs is not fast."""
    problems = []
    if result.get("non_2xx"):
        problems.append(f"c{level}: {result['non_2xx']} non-2xx")
    socket_errors = result.get("socket_errors")
    if socket_errors:
        problems.append(f"c{level}: socket errors {socket_errors}")
    return problems


def server_tables(server: Mapping[str, Any]) -> list[Table]:
    plan = server.get("plan", {})
    runs: Mapping[str, Any] = server.get("runs", {})
    tables: list[Table] = []
    connections = [str(value) for value in plan.get("connections", [64, 1])]
    for payload in plan.get("payloads", ["hello", "json"]):
        header = ["server"]
        for level in connections:
            header += [f"req/s c{level}", f"p50 ms c{level}", f"p99 ms c{level}"]
        header += [f"% of nginx c{connections[0]}", "wrk errors"]
        ceiling = _get(runs, "nginx", payload, connections[0], "requests_per_s")
        rows = []
        for name, result in runs.items():
            failed = _row_or_failure(name, result, len(header))
            if failed:
                rows.append(failed)
                continue
            row = [name]
            problems: list[str] = []
            for level in connections:
                one = _get(result, payload, level) or {"error": "not run"}
                problems += _wrk_problems(level, one)
                failure = _failure(one)
                if failure:
                    row += [failure, "", ""]
                    continue
                row += [
                    _number(one.get("requests_per_s")),
                    _number(one.get("p50_ms"), 2),
                    _number(one.get("p99_ms"), 2),
                ]
            rate = _get(result, payload, connections[0], "requests_per_s")
            row.append(f"{rate / ceiling * 100:.0f}%" if rate and ceiling else "-")
            row.append("; ".join(problems) or "none")
            rows.append(row)
        what = "13-byte text/plain" if payload == "hello" else "1 KiB JSON, encoded per request"
        title = (
            f"wrk -t1 -d{plan.get('duration_s')}s --latency, {what} "
            f"(best of {plan.get('runs')} runs; one worker, server and wrk on their own cores)"
        )
        tables.append((title, header, rows))
    memory = server.get("memory", {})
    if memory:
        header = [
            "server",
            "idle connections",
            "RSS before KiB",
            "RSS after KiB",
            "KiB per connection",
        ]
        rows = []
        for name, result in memory.items():
            failed = _row_or_failure(name, result, len(header))
            rows.append(
                failed
                or [
                    name,
                    _number(result.get("connections")),
                    _number(result.get("rss_before_kib")),
                    _number(result.get("rss_after_kib")),
                    _number(result.get("kib_per_connection"), 2),
                ]
            )
        tables.append(("Server memory per idle keep-alive connection", header, rows))
    return tables


def machine_lines(results: Mapping[str, Any]) -> list[str]:
    machine = results.get("machine", {})
    packages = ", ".join(
        f"{name} {version}" for name, version in machine.get("packages", {}).items() if version
    )
    tools = ", ".join(value for value in machine.get("tools", {}).values() if value)
    partial = results.get("last_partial_run")
    partial_lines = (
        [
            f"- Rows of {', '.join(partial.get('only', []))} rerun at {partial.get('finished')}"
            f" (1-minute load average before: {partial.get('machine', {}).get('load_average_1m', '?')})"
        ]
        if partial
        else []
    )
    return [
        f"- Run: {results.get('finished', '?')} ({'quick smoke run' if results.get('quick') else 'full run'}"
        f", {results.get('duration_s', '?')} s; 1-minute load average before it: "
        f"{machine.get('load_average_1m', '?')})",
        f"- CPU: {machine.get('cpu_model', '?')}, {machine.get('cpu_count', '?')} cores; Linux {machine.get('kernel', '?')}",
        f"- Python: {machine.get('python_implementation', '')} {machine.get('python', '?')}",
        f"- Libraries: {packages}",
        f"- Tools: {tools}",
        *partial_lines,
    ]


def markdown(tables: list[Table]) -> str:
    blocks = []
    for title, header, rows in tables:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|")
        lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def replace_between_markers(text: str, name: str, content: str) -> str:
    """Replace what sits between ``<!-- results:name -->`` and ``<!-- /results:name -->``."""
    start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    block = f"{start}\n{content}\n{end}"
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def update_readme(path: Path, results: Mapping[str, Any]) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    text = replace_between_markers(text, "machine", "\n".join(machine_lines(results)))
    if "client" in results:
        text = replace_between_markers(text, "client", markdown(client_tables(results["client"])))
    if "server" in results:
        text = replace_between_markers(text, "server", markdown(server_tables(results["server"])))
    path.write_text(text)


def print_tables(tables: list[Table]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table as RichTable
    except ImportError:  # rich is a wirekit dependency, but keep the harness usable without
        print(markdown(tables))
        return
    console = Console()
    if not console.is_terminal:
        # Piped to a file or a CI log: do not squeeze the tables into 80 columns.
        console = Console(width=160)
    for title, header, rows in tables:
        table = RichTable(title=title, title_justify="left")
        for index, column in enumerate(header):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
