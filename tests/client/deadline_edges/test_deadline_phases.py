"""The total deadline (``Timeout(total)``) and phase naming across every phase.

docs/client.md: "The positional value is the total deadline over the whole request: DNS,
waiting for the pool, connect, TLS, sending, receiving, redirects and retries."
DESIGN invariant 4/7: "A timeout error says which phase ran out", naming the host.

Every peer here is a real loopback server (or a resolver standing in for a slow DNS) that
stalls on purpose. Each test takes a few seconds at most.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest

import wirekit
from tests.client.deadline_edges._peer import Peer, sleep_until
from wirekit import Timeout
from wirekit.errors import ConnectTimeout, DeadlineExceeded

#: How long the slow peers stall (the deadline under test is 1 s).
STALL = 3.0
DEADLINE = 1.0
#: Slack over the deadline a fixed client may take (thread start-up, a slow CI box).
SLACK = 0.8


class SlowResolver:
    """A resolver whose answer takes STALL seconds (a DNS server that does not answer in
    time); works for the sync (``resolve``) and async (``aresolve``) clients."""

    def __init__(self, port: int) -> None:
        self.port = port

    def _answer(self) -> list[Any]:
        return [(socket.AF_INET, ("127.0.0.1", self.port))]

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        time.sleep(STALL)
        return self._answer()

    async def aresolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        await asyncio.sleep(STALL)
        return self._answer()


def _silent(conn: socket.socket, peer: Peer) -> None:
    """Accept, then say nothing (no TLS handshake, no SOCKS reply, no HTTP answer)."""
    sleep_until(peer, STALL + 2)


def _socks5_trickle(conn: socket.socket, peer: Peer) -> None:
    """A SOCKS5 proxy that answers correctly, one byte every 0.3 s (12 bytes: ~3.6 s)."""
    conn.settimeout(5)
    conn.recv(3)  # greeting: VER NMETHODS METHODS
    for byte in b"\x05\x00":
        if peer.stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.3)
    conn.recv(262)  # CONNECT request
    for byte in b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50":
        if peer.stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.3)
    sleep_until(peer, STALL + 2)  # then never answers the HTTP request


def _get(is_async: bool, url: str, timeout: Any, **client_options: Any) -> Any:
    if not is_async:
        with wirekit.Client(timeout=timeout, retry=0, **client_options) as client:
            return client.get(url)

    async def main() -> Any:
        async with wirekit.AsyncClient(timeout=timeout, retry=0, **client_options) as client:
            return await client.get(url)

    return asyncio.run(main())


def _timed_failure(is_async: bool, url: str, timeout: Any, **options: Any) -> tuple[Any, float]:
    started = time.monotonic()
    with pytest.raises(wirekit.TransportError) as info:
        _get(is_async, url, timeout, **options)
    return info.value, time.monotonic() - started


def _read_head(conn: socket.socket) -> bytes | None:
    """The request head (bytes up to the blank line), or None if the client went away."""
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data


# -- DNS -------------------------------------------------------------------------------------
def test_sync_slow_dns_is_bounded_by_total_deadline() -> None:
    # The AsyncClient gives up after 1 s; the sync Client waits for the resolver (3 s) and
    # only then reports that the 1 s deadline ran out.
    exc, elapsed = _timed_failure(
        False, "http://slow-name.test:9/", DEADLINE, resolver=SlowResolver(9)
    )
    assert isinstance(exc, DeadlineExceeded), repr(exc)
    assert "slow-name.test" in str(exc)
    assert elapsed < DEADLINE + SLACK, f"the 1 s deadline held the request for {elapsed:.2f} s"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_socks5_local_dns_is_bounded_by_total_deadline(is_async: bool) -> None:
    # socks5:// resolves the target locally (our resolver) before talking to the proxy;
    # that resolution runs outside the connect timeout, for the AsyncClient too.
    with Peer(_silent) as proxy:
        exc, elapsed = _timed_failure(
            is_async,
            "http://slow-name.test/",
            DEADLINE,
            proxy=f"socks5://127.0.0.1:{proxy.port}",
            resolver=SlowResolver(80),
        )
    assert isinstance(exc, DeadlineExceeded), repr(exc)
    assert "slow-name.test" in str(exc)
    assert elapsed < DEADLINE + SLACK, f"the 1 s deadline held the request for {elapsed:.2f} s"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_socks_proxy_name_lookup_is_bounded_by_total_deadline(is_async: bool) -> None:
    # The proxy's own name is resolved by our resolver within the deadline (python-socks
    # would call getaddrinfo itself, unbounded in the sync client and past the resolver).
    exc, elapsed = _timed_failure(
        is_async,
        "http://origin.test/",
        DEADLINE,
        proxy="socks5h://slow-proxy.test:1080",
        resolver=SlowResolver(80),
    )
    assert isinstance(exc, DeadlineExceeded), repr(exc)
    assert "slow-proxy.test" in str(exc)
    assert elapsed < DEADLINE + SLACK, f"the 1 s deadline held the request for {elapsed:.2f} s"


def test_async_dns_timeout_names_the_dns_phase() -> None:
    # The sync client says "resolving and connecting to slow-name.test:9 timed out"; the async
    # one blames the TCP connect ("connect to slow-name.test:9 timed out") although no
    # connection was ever attempted: the stalled phase was name resolution.
    exc, _ = _timed_failure(
        True, "http://slow-name.test:9/", Timeout(5.0, connect=0.5), resolver=SlowResolver(9)
    )
    assert isinstance(exc, ConnectTimeout), repr(exc)
    assert "slow-name.test" in str(exc)
    assert "resolv" in str(exc).lower() or "dns" in str(exc).lower(), str(exc)


# -- SOCKS -----------------------------------------------------------------------------------
def test_sync_socks_trickling_handshake_is_bounded_by_total_deadline() -> None:
    # python-socks' sync Proxy uses per-recv socket timeouts: a proxy sending its 12 reply
    # bytes 0.3 s apart never trips a 1 s timeout, and holds a 1 s request for ~3.6 s (the
    # AsyncClient stops at 1 s). The error then also blames "sending the request".
    with Peer(_socks5_trickle) as proxy:
        exc, elapsed = _timed_failure(
            False, "http://origin.test/", DEADLINE, proxy=f"socks5h://127.0.0.1:{proxy.port}"
        )
    assert isinstance(exc, DeadlineExceeded), repr(exc)
    assert elapsed < DEADLINE + SLACK, f"the 1 s deadline held the request for {elapsed:.2f} s"


# -- TLS -------------------------------------------------------------------------------------
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_tls_handshake_deadline_names_the_tls_phase(is_async: bool, certs: Any) -> None:
    # A server that accepts TCP and never answers the ClientHello: the deadline runs out in
    # the TLS handshake (the connection itself succeeded at once), but DeadlineExceeded says
    # "ran out during connect". With a connect= limit instead, the same stall is reported
    # correctly as "TLS handshake with 127.0.0.1 timed out".
    with Peer(_silent) as server:
        exc, elapsed = _timed_failure(
            is_async, f"https://127.0.0.1:{server.port}/", DEADLINE, verify=str(certs.ca_file)
        )
    assert isinstance(exc, DeadlineExceeded), repr(exc)
    assert elapsed < DEADLINE + SLACK
    assert "127.0.0.1" in str(exc)
    assert "TLS" in str(exc), str(exc)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_tls_handshake_through_proxy_tunnel_deadline_names_the_tls_phase(
    is_async: bool, certs: Any
) -> None:
    # Same through an HTTP proxy: CONNECT is accepted, then the origin's TLS handshake
    # stalls. The error says "during connect", pointing at the proxy hop that worked.
    def accept_connect(conn: socket.socket, peer: Peer) -> None:
        if _read_head(conn) is None:
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sleep_until(peer, STALL + 2)

    with Peer(accept_connect) as proxy:
        exc, _ = _timed_failure(
            is_async,
            "https://origin.test/",
            DEADLINE,
            proxy=f"http://127.0.0.1:{proxy.port}",
            verify=str(certs.ca_file),
        )
    assert isinstance(exc, DeadlineExceeded), repr(exc)
    assert "origin.test" in str(exc)
    assert "TLS" in str(exc), str(exc)


# -- redirects -------------------------------------------------------------------------------
def _redirect_with_trickling_body(conn: socket.socket, peer: Peer) -> None:
    """302 with a 100-byte body sent one byte every 50 ms (5 s), on every hop."""
    if _read_head(conn) is None:
        return
    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        if peer.stop.is_set():
            return
        conn.sendall(b"x")
        time.sleep(0.05)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_deadline_spent_on_redirect_body_is_not_blamed_on_connect(is_async: bool) -> None:
    # The whole second went into reading the 302's (small, so kept) body; the client drops
    # that DeadlineExceeded in _discard, moves on to the next hop and reports "ran out during
    # connect": a connect that never got a chance to be slow.
    with Peer(_redirect_with_trickling_body) as server:
        exc, elapsed = _timed_failure(is_async, f"http://127.0.0.1:{server.port}/", DEADLINE)
    assert isinstance(exc, DeadlineExceeded), repr(exc)
    assert elapsed < DEADLINE + SLACK
    assert "during connect" not in str(exc), str(exc)
    assert "body" in str(exc), str(exc)


# -- transports used directly ----------------------------------------------------------------
def _stall_after_head(conn: socket.socket, peer: Peer) -> None:
    if _read_head(conn) is None:
        return
    sleep_until(peer, STALL + 2)


def _send_through_transport(is_async: bool, request: Any) -> Any:
    if not is_async:
        with wirekit.HTTPTransport() as transport:
            return transport.handle_request(request)

    async def main() -> Any:
        async with wirekit.AsyncHTTPTransport() as transport:
            return await transport.handle_async_request(request)

    return asyncio.run(main())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_transport_deadline_error_names_the_host(is_async: bool) -> None:
    # HTTPTransport/AsyncHTTPTransport are public (docs: transport=); used on their own with
    # a timeout extension, the Deadline they build has no URL, so DeadlineExceeded reads
    # "ran out during waiting for the response" with no host at all.
    with Peer(_stall_after_head) as server:
        url = f"http://127.0.0.1:{server.port}/"
        request = wirekit.Request("GET", url, extensions={"timeout": Timeout(DEADLINE)})
        with pytest.raises(DeadlineExceeded) as info:
            _send_through_transport(is_async, request)
    assert f"127.0.0.1:{server.port}" in str(info.value), str(info.value)


# -- SOCKS local DNS errors --------------------------------------------------------------------
class FailingResolver:
    """A resolver that fails the way getaddrinfo does (socket.gaierror)."""

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def aresolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_socks5_local_dns_failure_is_a_name_resolution_error(is_async: bool) -> None:
    # Direct connections turn a resolver's gaierror into NameResolutionError (naming the
    # host; fetch(default=...) catches it). Through socks5:// (local DNS) the raw
    # socket.gaierror escapes the client: not a WirekitError, no host named, and
    # wirekit.fetch(url, default=None, proxy="socks5://...") raises instead of returning None.
    with Peer(_silent) as proxy:
        with pytest.raises(wirekit.NameResolutionError) as info:
            _get(
                is_async,
                "http://nx-name.test/",
                DEADLINE,
                proxy=f"socks5://127.0.0.1:{proxy.port}",
                resolver=FailingResolver(),
            )
    assert "nx-name.test" in str(info.value)


# -- the sync lookup's thread hop only where a limit applies -------------------------------
class RecordingResolver:
    """Answers at once with the peer's address and records the thread it ran in."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.threads: list[str] = []

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:
        self.threads.append(threading.current_thread().name)
        return [(socket.AF_INET, ("127.0.0.1", self.port))]


def _answer_204(conn: socket.socket, peer: Peer) -> None:
    if _read_head(conn) is None:
        return
    conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
    sleep_until(peer, STALL)


@pytest.mark.parametrize("timeout", [None, DEADLINE], ids=["no-limit", "deadline"])
def test_sync_lookup_runs_in_a_helper_thread_only_under_a_time_limit(timeout: Any) -> None:
    with Peer(_answer_204) as server:
        resolver = RecordingResolver(server.port)
        limits = Timeout(timeout, connect=timeout)
        response = _get(False, "http://some-name.test/", limits, resolver=resolver)
    assert response.status_code == 204
    caller = threading.current_thread().name
    assert resolver.threads == [caller if timeout is None else "wirekit-dns"]
