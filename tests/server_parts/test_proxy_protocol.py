"""PROXY protocol v1/v2 parsing, with headers built by hand from the HAProxy spec."""

from __future__ import annotations

import socket
import struct

import pytest

from wirekit.errors import RemoteLimitExceeded, RemoteProtocolError
from wirekit.server.proxy_protocol import (
    NEED_MORE,
    V2_SIGNATURE,
    ProxyInfo,
    parse_proxy_header,
)

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def v2_header(
    *,
    command: int = 0x1,
    family: int = 0x11,
    addresses: bytes = b"",
    tlvs: bytes = b"",
    version: int = 0x2,
    length: int | None = None,
) -> bytes:
    payload = addresses + tlvs
    size = len(payload) if length is None else length
    return (
        V2_SIGNATURE + bytes([(version << 4) | command, family]) + struct.pack("!H", size) + payload
    )


def inet4(source: str, destination: str, source_port: int, destination_port: int) -> bytes:
    return (
        socket.inet_pton(socket.AF_INET, source)
        + socket.inet_pton(socket.AF_INET, destination)
        + struct.pack("!HH", source_port, destination_port)
    )


def inet6(source: str, destination: str, source_port: int, destination_port: int) -> bytes:
    return (
        socket.inet_pton(socket.AF_INET6, source)
        + socket.inet_pton(socket.AF_INET6, destination)
        + struct.pack("!HH", source_port, destination_port)
    )


def test_v1_tcp4() -> None:
    header = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
    info = parse_proxy_header(header + REQUEST)
    assert isinstance(info, ProxyInfo)
    assert info.version == 1
    assert info.family == "tcp4"
    assert info.source == ("192.168.0.1", 56324)
    assert info.destination == ("192.168.0.11", 443)
    assert info.consumed == len(header)
    assert (header + REQUEST)[info.consumed :] == REQUEST


def test_v1_tcp6() -> None:
    header = b"PROXY TCP6 2001:db8::1 2001:db8::2 4711 80\r\n"
    info = parse_proxy_header(header)
    assert isinstance(info, ProxyInfo)
    assert info.family == "tcp6"
    assert info.source == ("2001:db8::1", 4711)
    assert info.destination == ("2001:db8::2", 80)


def test_v1_unknown_keeps_real_endpoints() -> None:
    header = b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"
    info = parse_proxy_header(header + REQUEST)
    assert isinstance(info, ProxyInfo)
    assert (info.family, info.source, info.destination) == ("unknown", None, None)
    assert info.consumed == len(header)


def test_v1_longest_line_is_accepted() -> None:
    address = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    header = f"PROXY TCP6 {address} {address} 65535 65535\r\n".encode()
    assert len(header) == 104
    info = parse_proxy_header(header)
    assert isinstance(info, ProxyInfo)
    assert info.source == (address, 65535)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "unknown protocol"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "6 space-separated fields"),
        (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "6 space-separated fields"),
        (b"PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n", "bad source address"),
        (b"PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n", "not IPv4"),
        (b"PROXY TCP6 1.2.3.4 2001:db8::1 1 2\r\n", "not IPv6"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "bad source port"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n", "over 65535"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", "bad destination port"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "CRLF"),
        (b"PROXY TCP4 1.2.3.\xff 5.6.7.8 1 2\r\n", "non-ASCII"),
    ],
)
def test_v1_malformed(header: bytes, problem: str) -> None:
    with pytest.raises(RemoteProtocolError, match=problem):
        parse_proxy_header(header)


def test_v1_line_over_107_bytes_is_a_limit_error() -> None:
    header = b"PROXY TCP4 " + b"1" * 200
    with pytest.raises(RemoteLimitExceeded, match="107") as caught:
        parse_proxy_header(header)
    assert caught.value.limit == "MAX_V1_HEADER_BYTES"


def test_no_proxy_header_returns_none() -> None:
    assert parse_proxy_header(REQUEST) is None
    assert parse_proxy_header(b"\x16\x03\x01") is None  # a TLS ClientHello


def test_v2_tcp4_with_tlvs() -> None:
    tlvs = b"\x02" + struct.pack("!H", 11) + b"example.com" + b"\x04" + struct.pack("!H", 0)
    header = v2_header(addresses=inet4("10.1.2.3", "10.0.0.1", 40000, 443), tlvs=tlvs)
    info = parse_proxy_header(header + REQUEST)
    assert isinstance(info, ProxyInfo)
    assert info.version == 2
    assert (info.command, info.family, info.transport) == ("proxy", "tcp4", "stream")
    assert info.source == ("10.1.2.3", 40000)
    assert info.destination == ("10.0.0.1", 443)
    assert info.tlvs == ((0x02, b"example.com"), (0x04, b""))
    assert info.consumed == len(header)


def test_v2_tcp6_datagram() -> None:
    header = v2_header(family=0x22, addresses=inet6("2001:db8::7", "::1", 53, 5353))
    info = parse_proxy_header(header)
    assert isinstance(info, ProxyInfo)
    assert (info.family, info.transport) == ("tcp6", "datagram")
    assert info.source == ("2001:db8::7", 53)
    assert info.destination == ("::1", 5353)


def test_v2_unix() -> None:
    addresses = b"/run/client.sock".ljust(108, b"\x00") + b"/run/server.sock".ljust(108, b"\x00")
    info = parse_proxy_header(v2_header(family=0x31, addresses=addresses))
    assert isinstance(info, ProxyInfo)
    assert (info.family, info.source, info.destination) == (
        "unix",
        "/run/client.sock",
        "/run/server.sock",
    )


def test_v2_local_command_ignores_addresses() -> None:
    header = v2_header(command=0x0, addresses=inet4("10.1.2.3", "10.0.0.1", 1, 2))
    info = parse_proxy_header(header + REQUEST)
    assert isinstance(info, ProxyInfo)
    assert (info.command, info.source, info.destination) == ("local", None, None)
    assert info.consumed == len(header)


def test_v2_unspec_family() -> None:
    info = parse_proxy_header(v2_header(family=0x00))
    assert isinstance(info, ProxyInfo)
    assert (info.family, info.source) == ("unknown", None)
    assert info.consumed == 16


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (v2_header(version=0x1, addresses=inet4("1.1.1.1", "2.2.2.2", 1, 2)), "version 1"),
        (v2_header(command=0x2, addresses=inet4("1.1.1.1", "2.2.2.2", 1, 2)), "command 0x2"),
        (v2_header(family=0x41, addresses=inet4("1.1.1.1", "2.2.2.2", 1, 2)), "family 0x4"),
        (v2_header(family=0x13, addresses=inet4("1.1.1.1", "2.2.2.2", 1, 2)), "transport 0x3"),
        (v2_header(family=0x21, addresses=inet4("1.1.1.1", "2.2.2.2", 1, 2)), "36-byte"),
        (
            v2_header(addresses=inet4("1.1.1.1", "2.2.2.2", 1, 2), tlvs=b"\x01\x00"),
            "truncated TLV",
        ),
        (
            v2_header(addresses=inet4("1.1.1.1", "2.2.2.2", 1, 2), tlvs=b"\x01\x00\x09ab"),
            "says 9 bytes",
        ),
    ],
)
def test_v2_malformed(header: bytes, problem: str) -> None:
    with pytest.raises(RemoteProtocolError, match=problem):
        parse_proxy_header(header)


def test_v2_payload_limit_names_the_knob() -> None:
    header = v2_header(
        addresses=inet4("1.1.1.1", "2.2.2.2", 1, 2), tlvs=b"\xe0\x00\x64" + b"x" * 100
    )
    with pytest.raises(RemoteLimitExceeded, match="max_v2_payload_bytes=64") as caught:
        parse_proxy_header(header, max_v2_payload_bytes=64)
    assert caught.value.limit == "max_v2_payload_bytes"
    assert isinstance(parse_proxy_header(header), ProxyInfo)


@pytest.mark.parametrize(
    "header",
    [
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
        b"PROXY UNKNOWN\r\n",
        v2_header(addresses=inet4("10.1.2.3", "10.0.0.1", 40000, 443), tlvs=b"\x05\x00\x01z"),
        v2_header(family=0x21, addresses=inet6("2001:db8::7", "::1", 53, 5353)),
    ],
)
def test_byte_at_a_time(header: bytes) -> None:
    whole = parse_proxy_header(header + REQUEST)
    assert isinstance(whole, ProxyInfo)
    for cut in range(len(header)):
        assert parse_proxy_header(header[:cut]) is NEED_MORE, cut
    assert parse_proxy_header(header) == whole
    assert parse_proxy_header(bytearray(header + REQUEST)) == whole
    assert parse_proxy_header(memoryview(header + REQUEST)) == whole
