"""Plain TCP and Unix streams of both backends against real loopback peers: bytes both
ways, EOF, timeouts, refused and reset connections, stale detection, name errors, traces."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.io.peers import AsyncFakeResolver, FakeResolver, refused_port
from tests.support.helpers import open_fds
from tests.support.keepalive import KeepAliveServer
from tests.support.scripted import ScriptedServer, close, expect, hold, reset, send, sleep
from wirekit._io.asyncio import AsyncIOBackend, AsyncSystemResolver
from wirekit._io.backends import (
    AsyncDefaultBackend,
    AsyncDefaultResolver,
    DefaultBackend,
    DefaultResolver,
)
from wirekit._io.sync import SyncBackend, SystemResolver
from wirekit.errors import (
    ConnectError,
    NameResolutionError,
    ReadError,
    ReadTimeout,
    TimeoutException,
    WriteError,
    WriteTimeout,
)

REQUEST = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#: A host name longer than DNS allows: rejected locally (IDNA), so no query leaves the machine.
UNRESOLVABLE = "a" * 300 + ".invalid"


def _read_to_eof_sync(stream: Any, limit: int = 1000) -> bytes:
    data = b""
    for _ in range(limit):
        chunk = stream.read(65536, timeout=10)
        if not chunk:
            return data
        data += chunk
    raise AssertionError("no EOF")


async def _read_to_eof_async(stream: Any, limit: int = 1000) -> bytes:
    data = b""
    for _ in range(limit):
        chunk = await stream.read(65536, timeout=10)
        if not chunk:
            return data
        data += chunk
    raise AssertionError("no EOF")


def _wait_until_finished(server: ScriptedServer) -> None:
    for _ in range(1000):  # bounded: the server thread accepts within milliseconds
        if server.connections:
            break
        threading.Event().wait(0.01)
    assert server.connections[0].finished.wait(10)


def _flood_sync(stream: Any, timeout: float = 10) -> None:
    # Bounded: a reset peer fails this after a few sends, a non-reading one after the
    # socket buffers (a few MiB) fill; 1000 x 64 KiB is far more than either.
    for _ in range(1000):
        stream.write(b"x" * 65536, timeout=timeout)


async def _flood_async(stream: Any, timeout: float = 10) -> None:
    for _ in range(1000):
        await stream.write(b"x" * 65536, timeout=timeout)


def test_default_names_resolve_to_the_backends() -> None:
    assert DefaultBackend is SyncBackend
    assert AsyncDefaultBackend is AsyncIOBackend
    assert DefaultResolver is SystemResolver
    assert AsyncDefaultResolver is AsyncSystemResolver


def test_sync_request_response_and_eof() -> None:
    with ScriptedServer([expect(), send(RESPONSE), close()]) as server:
        stream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        stream.write(REQUEST, timeout=10)
        assert _read_to_eof_sync(stream) == RESPONSE
        assert stream.read(10, timeout=10) == b""  # EOF stays EOF
        assert stream.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        stream.close()
        stream.close()  # idempotent
    assert server.received == [REQUEST]


@pytest.mark.anyio
async def test_async_request_response_and_eof() -> None:
    with ScriptedServer([expect(), send(RESPONSE), close()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        await stream.write(REQUEST, timeout=10)
        assert await _read_to_eof_async(stream) == RESPONSE
        assert await stream.read(10) == b""
        assert stream.get_extra_info("peername") == ("127.0.0.1", server.port)
        assert stream.get_extra_info("ssl_object") is None
        assert stream.get_extra_info("alpn_protocol") is None
        await stream.aclose()
        await stream.aclose()
    assert server.received == [REQUEST]


def test_sync_read_respects_max_bytes_and_large_bodies() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    with ScriptedServer([expect(), send(body), close()]) as server:
        stream = SyncBackend().connect_tcp("localhost", server.port, timeout=10)
        stream.write(REQUEST)
        assert len(stream.read(10, timeout=10)) <= 10
        stream.close()


@pytest.mark.anyio
async def test_async_large_body_with_flow_control_arrives_intact() -> None:
    body = bytes(range(256)) * 8192  # 2 MiB: far past the 4 KiB high-water mark below
    with ScriptedServer([expect(), send(body), close()]) as server:
        backend = AsyncIOBackend(read_buffer_high_water=4096)
        stream = await backend.connect_tcp("127.0.0.1", server.port, timeout=10)
        await stream.write(REQUEST)
        first = await stream.read(100, timeout=10)
        assert len(first) <= 100
        rest = await _read_to_eof_async(stream, limit=100_000)
        assert first + rest == body
        await stream.aclose()


def test_sync_read_timeout_names_peer_and_phase() -> None:
    with ScriptedServer([expect(), hold()]) as server:
        stream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        stream.write(REQUEST)
        with pytest.raises(
            ReadTimeout, match=rf"read from 127.0.0.1:{server.port} timed out"
        ) as info:
            stream.read(10, timeout=0.05)
        assert isinstance(info.value, TimeoutError)
        assert info.value.phase == "read"
        stream.close()


@pytest.mark.anyio
async def test_async_read_timeout_leaves_stream_usable() -> None:
    with ScriptedServer([expect(), hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        await stream.write(REQUEST)
        with pytest.raises(ReadTimeout, match=r"timed out after 0.05 s"):
            await stream.read(10, timeout=0.05)
        assert not stream.is_readable()
        await stream.aclose()


@pytest.mark.anyio
async def test_async_short_timeout_after_a_long_one_fires_on_time() -> None:
    # The stream keeps one timer: a read with a shorter timeout than the armed one must
    # arm an earlier timer, or it would wait the long one out (asyncio.wait_for catches that).
    with ScriptedServer([expect(), send(b"first"), hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        try:
            await stream.write(REQUEST)
            assert await stream.read(10, timeout=60) == b"first"
            with pytest.raises(ReadTimeout, match=r"timed out after 0.1 s"):
                await asyncio.wait_for(stream.read(10, timeout=0.1), 10)
        finally:
            await stream.aclose()


@pytest.mark.anyio
async def test_async_long_timeout_after_a_short_one_is_not_cut_short() -> None:
    # The timer armed by the first read (0.2 s) fires during the second read: it must move
    # on to the second read's own deadline, not expire it. The data comes at about 0.6 s.
    with ScriptedServer([expect(), send(b"first"), sleep(0.6), send(b"second"), hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        try:
            await stream.write(REQUEST)
            assert await stream.read(10, timeout=0.2) == b"first"
            assert await stream.read(10, timeout=10) == b"second"
        finally:
            await stream.aclose()


def test_sync_refused_is_a_connect_error_not_a_timeout() -> None:
    port = refused_port()
    with pytest.raises(ConnectError, match=rf"^connection refused by 127.0.0.1:{port}$") as info:
        SyncBackend().connect_tcp("127.0.0.1", port, timeout=10)
    assert not isinstance(info.value, TimeoutException)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


@pytest.mark.anyio
async def test_async_refused_is_a_connect_error_not_a_timeout() -> None:
    port = refused_port()
    with pytest.raises(ConnectError, match=rf"^connection refused by 127.0.0.1:{port}$") as info:
        await AsyncIOBackend().connect_tcp("127.0.0.1", port, timeout=10)
    assert not isinstance(info.value, TimeoutException)


def test_sync_refused_via_a_name_says_both() -> None:
    port = refused_port()
    with pytest.raises(ConnectError, match=rf"localhost:{port}: connection refused by 127.0.0.1"):
        SyncBackend(resolver=FakeResolver([(socket.AF_INET, ("127.0.0.1", port))])).connect_tcp(
            "localhost", port
        )


def test_sync_reset_while_reading_is_a_read_error() -> None:
    with ScriptedServer([expect(), send(b"HTTP/1.1 200 OK\r\n"), reset()]) as server:
        stream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        stream.write(REQUEST)
        with pytest.raises(ReadError, match=rf"connection reset by 127.0.0.1:{server.port}"):
            _read_to_eof_sync(stream)
        stream.close()


@pytest.mark.anyio
async def test_async_reset_while_reading_is_a_read_error() -> None:
    with ScriptedServer([expect(), send(b"HTTP/1.1 200 OK\r\n"), reset()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        await stream.write(REQUEST)
        with pytest.raises(ReadError, match=r"connection reset by"):
            await _read_to_eof_async(stream)
        await stream.aclose()


def test_sync_write_to_a_reset_peer_is_a_write_error() -> None:
    # The pause lets the client's connect() finish before the reset: a reset racing the
    # handshake is reported as a connect failure, which is not what these tests are about.
    with ScriptedServer([sleep(0.3), reset()]) as server:
        stream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        _wait_until_finished(server)
        with pytest.raises(WriteError, match=rf"sending to 127.0.0.1:{server.port} failed"):
            _flood_sync(stream)
        stream.close()


@pytest.mark.anyio
async def test_async_write_after_peer_reset_is_a_write_error() -> None:
    import asyncio

    # The pause lets the client's connect() finish before the reset: a reset racing the
    # handshake is reported as a connect failure, which is not what these tests are about.
    with ScriptedServer([sleep(0.3), reset()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        for _ in range(1000):  # bounded wait for the RST to arrive
            if stream.is_readable():
                break
            await asyncio.sleep(0.01)
        with pytest.raises(WriteError, match=r"sending to"):
            await stream.write(b"late")
        await stream.aclose()


def test_sync_is_readable_detects_a_peer_close_on_an_idle_connection() -> None:
    gate = threading.Event()
    with KeepAliveServer() as server:
        stream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        assert not stream.is_readable()
        stream.write(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        for _ in range(1000):  # bounded wait for the server's answer and FIN
            if stream.is_readable():
                break
            gate.wait(0.01)
        assert stream.is_readable()
        stream.close()


@pytest.mark.anyio
async def test_async_is_readable_detects_a_peer_close() -> None:
    import asyncio

    with ScriptedServer([close()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        for _ in range(1000):
            if stream.is_readable():
                break
            await asyncio.sleep(0.01)
        assert stream.is_readable()
        assert await stream.read(10) == b""
        await stream.aclose()


def test_sync_name_resolution_error_names_the_host() -> None:
    with pytest.raises(NameResolutionError, match=r"cannot resolve") as info:
        SyncBackend().connect_tcp(UNRESOLVABLE, 80, timeout=10)
    assert info.value.host == UNRESOLVABLE
    assert info.value.__cause__ is not None


@pytest.mark.anyio
async def test_async_name_resolution_error_names_the_host() -> None:
    with pytest.raises(NameResolutionError) as info:
        await AsyncIOBackend().connect_tcp(UNRESOLVABLE, 80, timeout=10)
    assert info.value.host == UNRESOLVABLE


def test_sync_injected_resolver_failure_propagates() -> None:
    resolver = FakeResolver(fail=True)
    with pytest.raises(NameResolutionError, match=r"cannot resolve 'nohost.invalid'"):
        SyncBackend(resolver=resolver).connect_tcp("nohost.invalid", 80)


@pytest.mark.anyio
async def test_async_injected_resolver_failure_propagates() -> None:
    resolver = AsyncFakeResolver(fail=True)
    with pytest.raises(NameResolutionError, match=r"cannot resolve 'nohost.invalid'"):
        await AsyncIOBackend(resolver=resolver).connect_tcp("nohost.invalid", 80)


def test_system_resolver_resolves_localhost_and_literals_skip_it() -> None:
    addresses = SystemResolver().resolve("localhost", 8080)
    assert ("127.0.0.1", 8080) in [a[1][:2] for a in addresses]
    resolver = FakeResolver(fail=True)  # would fail if asked
    with ScriptedServer([close()], host="::1") as server:
        stream = SyncBackend(resolver=resolver).connect_tcp("[::1]", server.port, timeout=10)
        stream.close()
    assert resolver.questions == []


def test_sync_trace_reports_dns_and_connect() -> None:
    log: list[tuple[str, dict[str, Any]]] = []
    with ScriptedServer([close()]) as server:
        stream = SyncBackend().connect_tcp(
            "localhost", server.port, timeout=10, trace=lambda e, i: log.append((e, i))
        )
        stream.close()
    names = [event for event, _ in log]
    assert names[:2] == ["dns.start", "dns.done"]
    assert "127.0.0.1" in log[1][1]["addresses"]
    assert names[-1] == "connect.done"


def test_sync_local_address_and_socket_options_are_applied() -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    with ScriptedServer([close()]) as server:
        stream = SyncBackend().connect_tcp(
            "127.0.0.1", server.port, local_address="127.0.0.2", socket_options=options
        )
        assert stream.get_extra_info("sockname")[0] == "127.0.0.2"
        assert stream.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        stream.close()


@pytest.mark.anyio
async def test_async_local_address_is_applied() -> None:
    with ScriptedServer([close()]) as server:
        stream = await AsyncIOBackend().connect_tcp(
            "127.0.0.1", server.port, local_address="127.0.0.2"
        )
        assert stream.get_extra_info("sockname")[0] == "127.0.0.2"
        await stream.aclose()


def _unix_server(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    return server


def test_sync_unix_socket_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with _unix_server(path) as server:
        stream = SyncBackend().connect_unix_socket(str(path), timeout=10)
        peer, _ = server.accept()
        with peer:
            stream.write(b"ping")
            assert peer.recv(4) == b"ping"
            peer.sendall(b"pong")
            assert stream.read(4, timeout=10) == b"pong"
        stream.close()
    with pytest.raises(ConnectError, match=r"Unix socket .*s\.sock"):
        SyncBackend().connect_unix_socket(str(path), timeout=10)


@pytest.mark.anyio
async def test_async_unix_socket_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with _unix_server(path) as server:
        stream = await AsyncIOBackend().connect_unix_socket(str(path), timeout=10)
        peer, _ = server.accept()
        with peer:
            await stream.write(b"ping")
            assert peer.recv(4) == b"ping"
            peer.sendall(b"pong")
            assert await stream.read(4, timeout=10) == b"pong"
        await stream.aclose()
    with pytest.raises(ConnectError, match=r"Unix socket"):
        await AsyncIOBackend().connect_unix_socket(str(path), timeout=10)


def test_sync_streams_leave_no_fd_behind() -> None:
    before = open_fds()
    with KeepAliveServer() as server:
        for _ in range(5):
            stream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
            stream.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert stream.read(1000, timeout=10).startswith(b"HTTP/1.1 200")
            stream.close()
    assert open_fds() == before


@pytest.mark.anyio
async def test_async_streams_leave_no_fd_behind() -> None:
    before = open_fds()
    with KeepAliveServer() as server:
        for _ in range(5):
            stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
            await stream.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert (await stream.read(1000, timeout=10)).startswith(b"HTTP/1.1 200")
            await stream.aclose()
    assert open_fds() == before


def test_sync_write_timeout_when_the_peer_does_not_read() -> None:
    with ScriptedServer([hold()]) as server:
        stream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        with pytest.raises(WriteTimeout, match=rf"write to 127.0.0.1:{server.port} timed out"):
            _flood_sync(stream, timeout=0.2)
        stream.close()


@pytest.mark.anyio
async def test_async_write_timeout_when_the_peer_does_not_read() -> None:
    with ScriptedServer([hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        with pytest.raises(WriteTimeout, match=r"timed out after 0\.2 s") as info:
            await _flood_async(stream, timeout=0.2)
        assert info.value.phase == "write"
        await stream.aclose()


@pytest.mark.anyio
async def test_async_read_after_close_is_a_read_error() -> None:
    with ScriptedServer([expect(), send(RESPONSE), hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        await stream.aclose()
        with pytest.raises(ReadError, match="the stream is closed"):
            await stream.read(10)
        with pytest.raises(WriteError, match="the connection is closed"):
            await stream.write(b"x")


def test_async_backend_runs_on_uvloop() -> None:
    import asyncio

    import uvloop

    async def exchange(port: int) -> bytes:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", port, timeout=10)
        await stream.write(REQUEST, timeout=10)
        data = await _read_to_eof_async(stream)
        await stream.aclose()
        return data

    with (
        ScriptedServer([expect(), send(RESPONSE), close()]) as server,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        assert runner.run(exchange(server.port)) == RESPONSE


@pytest.mark.anyio
async def test_async_reads_never_exceed_max_bytes_and_keep_every_byte_in_order() -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, arriving in chunks the loop sizes
    with ScriptedServer([expect(), send(payload), close()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        try:
            await stream.write(REQUEST, timeout=10)
            received = b""
            for _ in range(100_000):
                chunk = await stream.read(1000, timeout=10)  # smaller than any loop chunk
                if not chunk:
                    break
                assert len(chunk) <= 1000
                received += chunk
        finally:
            await stream.aclose()
    assert received == payload


@pytest.mark.anyio
async def test_async_stream_merges_a_trickle_of_tiny_pieces() -> None:
    # 20,000 one-byte sends: kept as a few merged buffers, not an object per byte, and
    # read back in order.
    from wirekit._io.asyncio import _StreamProtocol

    protocol = _StreamProtocol(asyncio.get_running_loop(), high_water=1 << 20)
    for index in range(20_000):
        protocol.data_received(bytes([index % 251]))
    assert protocol.buffered == 20_000
    assert len(protocol.chunks) <= 2
    assert b"".join(bytes(chunk) for chunk in protocol.chunks) == bytes(
        index % 251 for index in range(20_000)
    )


async def _flood(stream: Any, timeout: float) -> None:
    """Write until the peer (which never reads) makes a write wait for the buffer to drain."""
    for _ in range(10_000):
        await stream.write(b"x" * 65536, timeout=timeout)


async def _until_writing_paused(stream: Any) -> None:
    for _ in range(2000):  # bounded: a non-reading loopback peer fills up in milliseconds
        if stream._protocol.writing_paused:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the write buffer never filled")


async def _outcome(task: asyncio.Task[Any]) -> BaseException | None:
    """The task's exception; a failure naming the hang if it outlives 15 s (not wait_for:
    ReadTimeout and WriteTimeout are TimeoutErrors too)."""
    done, _ = await asyncio.wait({task}, timeout=15.0)
    if not done:
        pytest.fail("still waiting after 15 s: its own timeout never fired")
    return task.exception()


async def _stop(stream: Any, *tasks: asyncio.Task[Any]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await stream.aclose()


@pytest.mark.anyio
async def test_async_read_timeout_fires_while_a_write_waits_to_drain() -> None:
    # One timer serves both directions: a read (1 s) and a write that waits to drain (60 s)
    # at once on one stream each keep their own deadline.
    with ScriptedServer([hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        reader = asyncio.create_task(stream.read(100, timeout=1.0))
        await asyncio.sleep(0)
        writer = asyncio.create_task(_flood(stream, timeout=60))
        try:
            await _until_writing_paused(stream)
            assert isinstance(await _outcome(reader), ReadTimeout)
        finally:
            await _stop(stream, reader, writer)


@pytest.mark.anyio
async def test_async_write_timeout_fires_after_a_concurrent_read_returns() -> None:
    # A write waits to drain (2 s) while an untimed read on the same stream gets a byte and
    # returns: the write still ends with WriteTimeout after its own 2 s.
    with ScriptedServer([sleep(0.5), send(b"x"), hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        writer = asyncio.create_task(_flood(stream, timeout=2.0))
        reader = asyncio.create_task(stream.read(100))
        try:
            await _until_writing_paused(stream)
            assert await _outcome(reader) is None
            assert reader.result() == b"x"
            assert isinstance(await _outcome(writer), WriteTimeout)
        finally:
            await _stop(stream, reader, writer)
