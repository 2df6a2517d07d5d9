"""PROXY protocol v1 (text) and v2 (binary) header parsing, sans-IO.

A load balancer (HAProxy, AWS NLB, nginx ``proxy_protocol on``) puts one PROXY header in
front of the connection's bytes to tell the server who the real client is. Feed the first
bytes received to :func:`parse_proxy_header`; it never touches a socket.
Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt (cited below as "spec").
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass
from typing import Final, Literal

from wirekit.errors import RemoteLimitExceeded, RemoteProtocolError

__all__ = [
    "MAX_V1_HEADER_BYTES",
    "MAX_V2_PAYLOAD_BYTES",
    "NEED_MORE",
    "V1_SIGNATURE",
    "V2_SIGNATURE",
    "NeedMore",
    "ProxyInfo",
    "parse_proxy_header",
]

#: spec §2.1: "a receiver [...] must not try to read more than 107 characters" (the
#: longest TCP6 line, CRLF included). Fixed by the spec, so no knob.
MAX_V1_HEADER_BYTES: Final = 107
#: Bytes of v2 address block + TLVs accepted. The 16-bit length field allows 65535; real
#: balancers send well under 1 KiB unless they attach TLS client certificates as TLVs.
MAX_V2_PAYLOAD_BYTES: Final = 4096

V1_SIGNATURE: Final = b"PROXY "
#: spec §2.2: twelve bytes chosen never to start a valid HTTP, SSL or SSH stream.
V2_SIGNATURE: Final = b"\r\n\r\n\x00\r\nQUIT\n"
_V2_FIXED = 16  # signature (12) + version/command (1) + family (1) + length (2)

# spec §2.2, the address block sizes by family (high nibble of byte 13).
_V2_INET, _V2_INET6, _V2_UNIX = 0x1, 0x2, 0x3
_V2_ADDRESS_BYTES = {_V2_INET: 12, _V2_INET6: 36, _V2_UNIX: 216}
_V2_TRANSPORTS: dict[int, Literal["stream", "datagram"] | None] = {
    0x0: None,
    0x1: "stream",
    0x2: "datagram",
}


class NeedMore(enum.Enum):
    """Marker type: the buffer holds only the start of a header; read more and call again."""

    NEED_MORE = "NEED_MORE"

    def __repr__(self) -> str:
        return "NEED_MORE"


NEED_MORE: Final = NeedMore.NEED_MORE

Address = tuple[str, int] | str
"""An IP address and port, or a Unix socket path (v2 AF_UNIX)."""


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    """What a PROXY header said.

    ``source`` is the real client, ``destination`` the address it connected to; both are
    ``None`` for the LOCAL command (a health check from the balancer itself) and for
    UNKNOWN/UNSPEC families, in which case the server keeps the socket's own peer.
    ``consumed`` is how many bytes of the buffer the header took: the request starts after.
    """

    version: Literal[1, 2]
    command: Literal["proxy", "local"]
    family: Literal["tcp4", "tcp6", "unix", "unknown"]
    transport: Literal["stream", "datagram"] | None
    source: Address | None
    destination: Address | None
    consumed: int
    #: v2 type-length-value extensions as (type, value) pairs, in order; the parser does not
    #: interpret them (spec §2.2.7: receivers must ignore the types they do not know).
    tlvs: tuple[tuple[int, bytes], ...] = ()


def parse_proxy_header(
    buffer: bytes | bytearray | memoryview, *, max_v2_payload_bytes: int = MAX_V2_PAYLOAD_BYTES
) -> ProxyInfo | NeedMore | None:
    """Parse a PROXY v1 or v2 header at the start of ``buffer``.

    Returns a :class:`ProxyInfo`, ``None`` when the bytes do not start with a PROXY header
    (a server that requires one should refuse the connection), or :data:`NEED_MORE` when
    ``buffer`` is a strict prefix of a header. Malformed headers raise
    :class:`~wirekit.errors.RemoteProtocolError` naming the problem; a v2 payload over
    ``max_v2_payload_bytes`` raises :class:`~wirekit.errors.RemoteLimitExceeded`.
    """
    data = bytes(buffer[: _V2_FIXED + max(max_v2_payload_bytes, 0) + 1])
    if not data:
        return NEED_MORE
    if data.startswith(V2_SIGNATURE):
        return _parse_v2(bytes(buffer), max_v2_payload_bytes)
    if data.startswith(V1_SIGNATURE):
        return _parse_v1(data)
    if V2_SIGNATURE.startswith(data) or V1_SIGNATURE.startswith(data):
        return NEED_MORE
    return None


# -- v1 --------------------------------------------------------------------------------------
def _parse_v1(data: bytes) -> ProxyInfo | NeedMore:
    end = data.find(b"\r\n", 0, MAX_V1_HEADER_BYTES)
    if end < 0:
        if len(data) >= MAX_V1_HEADER_BYTES:
            raise RemoteLimitExceeded(
                f"PROXY v1 header: no CRLF within the first {MAX_V1_HEADER_BYTES} bytes",
                limit="MAX_V1_HEADER_BYTES",
                value=MAX_V1_HEADER_BYTES,
            )
        # A bare LF or a NUL can never become valid: fail now rather than wait for more.
        if b"\n" in data or b"\x00" in data:
            raise RemoteProtocolError("PROXY v1 header: line not terminated by CRLF")
        return NEED_MORE
    consumed = end + 2
    try:
        line = data[:end].decode("ascii")
    except UnicodeDecodeError:
        raise RemoteProtocolError("PROXY v1 header: non-ASCII bytes in the line") from None
    # spec §2.1: fields are separated by exactly one space.
    fields = line.split(" ")
    protocol = fields[1] if len(fields) > 1 else ""
    if protocol == "UNKNOWN":
        # spec §2.1: "the receiver must ignore anything presented before the CRLF".
        return ProxyInfo(1, "proxy", "unknown", None, None, None, consumed)
    if protocol not in ("TCP4", "TCP6"):
        raise RemoteProtocolError(f"PROXY v1 header: unknown protocol {protocol!r}")
    if len(fields) != 6:
        raise RemoteProtocolError(
            f"PROXY v1 header: expected 6 space-separated fields, got {len(fields)}"
        )
    version = 4 if protocol == "TCP4" else 6
    source_ip = _v1_address(fields[2], version, "source")
    destination_ip = _v1_address(fields[3], version, "destination")
    source_port = _v1_port(fields[4], "source")
    destination_port = _v1_port(fields[5], "destination")
    family: Literal["tcp4", "tcp6"] = "tcp4" if version == 4 else "tcp6"
    return ProxyInfo(
        1,
        "proxy",
        family,
        "stream",
        (source_ip, source_port),
        (destination_ip, destination_port),
        consumed,
    )


def _v1_address(text: str, version: int, role: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise RemoteProtocolError(f"PROXY v1 header: bad {role} address {text!r}") from None
    if address.version != version:
        raise RemoteProtocolError(
            f"PROXY v1 header: {role} address {text!r} is not IPv{version} as the line says"
        )
    return str(address)


def _v1_port(text: str, role: str) -> int:
    # spec §2.1: ports are decimal 0..65535 without leading zeroes.
    if not text.isdigit() or not text.isascii() or (len(text) > 1 and text[0] == "0"):
        raise RemoteProtocolError(f"PROXY v1 header: bad {role} port {text!r}")
    port = int(text)
    if port > 65535:
        raise RemoteProtocolError(f"PROXY v1 header: {role} port {port} is over 65535")
    return port


# -- v2 --------------------------------------------------------------------------------------
def _parse_v2(data: bytes, max_payload: int) -> ProxyInfo | NeedMore:
    if len(data) < _V2_FIXED:
        return NEED_MORE
    version_command, family_byte, length = struct.unpack_from("!BBH", data, 12)
    version, command_code = version_command >> 4, version_command & 0x0F
    if version != 2:
        raise RemoteProtocolError(f"PROXY v2 header: unsupported version {version}")
    if command_code not in (0x0, 0x1):
        raise RemoteProtocolError(f"PROXY v2 header: unknown command 0x{command_code:x}")
    if length > max_payload:
        raise RemoteLimitExceeded(
            f"PROXY v2 header: payload of {length} bytes is over max_v2_payload_bytes="
            f"{max_payload}",
            limit="max_v2_payload_bytes",
            value=max_payload,
        )
    consumed = _V2_FIXED + length
    if len(data) < consumed:
        return NEED_MORE
    payload = data[_V2_FIXED:consumed]
    address_family, transport_code = family_byte >> 4, family_byte & 0x0F
    if transport_code not in _V2_TRANSPORTS:
        raise RemoteProtocolError(f"PROXY v2 header: unknown transport 0x{transport_code:x}")
    if address_family not in (0x0, *_V2_ADDRESS_BYTES):
        raise RemoteProtocolError(f"PROXY v2 header: unknown address family 0x{address_family:x}")
    address_bytes = _V2_ADDRESS_BYTES.get(address_family, 0)
    if length < address_bytes:
        raise RemoteProtocolError(
            f"PROXY v2 header: length {length} is shorter than the {address_bytes}-byte "
            "address block its family needs"
        )
    tlvs = _v2_tlvs(payload[address_bytes:])
    if command_code == 0x0:
        # spec §2.2: LOCAL means the balancer itself connected (health check): the
        # receiver must use the real connection endpoints and ignore the address block.
        return ProxyInfo(2, "local", "unknown", None, None, None, consumed, tlvs)
    transport = _V2_TRANSPORTS[transport_code]
    source: Address | None
    destination: Address | None
    family: Literal["tcp4", "tcp6", "unix", "unknown"]
    if address_family == _V2_INET:
        source_raw, destination_raw, source_port, destination_port = struct.unpack_from(
            "!4s4sHH", payload
        )
        family = "tcp4"
        source = (str(ipaddress.IPv4Address(source_raw)), source_port)
        destination = (str(ipaddress.IPv4Address(destination_raw)), destination_port)
    elif address_family == _V2_INET6:
        source_raw, destination_raw, source_port, destination_port = struct.unpack_from(
            "!16s16sHH", payload
        )
        family = "tcp6"
        source = (str(ipaddress.IPv6Address(source_raw)), source_port)
        destination = (str(ipaddress.IPv6Address(destination_raw)), destination_port)
    elif address_family == _V2_UNIX:
        family = "unix"
        source = _unix_path(payload[:108])
        destination = _unix_path(payload[108:216])
    else:
        # UNSPEC: spec says the receiver keeps the real connection endpoints.
        family, source, destination = "unknown", None, None
    return ProxyInfo(2, "proxy", family, transport, source, destination, consumed, tlvs)


def _unix_path(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _v2_tlvs(block: bytes) -> tuple[tuple[int, bytes], ...]:
    found: list[tuple[int, bytes]] = []
    position = 0
    while position < len(block):
        if len(block) - position < 3:
            raise RemoteProtocolError("PROXY v2 header: truncated TLV (fewer than 3 bytes left)")
        kind, size = struct.unpack_from("!BH", block, position)
        start = position + 3
        if start + size > len(block):
            raise RemoteProtocolError(
                f"PROXY v2 header: TLV type 0x{kind:02x} says {size} bytes but only "
                f"{len(block) - start} remain"
            )
        found.append((kind, block[start : start + size]))
        position = start + size
    return tuple(found)
