"""The ``wirekit`` command end to end: output, JSON and exit codes, on loopback only."""

from __future__ import annotations

import importlib
import os
import pty
import select
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.cli.conftest import Result, cli_environment
from tests.net.dns_server import DNSServer
from wirekit.__version__ import __version__
from wirekit.cli import _output
from wirekit.errors import (
    ConnectError,
    ConnectTimeout,
    NameResolutionError,
    ReadError,
    TLSError,
    WirekitError,
)

Run = Callable[..., Result]
# A label over 63 characters fails inside the process: no DNS query leaves the machine.
INVALID = "x" * 64 + ".invalid"


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_version_and_help(wirekit: Run) -> None:
    result = wirekit("--version")
    assert (result.code, result.stdout.strip()) == (0, f"wirekit {__version__}")
    result = wirekit("--help")
    assert result.code == 0
    for command in ("dns", "ping", "mac", "ifaces", "examples:", "7 connection refused"):
        assert command in result.stdout
    for command in ("dns", "ping", "mac", "ifaces"):
        help_text = wirekit(command, "--help")
        assert help_text.code == 0
        assert "examples:" in help_text.stdout
        assert "--json" in help_text.stdout


def test_usage_errors_exit_2(wirekit: Run) -> None:
    assert wirekit().code == 2
    assert wirekit("nosuchcommand").code == 2
    result = wirekit("dns", "example.test", "HINFO")
    assert result.code == 2
    assert "invalid choice" in result.stderr
    assert wirekit("ping", "127.0.0.1:80", "-c", "0").code == 2
    result = wirekit("ping", "127.0.0.1")
    assert result.code == 2
    assert "missing port" in result.stderr


def test_dns_system_resolver(wirekit: Run) -> None:
    result = wirekit("dns", "localhost")
    assert result.code == 0
    assert "127.0.0.1" in result.stdout.split()
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes
    document = wirekit("dns", "localhost", "--json").json()
    assert "127.0.0.1" in document["addresses"]


def test_dns_unknown_name_exits_6(wirekit: Run) -> None:
    result = wirekit("dns", INVALID)
    assert result.code == _output.EXIT_DNS_FAILURE == 6
    assert INVALID in result.stderr
    document = wirekit("dns", INVALID, "--json").json()
    assert document["ok"] is False
    assert document["exit_code"] == 6


def test_dns_record_query_against_local_server(wirekit: Run, dns_server: DNSServer) -> None:
    port = str(dns_server.port)
    result = wirekit("dns", "example.test", "MX", "--server", "127.0.0.1", "--port", port)
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TTL", "TYPE", "VALUE"]
    assert ["example.test", "3600", "MX", "10", "mail.example.test"] in [
        line.split() for line in lines
    ]
    document = wirekit(
        "dns", "www.example.test", "--server", "127.0.0.1", "--port", port, "--json"
    ).json()
    assert document["types"] == ["A", "AAAA"]
    assert {(r["type"], r["address"]) for r in document["records"]} == {
        ("A", "192.0.2.10"),
        ("AAAA", "2001:db8::10"),
    }
    # --server may be a name: it is resolved first (localhost -> 127.0.0.1).
    txt = wirekit("dns", "example.test", "txt", "--server", "localhost", "--port", port)
    assert '"v=spf1 -all"' in txt.stdout


def test_dns_no_records_and_missing_domain(wirekit: Run, dns_server: DNSServer) -> None:
    port = str(dns_server.port)
    empty = wirekit("dns", "mail.example.test", "MX", "--server", "127.0.0.1", "--port", port)
    assert empty.code == 1
    assert "no MX records for mail.example.test" in empty.stderr
    missing = wirekit("dns", "nothere.example.test", "A", "--server", "127.0.0.1", "--port", port)
    assert missing.code == 6
    assert "no such domain: nothere.example.test" in missing.stderr


def test_dns_silent_server_exits_8(wirekit: Run, dns_server: DNSServer) -> None:
    dns_server.silent = True
    result = wirekit(
        "dns", "example.test", "A", "--server", "127.0.0.1", "--port", str(dns_server.port),
        "--timeout", "0.3",
    )  # fmt: skip
    assert result.code == _output.EXIT_TIMEOUT == 8
    assert "timed out" in result.stderr


def test_ping_open_port(wirekit: Run, listening_port: int) -> None:
    target = f"127.0.0.1:{listening_port}"
    result = wirekit("ping", target, "-c", "3", "--interval", "0")
    assert result.code == 0
    assert result.stdout.count(f"connected to {target} in ") == 3
    assert "3 probes, 3 connected, 0 failed" in result.stdout
    document = wirekit("ping", target, "-c", "2", "--interval", "0", "--json").json()
    assert (document["sent"], document["connected"]) == (2, 2)
    assert document["min_ms"] <= document["avg_ms"] <= document["max_ms"]
    assert all(probe["ok"] for probe in document["probes"])


def test_ping_refused_exits_7(wirekit: Run, closed_port: int) -> None:
    result = wirekit("ping", f"127.0.0.1:{closed_port}", "-c", "2", "--interval", "0")
    assert result.code == _output.EXIT_CONNECTION_REFUSED == 7
    assert f"connection refused by 127.0.0.1:{closed_port}" in result.stdout
    assert "2 probes, 0 connected, 2 failed" in result.stdout


def test_ping_ipv6_and_unresolvable(wirekit: Run, closed_port: int) -> None:
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        sock.listen(4)
        result = wirekit("ping", f"[::1]:{sock.getsockname()[1]}", "-c", "1")
    assert result.code == 0
    result = wirekit("ping", f"{INVALID}:80", "-c", "5", "--interval", "0", "--json")
    assert result.code == 6
    assert result.json()["sent"] == 1  # a name that does not resolve is not retried


def test_mac_and_ifaces(wirekit: Run) -> None:
    interfaces = importlib.import_module("wirekit.net.interfaces")
    expected = interfaces.mac_address()
    result = wirekit("mac")
    if expected is None:
        assert result.code == 1
        assert "no real MAC address" in result.stderr
    else:
        assert result.code == 0
        assert result.stdout.split()[0] == expected.address
        assert wirekit("mac", "--json").json()["address"] == expected.address
    missing = wirekit("mac", "no-such-iface0")
    assert missing.code == 1
    assert "no-such-iface0" in missing.stderr
    listing = wirekit("ifaces")
    assert listing.code == 0
    assert listing.stdout.splitlines()[0].split() == ["NAME", "STATE", "MTU", "MAC", "ADDRESSES"]
    assert "127.0.0.1/8" in listing.stdout
    names = {entry["name"] for entry in wirekit("ifaces", "--json").json()}
    assert names == {name for _, name in socket.if_nameindex()}


def run_in_terminal(*args: str, **env: str) -> str:
    """Run the command with its stdout on a pseudo-terminal and return what it wrote."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "wirekit.cli", *args],
        stdout=terminal,
        stderr=terminal,
        env=cli_environment(TERM="xterm-256color", **env),
    )
    os.close(terminal)
    chunks: list[bytes] = []
    try:
        for _ in range(500):  # bounded: 500 reads of up to 5 s each at most
            ready, _, _ = select.select([controller], [], [], 5)
            if not ready:
                break
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        process.wait(timeout=30)
        os.close(controller)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_not_with_no_color() -> None:
    coloured = run_in_terminal("dns", "localhost")
    assert "127.0.0.1" in coloured
    assert "\x1b[" in coloured
    plain = run_in_terminal("dns", "localhost", NO_COLOR="1")
    assert "127.0.0.1" in plain
    assert "\x1b[" not in plain


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NameResolutionError("could not resolve host 'x'", host="x"), 6),
        (ConnectTimeout("connect to 127.0.0.1:9 timed out"), 8),
        (TLSError("certificate verify failed for example.test"), 9),
        (ReadError("connection reset by 127.0.0.1:8080"), 10),
        (ConnectError("could not connect to 127.0.0.1:9: host unreachable"), 10),
        (WirekitError("something else"), 1),
    ],
)
def test_exit_code_mapping(error: WirekitError, code: int) -> None:
    assert _output.exit_code_for(error) == (code, str(error))


def test_refused_connect_error_maps_to_7() -> None:
    error = ConnectError("could not connect to 127.0.0.1:8080")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert _output.exit_code_for(error) == (7, "could not connect to 127.0.0.1:8080")


def test_http_status_error_maps_to_4_or_5() -> None:
    class FakeResponse:
        def __init__(self, status_code: int) -> None:
            self.status_code = status_code

    from wirekit.errors import HTTPStatusError

    for status, code in ((404, 4), (503, 5)):
        error = HTTPStatusError(
            f"{status} for http://127.0.0.1/",
            request=None,  # type: ignore[arg-type]
            response=FakeResponse(status),  # type: ignore[arg-type]
        )
        assert _output.exit_code_for(error) == (code, f"{status} for http://127.0.0.1/")
