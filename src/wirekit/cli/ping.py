"""``wirekit ping HOST:PORT``: repeated TCP connect checks with timing, like a TCP ping.

Each probe connects and closes; the summary gives min/avg/max connect times. The count is
bounded (:data:`MAX_COUNT`) so a typo cannot start an endless run.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from wirekit.cli._output import (
    EXIT_CONNECTION_REFUSED,
    EXIT_DNS_FAILURE,
    EXIT_NETWORK_ERROR,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    Output,
    add_common_options,
    non_negative_seconds,
)
from wirekit.net.addresses import InvalidAddress, parse_hostport
from wirekit.net.ports import DEFAULT_CHECK_TIMEOUT, PortCheck, check_port

__all__ = ["DEFAULT_COUNT", "DEFAULT_INTERVAL", "MAX_COUNT", "add_parser", "run"]

#: Probes sent when -c is not given.
DEFAULT_COUNT = 4
#: Most probes one run may send (-c is refused above it).
MAX_COUNT = 10_000
#: Seconds between probes.
DEFAULT_INTERVAL = 1.0

_PHASE_CODES = {
    "dns": EXIT_DNS_FAILURE,
    "refused": EXIT_CONNECTION_REFUSED,
    "timeout": EXIT_TIMEOUT,
    "unreachable": EXIT_NETWORK_ERROR,
}

_EPILOG = """\
examples:
  wirekit ping 127.0.0.1:8080
  wirekit ping [::1]:443 -c 10 --interval 0.2
  wirekit ping localhost:5432 -c 1 --timeout 1 --json
exit codes: 0 if any probe connected, else the code of the last failure
(6 DNS, 7 refused, 8 timeout, 10 unreachable).
"""


def _count(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"count must be from 1 to {MAX_COUNT} (MAX_COUNT)")
    return value


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ping",
        help="check that a TCP port accepts connections, with timing",
        description="Connect to HOST:PORT COUNT times and report each connect time.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="HOST:PORT", help="host and port ([v6]:port for IPv6)")
    parser.add_argument(
        "-c",
        "--count",
        type=_count,
        default=DEFAULT_COUNT,
        help=f"probes to send, 1 to {MAX_COUNT} (default {DEFAULT_COUNT})",
    )
    parser.add_argument(
        "--interval",
        type=non_negative_seconds,
        default=DEFAULT_INTERVAL,
        metavar="S",
        help=f"seconds between probes (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--timeout",
        type=non_negative_seconds,
        default=DEFAULT_CHECK_TIMEOUT,
        metavar="S",
        help=f"seconds each probe may take (default {DEFAULT_CHECK_TIMEOUT:g})",
    )
    add_common_options(parser)
    parser.set_defaults(handler=run)


def _host_port(host: str, port: int) -> str:
    """``127.0.0.1:80``, ``[::1]:80``: how the target is written on the command line."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms"


def _show(out: Output, sequence: int, port: int, result: PortCheck) -> None:
    if result.ok:
        out.line(
            f"seq={sequence + 1} connected to {_host_port(result.address or '', port)} in ",
            (_ms(result.connect_time), "green"),
        )
    else:
        out.line(f"seq={sequence + 1} ", (result.error or "failed", "red"))


def run(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    try:
        host, port = parse_hostport(args.target)
    except InvalidAddress as exc:
        return out.error(str(exc), code=EXIT_USAGE)
    if port is None:
        return out.error(f"missing port in {args.target!r} (use HOST:PORT)", code=EXIT_USAGE)
    results: list[PortCheck] = []
    for sequence in range(args.count):
        if sequence:
            time.sleep(args.interval)
        result = check_port(host, port, timeout=args.timeout)
        results.append(result)
        if not out.json_mode:
            _show(out, sequence, port, result)
        if result.phase == "dns":
            break  # the name will not resolve on the next try either
    times = [r.connect_time for r in results if r.ok and r.connect_time is not None]
    summary: dict[str, Any] = {
        "target": _host_port(host, port),
        "sent": len(results),
        "connected": len(times),
        "failed": len(results) - len(times),
        "min_ms": round(min(times) * 1000, 3) if times else None,
        "avg_ms": round(sum(times) / len(times) * 1000, 3) if times else None,
        "max_ms": round(max(times) * 1000, 3) if times else None,
    }
    if out.json_mode:
        out.json({**summary, "probes": results})
    else:
        out.line(
            f"--- {summary['target']}: {summary['sent']} probes, {summary['connected']} connected, "
            f"{summary['failed']} failed"
        )
        if times:
            out.line(
                f"connect min/avg/max = {_ms(min(times))} / {_ms(sum(times) / len(times))}"
                f" / {_ms(max(times))}"
            )
    if times:
        return EXIT_OK
    return _PHASE_CODES.get(results[-1].phase or "", EXIT_NETWORK_ERROR)
