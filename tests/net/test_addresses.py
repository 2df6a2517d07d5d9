"""wirekit.net.addresses: classification, network membership, host:port parsing."""

from __future__ import annotations

import re

import pytest

from wirekit.errors import WirekitError
from wirekit.net import (
    AddressKind,
    HostPort,
    InvalidAddress,
    classify,
    in_network,
    parse_hostport,
    service_port,
)


@pytest.mark.parametrize(
    ("ip", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("fd00::2", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("8.8.8.8", "global"),
        ("2606:4700::1111", "global"),
        ("192.0.2.7", "documentation"),
        ("2001:db8::1", "documentation"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "reserved"),
        ("240.0.0.1", "reserved"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_classify(ip: str, kind: str) -> None:
    assert classify(ip) == kind
    assert classify(ip) is AddressKind(kind)


def test_classify_rejects_a_name_with_a_clear_error() -> None:
    with pytest.raises(
        InvalidAddress, match=re.escape("not an IP address: 'example.org'")
    ) as caught:
        classify("example.org")
    assert isinstance(caught.value, WirekitError)
    assert isinstance(caught.value, ValueError)


def test_in_network_single_and_list() -> None:
    assert in_network("10.1.2.3", "10.0.0.0/8")
    assert not in_network("11.1.2.3", "10.0.0.0/8")
    assert in_network("::1", ["10.0.0.0/8", "::1/128"])
    assert in_network("::ffff:10.9.9.9", "10.0.0.0/8")
    assert not in_network("10.1.2.3", "::/0")
    assert in_network("192.168.1.77", "192.168.1.5/24")  # host bits allowed
    with pytest.raises(InvalidAddress, match=re.escape("not an IP network: '10.0.0.0/33'")):
        in_network("10.0.0.1", "10.0.0.0/33")


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("example.org:8080", None, HostPort("example.org", 8080)),
        ("example.org", 80, HostPort("example.org", 80)),
        ("[::1]:53", None, HostPort("::1", 53)),
        ("[::1]", 443, HostPort("::1", 443)),
        ("::1", 53, HostPort("::1", 53)),
        ("fe80::1%eth0", None, HostPort("fe80::1%eth0", None)),
        ("127.0.0.1:0", None, HostPort("127.0.0.1", 0)),
    ],
)
def test_parse_hostport(text: str, default: int | None, expected: HostPort) -> None:
    assert parse_hostport(text, default) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("host:http", "port must be a number"),
        ("host:70000", "port must be a number from 0 to 65535"),
        ("[::1", "missing ']'"),
        ("[::1]x", "unexpected text after"),
        ("[nothex]:1", "not an IPv6 address inside brackets"),
        ("1:2:3:zz", r"use \[address\]:port"),
        (":80", "missing host"),
    ],
)
def test_parse_hostport_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidAddress, match=message):
        parse_hostport(text)


def test_service_port() -> None:
    assert service_port("http") == 80
    assert service_port("HTTPS") == 443
    assert service_port("domain", "udp") == 53
    assert service_port("8080") == 8080
    with pytest.raises(InvalidAddress, match="unknown service name 'no-such-service'"):
        service_port("no-such-service")
    with pytest.raises(InvalidAddress, match="out of range"):
        service_port(70000)
