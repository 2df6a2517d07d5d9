"""wirekit.net edge cases from review: bad ports, lost DNS datagrams, UDP limits, zones, IDNA."""

from __future__ import annotations

import asyncio
import errno
import random
import socket
import time
from typing import Any

import pytest

from tests.net.dns_server import ZONE, running_dns_server
from wirekit.errors import ConnectError, RemoteLimitExceeded
from wirekit.net import (
    CachingResolver,
    InvalidAddress,
    UDPServer,
    UDPTimeout,
    acheck_port,
    audp_request,
    check_port,
    mail_exchangers,
    parse_hostport,
    service_port,
    udp_request,
)

# -- addresses: ports given with non-ASCII or overlong digit strings ------------------------


@pytest.mark.parametrize("text", ["example.org:\u00b2", "example.org:" + "1" * 5000])
def test_parse_hostport_bad_port_is_invalid_address(text: str) -> None:
    # "²".isdigit() is True but int("²") fails; 5000 digits hit int()'s digit limit. Both
    # escape as a bare ValueError that does not say which input failed.
    with pytest.raises(InvalidAddress, match="port"):
        parse_hostport(text)


def test_parse_hostport_refuses_non_ascii_digits() -> None:
    # "\u0668\u0660" is Arabic-Indic "80": no URL or host:port syntax allows it.
    with pytest.raises(InvalidAddress):
        parse_hostport("example.org:\u0668\u0660")


def test_wirekit_ping_bad_port_is_a_usage_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from wirekit.cli.__main__ import main

    # parse_hostport's ValueError is not InvalidAddress, so cli/ping.py does not catch it.
    assert main(["ping", "localhost:\u00b2", "--count", "1"]) == 2


@pytest.mark.parametrize("name", ["\u00b2", "9" * 5000, "\u0664\u0664\u0663"])
def test_service_port_bad_numbers_are_invalid_address(name: str) -> None:
    with pytest.raises(InvalidAddress):
        service_port(name)


# -- dns: one exchanger that does not exist must not hide the others ----------------------


def test_mail_exchangers_skip_an_exchanger_that_does_not_exist() -> None:
    zone = dict(ZONE)
    zone["broken.example.test"] = [
        ("MX", 60, "10 gone.example.test."),  # NXDOMAIN: a common misconfiguration
        ("MX", 60, "20 mail.example.test."),
    ]
    with running_dns_server(zone) as server:
        found = mail_exchangers(
            "broken.example.test", server="127.0.0.1", port=server.port, timeout=2
        )
    hosts = [exchanger.host for exchanger in found]
    assert "mail.example.test" in hosts
    mail = next(e for e in found if e.host == "mail.example.test")
    assert set(mail.addresses) == {"192.0.2.25", "2001:db8::25"}


@pytest.mark.anyio
async def test_amail_exchangers_skip_an_exchanger_that_does_not_exist() -> None:
    from wirekit.net import amail_exchangers

    zone = dict(ZONE)
    zone["broken.example.test"] = [
        ("MX", 60, "10 gone.example.test."),
        ("MX", 60, "20 mail.example.test."),
    ]
    with running_dns_server(zone) as server:
        found = await amail_exchangers(
            "broken.example.test", server="127.0.0.1", port=server.port, timeout=2
        )
    assert [exchanger.host for exchanger in found] == ["gone.example.test", "mail.example.test"]


class _DropFirstUDPQuery:
    """Wraps the test DNS server's answer(): the first UDP query is lost."""

    def __init__(self, server: Any) -> None:
        self.answer = server.answer
        self.dropped = 0

    def __call__(self, wire: bytes, transport: str) -> bytes | None:
        if transport == "udp" and self.dropped == 0:
            self.dropped += 1
            return None
        result: bytes | None = self.answer(wire, transport)
        return result


def test_query_retransmits_a_lost_udp_query() -> None:
    from wirekit.net import query

    # _configure sets the per-try timeout equal to the whole lifetime, so dnspython sends
    # exactly one datagram: one lost packet is a DNSTimeout (and with several system
    # nameservers the second is never asked).
    with running_dns_server() as server:
        server.answer = _DropFirstUDPQuery(server)  # type: ignore[method-assign]
        records = query("example.test", server="127.0.0.1", port=server.port, timeout=3)
    assert [r.address for r in records] == ["192.0.2.10"]  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_aquery_retransmits_a_lost_udp_query() -> None:
    from wirekit.net import aquery

    with running_dns_server() as server:
        server.answer = _DropFirstUDPQuery(server)  # type: ignore[method-assign]
        records = await aquery("example.test", server="127.0.0.1", port=server.port, timeout=3)
    assert [r.address for r in records] == ["192.0.2.10"]  # type: ignore[union-attr]


# -- udp: limits and backoff ---------------------------------------------------------------


def test_udp_server_does_not_hand_a_truncated_datagram_to_the_handler() -> None:
    seen: list[bytes] = []

    def handler(data: bytes, sender: tuple[Any, ...]) -> bytes:
        seen.append(data)
        return b"got %d" % len(data)

    with UDPServer(handler, max_datagram_bytes=100) as server:
        with pytest.raises(UDPTimeout):
            # 300 bytes against a 100-byte limit: AsyncUDPServer drops it; the threaded
            # server cuts it to 100 bytes and serves the fragment as if it were whole.
            udp_request(server.address, b"x" * 300, timeout=0.3, retries=0)
    assert seen == []


def test_udp_request_reply_over_the_limit_is_an_error_not_a_silent_cut() -> None:
    with UDPServer(lambda data, sender: b"y" * 300) as server:
        with pytest.raises(RemoteLimitExceeded):
            udp_request(server.address, b"x", timeout=1, retries=0, max_datagram_bytes=100)


def test_udp_waits_never_exceed_max_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Documented: "No single wait is longer than this many seconds" (DEFAULT_MAX_BACKOFF).
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the largest jitter
    with UDPServer(lambda data, sender: None) as server:
        started = time.monotonic()
        with pytest.raises(UDPTimeout):
            udp_request(server.address, b"x", timeout=0.2, retries=2, jitter=0.9, max_backoff=0.2)
        elapsed = time.monotonic() - started
    # 3 waits of at most max_backoff=0.2 s: 0.6 s (the bug makes them 0.38 s each: 1.14 s).
    assert elapsed < 0.9


@pytest.mark.anyio
async def test_audp_request_keeps_the_ipv6_scope_and_reports_connect_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No packet leaves: connect() is replaced by a recorder that fails like an unroutable
    # link-local address would. The sync client connects with the scope id and reports a
    # ConnectError; the async one drops the scope id and leaks a bare OSError.
    tried: list[tuple[Any, ...]] = []

    def refuse(self: socket.socket, address: Any) -> None:
        tried.append(tuple(address))
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    address = ("fe80::1%lo", 9)
    scope = socket.if_nametoindex("lo")
    with pytest.raises(ConnectError):
        udp_request(address, b"x", timeout=0.2, retries=0)
    assert tried[-1][3] == scope
    with pytest.raises(ConnectError):
        await audp_request(address, b"x", timeout=0.2, retries=0)
    assert tried[-1][3] == scope, f"async client connected to {tried[-1]}, scope id lost"


# -- dnscache: IDNA --------------------------------------------------------------------------


def test_caching_resolver_encodes_idn_names_like_lookup() -> None:
    # names.lookup() sends "faß.example" as IDNA 2008 ("xn--fa-hia.example"); the cache
    # hands it raw to getaddrinfo, whose idna codec (IDNA 2003) asks for "fass.example":
    # another domain.
    asked: list[str] = []

    def recording(host: str, port: int, family: int = 0, kind: int = 0) -> list[Any]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    CachingResolver(getaddrinfo=recording).resolve("fa\u00df.example", 80)
    sent = asked[0] if asked[0].isascii() else asked[0].encode("idna").decode()
    assert sent == "xn--fa-hia.example"


# -- ports: the timeout covers the name lookup too (documented) --------------------------


def _slow_getaddrinfo(real: Any) -> Any:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)
        return real(*args, **kwargs)

    return slow


def test_check_port_timeout_covers_a_slow_name_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _slow_getaddrinfo(socket.getaddrinfo))
    started = time.monotonic()
    result = check_port("localhost", 9, timeout=0.3)
    elapsed = time.monotonic() - started
    assert not result.ok
    assert elapsed < 1.0, f"check_port(timeout=0.3) took {elapsed:.2f}s"


@pytest.mark.anyio
async def test_acheck_port_timeout_covers_a_slow_name_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _slow_getaddrinfo(socket.getaddrinfo))
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await acheck_port("localhost", 9, timeout=0.3)
    elapsed = loop.time() - started
    assert not result.ok
    assert elapsed < 1.0, f"acheck_port(timeout=0.3) took {elapsed:.2f}s"


# -- servers: accept() failing with EMFILE must not spin the accept thread ----------------

_EMFILE_SCRIPT = r"""
import os, socket, time
from wirekit.net import TCPServer

server = TCPServer(lambda conn, addr: time.sleep(2), max_connections=8).start()
time.sleep(0.3)  # let the accept thread set up its selector
held = []
try:
    while len(held) < 10000:
        held.append(os.open("/dev/null", os.O_RDONLY))
except OSError:
    pass
os.close(held.pop())  # one descriptor for the client; none left for accept()
client = socket.create_connection(server.address, timeout=2)
started = time.process_time()
time.sleep(1.0)
print(time.process_time() - started)
for fd in held:
    os.close(fd)
client.close()
server.stop(1)
"""


def test_tcp_server_does_not_busy_loop_when_out_of_file_descriptors() -> None:
    import resource
    import subprocess
    import sys

    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    done = subprocess.run(
        [sys.executable, "-c", _EMFILE_SCRIPT],
        capture_output=True,
        text=True,
        timeout=20,
        preexec_fn=low_fd_limit,
    )
    assert done.returncode == 0, done.stderr
    cpu = float(done.stdout.strip().splitlines()[-1])
    # accept() fails with EMFILE, the listener stays readable, the loop retries at once:
    # a whole core burnt for as long as descriptors are short.
    assert cpu < 0.3, f"accept thread used {cpu:.2f} s of CPU in 1 s while at EMFILE"


# -- names: IPv6 zone (scope) ids ------------------------------------------------------------


def test_lookup_keeps_the_zone_of_a_link_local_address() -> None:
    from wirekit.net import lookup, lookup_one

    # getaddrinfo on a literal: no query is sent. The zone is what makes a link-local
    # address usable; without it connect() fails with EINVAL.
    assert lookup("fe80::1%lo") == ["fe80::1%lo"]
    assert lookup_one("[fe80::1%lo]:80") == "fe80::1%lo"


def test_url_zone_id_is_percent_decoded() -> None:
    from wirekit.net import lookup
    from wirekit.net.names import host_of

    # RFC 6874: in a URL the zone's "%" is written "%25".
    assert host_of("http://[fe80::1%25lo]:8080/") == "fe80::1%lo"
    assert lookup("http://[fe80::1%25lo]:8080/") == ["fe80::1%lo"]


# -- dns: PTR for an address written the way every other function accepts it ---------------


def test_ptr_query_accepts_a_bracketed_ipv6_address() -> None:
    from wirekit.net import query

    zone = dict(ZONE)
    zone["0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"] = [
        ("PTR", 600, "example.test.")
    ]
    with running_dns_server(zone) as server:
        plain = query("2001:db8::10", "PTR", server="127.0.0.1", port=server.port, timeout=2)
        assert [r.target for r in plain] == ["example.test"]  # type: ignore[union-attr]
        # "[v6]" (or a URL) is turned into the bare address for every other record type,
        # but for PTR the brackets stop the reverse-name conversion: the literal text
        # "2001:db8::10" is asked as a name, and the server says NXDOMAIN.
        bracketed = query("[2001:db8::10]", "PTR", server="127.0.0.1", port=server.port, timeout=2)
    assert [r.target for r in bracketed] == ["example.test"]  # type: ignore[union-attr]


# -- servers: a bad allow list kills the accept thread on the first client -----------------


def test_tcp_server_bad_allow_list_does_not_kill_the_server() -> None:
    from wirekit.net import TCPServer

    def hello(connection: socket.socket, address: object) -> None:
        connection.sendall(b"hi")

    # Either refuse the typo at construction (as max_connections is) or keep serving.
    try:
        server = TCPServer(hello, allow=["127.0.0.0/8", "10.0.0.0/33"])
    except InvalidAddress:
        return
    server.start()
    replies = []
    try:
        for _ in range(2):
            with socket.create_connection(server.address, timeout=1) as client:
                try:
                    replies.append(client.recv(2))
                except TimeoutError:
                    replies.append(b"<no answer>")
    finally:
        server.stop(0.5)  # the dead accept thread leaks a slot: stop() waits it out
        # ...and the connection it had accepted: collect it here, quietly, so its
        # ResourceWarning does not surface at the end of the session.
        import gc
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    # Now: the first client is closed unserved (InvalidAddress kills the accept thread,
    # holding a slot), the second hangs in the backlog for ever.
    assert replies == [b"hi", b"hi"]


def test_udp_server_bad_allow_list_does_not_kill_the_server() -> None:
    try:
        server = UDPServer(lambda data, sender: data, allow="127.0.0.1/40")
    except InvalidAddress:
        return
    with server:
        for _ in range(2):
            assert udp_request(server.address, b"ping", timeout=0.3, retries=0) == b"ping"


def test_many_retries_with_a_backoff_cap_do_not_overflow() -> None:
    # "retry for a long time, never waiting more than max_backoff" is what the cap is for;
    # timeout * backoff**attempt overflows a float from attempt 1024 on (OverflowError)
    # before the first datagram is sent.
    with UDPServer(lambda data, sender: b"ok") as server:
        assert (
            udp_request(server.address, b"x", timeout=0.5, retries=1100, max_backoff=1.0) == b"ok"
        )
