"""``wirekit bench URL -n N -c C [-d S]``: an ab/wrk-style HTTP load generator.

C workers share one :class:`~wirekit.AsyncClient` (a pool sized for C connections) and send
N requests in all, or until -d seconds pass; every run is bounded in count and time. Only
loopback targets unless ``--allow-remote``: a load test aimed at someone else is an attack.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import math
import socket
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

from wirekit._models.url import URL
from wirekit.cli._items import ItemError, check_header
from wirekit.cli._output import (
    EXIT_CONNECTION_REFUSED,
    EXIT_DNS_FAILURE,
    EXIT_OK,
    EXIT_REMOTE_TARGET,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    Output,
    add_common_options,
    exit_code_for,
)
from wirekit.client._async.client import AsyncClient
from wirekit.client.config import Limits, Timeout
from wirekit.errors import InvalidURL, ReadError, WirekitError, WriteError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_REQUESTS",
    "DEFAULT_TIMEOUT",
    "EXIT_REMOTE_TARGET",
    "HISTOGRAM_BUCKETS",
    "MAX_CONCURRENCY",
    "MAX_DURATION",
    "MAX_REQUESTS",
    "BenchResult",
    "add_parser",
    "loopback_check",
    "run",
]

#: Requests sent when neither -n nor -d is given.
DEFAULT_REQUESTS = 1000
#: Most requests one run may send (-n is refused above it; -d alone stops here too).
MAX_REQUESTS = 10_000_000
#: Concurrent workers (and pooled connections) when -c is not given.
DEFAULT_CONCURRENCY = 10
#: Most concurrent workers (each holds one connection: file descriptors are finite).
MAX_CONCURRENCY = 1000
#: Hard cap on a run's length in seconds, whatever -n and -d say.
MAX_DURATION = 300.0
#: Total deadline of each request, in seconds (--timeout).
DEFAULT_TIMEOUT = 30.0
#: Rows of the latency histogram.
HISTOGRAM_BUCKETS = 10
# Error kinds always present in the report (others appear by exception name when seen).
_ERROR_KINDS = ("timeout", "refused", "reset")
_LATENCY_KEYS = ("min", "p50", "p90", "p99", "max", "mean")
#: Exit code when the target is not on this machine and --allow-remote was not given.

_EPILOG = f"""\
examples:
  wirekit bench http://127.0.0.1:8000/ -n 10000 -c 50
  wirekit bench http://127.0.0.1:8000/api -d 10 -c 20 --json
  wirekit bench http://[::1]:8000/upload -m POST --data '{{"a": 1}}' -H Content-Type:application/json

Bounded always: at most {MAX_REQUESTS:,} requests, {MAX_CONCURRENCY} workers and
{MAX_DURATION:g} s. Loopback targets only unless --allow-remote (exit {EXIT_REMOTE_TARGET} otherwise).
exit codes: 0 when at least one request got an answer (errors are counted in the report),
else the code of the first failure (7 refused, 8 timeout, 10 network error...).
"""


def _bounded_int(low: int, high: int, knob: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high:,} ({knob})")
        return value

    return parse


def _duration(text: str) -> float:
    value = float(text)
    if not 0 < value <= MAX_DURATION:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_DURATION:g} seconds (MAX_DURATION)"
        )
    return value


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"header {text!r} must look like Name:Value")
    name, value = name.strip(), value.strip()
    try:
        check_header(name, value, text)  # what `wirekit get` refuses, bench refuses too
    except ItemError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name, value


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="load-test an HTTP server on this machine (requests/s, latency percentiles)",
        description="Send N requests to URL from C concurrent workers and report the speed.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", metavar="URL", help="http:// or https:// URL")
    parser.add_argument(
        "-n",
        "--requests",
        type=_bounded_int(1, MAX_REQUESTS, "MAX_REQUESTS"),
        metavar="N",
        help=f"requests in all (default {DEFAULT_REQUESTS}, or no count limit with -d)",
    )
    parser.add_argument(
        "-c",
        "--concurrency",
        type=_bounded_int(1, MAX_CONCURRENCY, "MAX_CONCURRENCY"),
        default=DEFAULT_CONCURRENCY,
        metavar="C",
        help=f"concurrent workers and connections (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "-d",
        "--duration",
        type=_duration,
        metavar="S",
        help=f"stop after S seconds (at most {MAX_DURATION:g})",
    )
    parser.add_argument("-m", "--method", default="GET", help="HTTP method (default GET)")
    parser.add_argument(
        "-H", "--header", type=_header, action="append", default=[], metavar="NAME:VALUE"
    )
    parser.add_argument("--data", metavar="TEXT", help="request body (UTF-8 text)")
    parser.add_argument(
        "--timeout",
        type=_duration,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"deadline of each request (default {DEFAULT_TIMEOUT:g} s)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a target that is not this machine (only load-test what you own)",
    )
    add_common_options(parser)
    parser.set_defaults(handler=run)


# -- the target check --------------------------------------------------------------------
def loopback_check(url: URL) -> str | None:
    """None when every address of the URL's host is loopback, else why it is not.

    Every address must be loopback: a name that resolves to 127.0.0.1 and a public address
    could reach the public one. Raises OSError when the name does not resolve.
    """
    host = url.host.strip("[]")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        infos = socket.getaddrinfo(host, url.effective_port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    remote = sorted({str(a) for a in addresses if not a.is_loopback})
    if not remote:
        return None
    if remote == [host]:
        return f"{url.host} is not a loopback address of this machine"
    return f"{url.host} resolves to {', '.join(remote)}, not a loopback address"


# -- the run -----------------------------------------------------------------------------
@dataclass
class BenchResult:
    """What a run measured. Latencies in seconds, one per answered request."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    first_error: tuple[int, str] | None = None
    bytes_received: int = 0
    duration: float = 0.0
    stopped_by: str = "count"

    @property
    def sent(self) -> int:
        return len(self.latencies) + sum(self.errors.values())


def _error_kind(exc: WirekitError) -> str:
    code, _ = exit_code_for(exc)
    if code == EXIT_TIMEOUT:
        return "timeout"
    if code == EXIT_CONNECTION_REFUSED:
        return "refused"
    if code == EXIT_DNS_FAILURE:
        return "dns"
    if isinstance(exc, (ReadError, WriteError)):
        return "reset"
    return type(exc).__name__


def _head_size(response: Any) -> int:
    # Status line and header lines as received, approximately (CRLFs included).
    size = len(response.http_version) + len(response.reason) + 7
    for name, value in response.headers.multi_items():
        size += len(name) + len(value) + 4
    return size + 2


async def _bench(args: argparse.Namespace, total: int, result: BenchResult) -> None:
    concurrency = min(args.concurrency, total)
    limits = Limits(
        max_connections=concurrency,
        max_idle_connections=concurrency,
        keepalive_expiry=MAX_DURATION,
    )
    headers = list(args.header)
    content = args.data.encode() if args.data is not None else None
    issued = 0
    started = time.perf_counter()
    stop_at = started + (args.duration if args.duration is not None else MAX_DURATION)
    async with AsyncClient(
        limits=limits,
        timeout=Timeout(args.timeout),
        retry=0,  # a retry would hide failures and count one request twice
        follow_redirects=False,
        trust_env=False,  # measure the server, not a proxy from the environment
    ) as client:

        async def worker() -> None:
            nonlocal issued
            while issued < total and time.perf_counter() < stop_at:
                issued += 1
                begin = time.perf_counter()
                try:
                    response = await client.request(
                        args.method, args.url, headers=headers, content=content
                    )
                except WirekitError as exc:
                    result.errors[_error_kind(exc)] += 1
                    if result.first_error is None:
                        result.first_error = exit_code_for(exc)
                    continue
                result.latencies.append(time.perf_counter() - begin)
                result.statuses[response.status_code] += 1
                result.bytes_received += len(response.content) + _head_size(response)

        workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        failed: list[BaseException] = []
        try:
            # The hard cap: a stuck request cannot outlive the run by more than its timeout.
            # asyncio.wait, not wait_for(gather()): cancelled by Ctrl-C, a gather leaves a
            # future whose exception nobody retrieves ("never retrieved" and a traceback).
            done, pending = await asyncio.wait(
                workers,
                timeout=(stop_at - started) + args.timeout + 1.0,
                return_when=asyncio.FIRST_EXCEPTION,
            )
            failed = [
                error
                for task in done
                if not task.cancelled() and (error := task.exception()) is not None
            ]
            if pending and not failed:
                result.stopped_by = "hard cap"
        finally:
            # Also on Ctrl-C (the run is cancelled): stop every worker and wait for it, so
            # none is left running, or failed with nobody to see it, when the loop closes.
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if failed:
            raise failed[0]  # not a network error (those are counted): a real failure
        result.duration = time.perf_counter() - started
        if issued < total and result.stopped_by == "count":
            result.stopped_by = "duration"


def _run_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop when it is installed (DESIGN.md invariant 9), else asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        asyncio.run(coroutine)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coroutine)


# -- the report --------------------------------------------------------------------------
def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values (the value at or above that rank)."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _document(args: argparse.Namespace, result: BenchResult) -> dict[str, Any]:
    ordered = sorted(result.latencies)
    duration = result.duration or 1e-9
    errors: dict[str, int] = dict.fromkeys(_ERROR_KINDS, 0)
    errors.update(result.errors)
    errors["http_4xx"] = sum(n for s, n in result.statuses.items() if 400 <= s < 500)
    errors["http_5xx"] = sum(n for s, n in result.statuses.items() if s >= 500)
    latency: dict[str, float | None] = dict.fromkeys(_LATENCY_KEYS)
    if ordered:
        latency = {
            "min": ordered[0],
            "p50": _percentile(ordered, 0.50),
            "p90": _percentile(ordered, 0.90),
            "p99": _percentile(ordered, 0.99),
            "max": ordered[-1],
            "mean": sum(ordered) / len(ordered),
        }
    return {
        "url": args.url,
        "method": args.method.upper(),
        "concurrency": args.concurrency,
        "requests": result.sent,
        "answered": len(ordered),
        "failed": sum(result.errors.values()),
        "stopped_by": result.stopped_by,
        "duration_s": round(result.duration, 6),
        "requests_per_second": round(result.sent / duration, 2),
        "bytes_received": result.bytes_received,
        "transfer_bytes_per_second": round(result.bytes_received / duration, 1),
        "latency_ms": {k: None if v is None else round(v * 1000, 3) for k, v in latency.items()},
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "errors": errors,
    }


def _histogram(out: Output, ordered: list[float]) -> None:
    low, high = ordered[0], ordered[-1]
    step = (high - low) / HISTOGRAM_BUCKETS or 1e-9
    counts = [0] * HISTOGRAM_BUCKETS
    for value in ordered:
        counts[min(HISTOGRAM_BUCKETS - 1, int((value - low) / step))] += 1
    peak = max(counts)
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("latency ms", justify="right")
    table.add_column("count", justify="right")
    table.add_column("", no_wrap=True)
    for index, count in enumerate(counts):
        edge = (low + step * (index + 1)) * 1000
        bar = Text("█" * max(1 if count else 0, round(count / peak * 40)), style="cyan")
        table.add_row(f"<= {edge:.2f}", str(count), bar)
    out.print(table)


def _print_report(out: Output, document: dict[str, Any], result: BenchResult) -> None:
    latency = document["latency_ms"]
    out.line(
        (f"{document['requests']} requests", "bold"),
        f" in {document['duration_s']:.2f} s, {document['concurrency']} workers"
        f" (stopped by {document['stopped_by']})",
    )
    out.line("requests/s: ", (f"{document['requests_per_second']:.2f}", "bold green"))
    rate = document["transfer_bytes_per_second"]
    out.line(f"transfer:   {rate / 1024:.1f} KiB/s ({document['bytes_received']} bytes)")
    if latency["p50"] is not None:
        out.line(
            "latency ms: "
            + "  ".join(f"{key} {latency[key]:.2f}" for key in ("p50", "p90", "p99", "max"))
        )
        _histogram(out, sorted(result.latencies))
    statuses = ", ".join(f"{code}: {count}" for code, count in document["statuses"].items())
    out.line(f"statuses:   {statuses or 'none'}")
    errors = {kind: count for kind, count in document["errors"].items() if count}
    if errors:
        out.line(
            ("errors:     ", "bold red"),
            ", ".join(f"{kind}: {count}" for kind, count in sorted(errors.items())),
        )
    else:
        out.line("errors:     none")


def run(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    try:
        url = URL(args.url)
    except InvalidURL as exc:
        return out.error(str(exc), code=EXIT_USAGE)
    if url.scheme not in ("http", "https") or not url.host:
        return out.error(f"{args.url!r} is not an http:// or https:// URL", code=EXIT_USAGE)
    if not args.allow_remote:
        try:
            reason = loopback_check(url)
        except OSError as exc:
            return out.error(f"cannot resolve {url.host}: {exc}", code=EXIT_DNS_FAILURE)
        if reason is not None:
            return out.error(
                f"refusing to load-test {reason}; pass --allow-remote for a server you own",
                code=EXIT_REMOTE_TARGET,
            )
    if args.requests is not None:
        total = args.requests
    else:
        total = MAX_REQUESTS if args.duration is not None else DEFAULT_REQUESTS
    result = BenchResult()
    _run_loop(_bench(args, total, result))
    document = _document(args, result)
    if out.json_mode:
        out.json(document)
    else:
        _print_report(out, document, result)
    if not result.latencies and result.first_error is not None:
        code, message = result.first_error
        if not out.json_mode:
            out.error(f"no request got an answer: {message}", code=code)
        return code
    return EXIT_OK
