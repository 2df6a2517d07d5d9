"""``wirekit mac [IFACE]`` and ``wirekit ifaces``: hardware address and interface list.

``mac`` prints a real MAC or fails (exit 1): it never makes one up. A locally administered
address (set by software: VMs, containers, Wi-Fi privacy) is printed with a note.
"""

from __future__ import annotations

import argparse
from typing import Any

from wirekit.cli._output import EXIT_FAILURE, EXIT_OK, Output, add_common_options
from wirekit.net.interfaces import interfaces, mac_address

__all__ = ["add_parser", "run", "run_ifaces", "run_mac"]


def add_parser(subparsers: Any) -> None:
    mac = subparsers.add_parser(
        "mac",
        help="print this machine's MAC address",
        description="Print the MAC address of IFACE, or of the first interface with a real one.",
        epilog="examples:\n  wirekit mac\n  wirekit mac eth0 --json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mac.add_argument("interface", metavar="IFACE", nargs="?", help="interface name")
    add_common_options(mac)
    mac.set_defaults(handler=run)
    ifaces = subparsers.add_parser(
        "ifaces",
        help="list network interfaces",
        description="List interfaces with state, MTU, MAC and addresses.",
        epilog="examples:\n  wirekit ifaces\n  wirekit ifaces --json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(ifaces)
    ifaces.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return run_mac(args) if args.command == "mac" else run_ifaces(args)


def run_mac(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    found = mac_address(args.interface)
    if found is None:
        where = f"interface {args.interface!r}" if args.interface else "any interface"
        return out.error(f"no real MAC address found on {where}", code=EXIT_FAILURE)
    if out.json_mode:
        out.json(found)
    elif found.locally_administered:
        out.line((found.address, "bold"), f"  ({found.interface}, locally administered)")
    else:
        out.line((found.address, "bold"), f"  ({found.interface})")
    return EXIT_OK


def run_ifaces(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    found = interfaces()
    if out.json_mode:
        out.json(found)
        return EXIT_OK
    rows = []
    for interface in found:
        addresses = ", ".join(f"{a.address}/{a.prefix_length}" for a in interface.addresses)
        rows.append(
            [
                interface.name,
                "up" if interface.is_up else "down",
                str(interface.mtu or "-"),
                interface.mac or "-",
                addresses or "-",
            ]
        )
    out.table(["NAME", "STATE", "MTU", "MAC", "ADDRESSES"], rows)
    return EXIT_OK
