"""``wirekit dns``: resolve a name with the system resolver, or query DNS records.

Without a record type or server it prints what getaddrinfo gives (as any program would
connect); with either it asks DNS directly and prints records with their TTLs.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from wirekit.cli._output import (
    EXIT_FAILURE,
    EXIT_OK,
    Output,
    add_common_options,
    non_negative_seconds,
    port_number,
)
from wirekit.net import dns, names

__all__ = ["add_parser", "run"]

_EPILOG = """\
examples:
  wirekit dns localhost
  wirekit dns example.org AAAA
  wirekit dns example.org MX --server 192.0.2.53
  wirekit dns 192.0.2.10 PTR --server 127.0.0.1 --port 5353 --json
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dns",
        help="resolve a host name or query DNS records",
        description="Resolve NAME with the system resolver, or query records of TYPE.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="host name, address (for PTR) or URL")
    parser.add_argument(
        "type",
        metavar="TYPE",
        nargs="?",
        type=str.upper,
        choices=dns.SUPPORTED_TYPES,
        help="record type: " + ", ".join(dns.SUPPORTED_TYPES),
    )
    parser.add_argument("--server", metavar="IP", help="DNS server to ask (default: system's)")
    parser.add_argument("--port", type=port_number, default=53, help="DNS server port (default 53)")
    parser.add_argument(
        "--timeout",
        type=non_negative_seconds,
        default=dns.DEFAULT_DNS_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for the answer (default {dns.DEFAULT_DNS_TIMEOUT:g})",
    )
    add_common_options(parser)
    parser.set_defaults(handler=run)


def _value(record: dns.Record) -> str:
    fields = [f.name for f in dataclasses.fields(record) if f.name not in ("name", "ttl", "type")]
    if isinstance(record, dns.TXTRecord):
        return " ".join(f'"{s}"' for s in record.strings)
    return " ".join(str(getattr(record, f)) for f in fields)


def run(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    if args.type is None and args.server is None:
        addresses = names.lookup(args.name)
        if out.json_mode:
            out.json({"name": args.name, "addresses": addresses})
        else:
            for address in addresses:
                out.line((address, "cyan"))
        return EXIT_OK
    server = args.server
    if server is not None:
        # dnspython wants an address; let people write --server localhost too.
        server = names.lookup_one(server, prefer="ipv4")
    types = [args.type] if args.type else ["A", "AAAA"]
    records: list[dns.Record] = []
    for rtype in types:
        records += dns.query(args.name, rtype, server=server, port=args.port, timeout=args.timeout)
    if out.json_mode:
        out.json({"name": args.name, "types": types, "records": records})
    elif records:
        rows = [[r.name, str(r.ttl), r.type, _value(r)] for r in records]
        out.table(["NAME", "TTL", "TYPE", "VALUE"], rows)
    else:
        out.errors.print(f"no {'/'.join(types)} records for {args.name}")
    return EXIT_OK if records else EXIT_FAILURE
