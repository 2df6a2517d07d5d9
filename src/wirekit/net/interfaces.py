"""Network interfaces: names, MAC addresses, IP addresses, up/down state and MTU.

On Linux it reads /sys/class/net, /proc/net/if_inet6 and asks the kernel for IPv4 addresses
with the SIOCGIFADDR ioctl (psutil is used instead when installed: it sees every address).
:func:`mac_address` returns a real hardware address or None, never a made-up one.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Interface", "InterfaceAddress", "MacAddress", "interfaces", "mac_address"]

_SYS_NET = Path("/sys/class/net")
_PROC_INET6 = Path("/proc/net/if_inet6")
# linux/sockios.h
_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B
_IFF_UP = 0x1
_IFF_LOOPBACK = 0x8


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    """One IP address on an interface, with its prefix length (24 for a /24)."""

    address: str
    prefix_length: int
    version: int


@dataclass(frozen=True, slots=True)
class Interface:
    """One network interface as the kernel reports it."""

    name: str
    index: int
    mac: str | None
    addresses: tuple[InterfaceAddress, ...]
    is_up: bool
    is_loopback: bool
    mtu: int | None


@dataclass(frozen=True, slots=True)
class MacAddress:
    """A hardware address and where it came from.

    ``locally_administered`` flags addresses set by software (bit 0x02 of the first octet,
    IEEE 802): virtual machines, containers and privacy-randomised Wi-Fi use them, so they
    may change; they are still the interface's real current address.
    """

    address: str
    interface: str
    locally_administered: bool

    def __str__(self) -> str:
        return self.address


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _is_real_mac(mac: str | None) -> bool:
    if not mac or len(mac.split(":")) != 6:
        return False
    try:
        octets = bytes(int(part, 16) for part in mac.split(":"))
    except ValueError:
        return False
    # All zeros (loopback, tunnels), broadcast, or a multicast (group) address is not a
    # hardware identity.
    return octets != b"\x00" * 6 and octets != b"\xff" * 6 and not octets[0] & 0x01


def _locally_administered(mac: str) -> bool:
    return bool(int(mac.split(":")[0], 16) & 0x02)


def _ipv6_addresses() -> dict[str, list[InterfaceAddress]]:
    found: dict[str, list[InterfaceAddress]] = {}
    text = _read(_PROC_INET6) or ""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6:
            continue
        hex_address, _index, prefix_hex, _scope, _flags, name = fields[:6]
        address = str(ipaddress.IPv6Address(bytes.fromhex(hex_address)))
        found.setdefault(name, []).append(InterfaceAddress(address, int(prefix_hex, 16), 6))
    return found


def _ipv4_by_ioctl(name: str) -> list[InterfaceAddress]:
    import fcntl  # Unix only; imported here so the module still loads elsewhere

    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            address = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)[20:24]
        except OSError:
            return []  # no IPv4 address on this interface
        try:
            mask = fcntl.ioctl(sock.fileno(), _SIOCGIFNETMASK, request)[20:24]
            prefix = bin(int.from_bytes(mask, "big")).count("1")
        except OSError:
            prefix = 32
    return [InterfaceAddress(socket.inet_ntoa(address), prefix, 4)]


def _from_psutil() -> list[Interface] | None:
    try:
        import psutil  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None
    stats = psutil.net_if_stats()
    indexes = dict((name, index) for index, name in socket.if_nameindex())
    result = []
    for name, entries in psutil.net_if_addrs().items():
        mac = None
        addresses = []
        for entry in entries:
            if entry.family == psutil.AF_LINK:
                mac = entry.address.lower().replace("-", ":")
            elif entry.family in (socket.AF_INET, socket.AF_INET6):
                netmask = entry.netmask or ""
                try:
                    prefix = ipaddress.ip_network(f"0.0.0.0/{netmask}").prefixlen
                except ValueError:
                    prefix = bin(int(ipaddress.ip_address(netmask))).count("1") if netmask else 0
                version = 4 if entry.family == socket.AF_INET else 6
                addresses.append(InterfaceAddress(entry.address, prefix, version))
        stat = stats.get(name)
        result.append(
            Interface(
                name=name,
                index=indexes.get(name, 0),
                mac=mac if _is_real_mac(mac) else None,
                addresses=tuple(addresses),
                is_up=bool(stat and stat.isup),
                is_loopback=any(a.address in ("127.0.0.1", "::1") for a in addresses),
                mtu=stat.mtu if stat else None,
            )
        )
    return sorted(result, key=lambda i: i.index)


def _from_linux() -> list[Interface]:
    ipv6 = _ipv6_addresses()
    result = []
    for index, name in socket.if_nameindex():
        base = _SYS_NET / name
        flags_text = _read(base / "flags")
        flags = int(flags_text, 16) if flags_text else 0
        mtu_text = _read(base / "mtu")
        mac = _read(base / "address")
        result.append(
            Interface(
                name=name,
                index=index,
                mac=mac.lower() if mac and _is_real_mac(mac) else None,
                addresses=tuple(_ipv4_by_ioctl(name) + ipv6.get(name, [])),
                is_up=bool(flags & _IFF_UP),
                is_loopback=bool(flags & _IFF_LOOPBACK),
                mtu=int(mtu_text) if mtu_text and mtu_text.isdigit() else None,
            )
        )
    return result


def interfaces() -> list[Interface]:
    """Every network interface, in kernel index order.

    Linux without psutil sees one IPv4 address per interface (the ioctl's limit) and every
    IPv6 address; with psutil installed it sees every address. Elsewhere psutil is needed
    for addresses and MACs; without it only names and indexes are listed.
    """
    found = _from_psutil()
    if found is not None:
        return found
    if sys.platform.startswith("linux") and _SYS_NET.is_dir():
        return _from_linux()
    return [
        Interface(name, index, None, (), False, False, None)
        for index, name in socket.if_nameindex()
    ]


def mac_address(interface: str | None = None) -> MacAddress | None:
    """The MAC address of ``interface``, or of the first suitable one; None if none is real.

    Without a name, interfaces are ranked: up before down, globally unique (IEEE-assigned)
    before locally administered; loopback and all-zero addresses never count. Unlike
    :func:`uuid.getnode`, this never invents a random address.
    """
    candidates = [i for i in interfaces() if i.mac is not None and not i.is_loopback]
    if interface is not None:
        candidates = [i for i in candidates if i.name == interface]
    if not candidates:
        return None
    best = min(
        candidates,
        key=lambda i: (not i.is_up, _locally_administered(i.mac or ""), i.index),
    )
    assert best.mac is not None
    return MacAddress(best.mac, best.name, _locally_administered(best.mac))
