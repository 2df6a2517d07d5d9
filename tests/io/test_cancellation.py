"""A cancelled read, write, connect or TLS handshake leaves no socket open (counted in
/proc/self/fd) and no callback pending on the event loop."""

from __future__ import annotations

import asyncio

import pytest

from tests.io.peers import AsyncFakeResolver, v4
from tests.support.blackhole import Blackhole
from tests.support.certs import Certs
from tests.support.helpers import open_fds
from tests.support.scripted import ScriptedServer, hold
from wirekit._io.asyncio import AsyncIOBackend
from wirekit._io.tls import create_ssl_context


async def _settle() -> None:
    # Closing a transport takes effect on the next loop turns; a few are plenty.
    for _ in range(5):
        await asyncio.sleep(0)


async def _accepted(server: ScriptedServer) -> None:
    for _ in range(1000):  # bounded: the server thread accepts within milliseconds
        if server.connections:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the scripted server never accepted")


def _pending_timers() -> int:
    loop = asyncio.get_running_loop()
    return len([h for h in getattr(loop, "_scheduled", []) if not h.cancelled()])


@pytest.mark.anyio
async def test_cancelled_read_closes_the_stream_and_its_timer() -> None:
    before = open_fds()  # the peer's end of the connection is counted too: compare after it
    with ScriptedServer([hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        await _accepted(server)
        during = open_fds()
        timers = _pending_timers()
        task = asyncio.create_task(stream.read(100, timeout=30))
        await asyncio.sleep(0.01)
        assert _pending_timers() == timers + 1  # the read's timeout handle
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _settle()
        assert _pending_timers() == timers
        assert open_fds() == during - 1  # our end is closed, the server's is still open
        await stream.aclose()  # still fine to call
    assert open_fds() == before


@pytest.mark.anyio
async def test_cancelled_write_closes_the_stream() -> None:
    before = open_fds()
    # hold() never reads, so the socket buffers fill and the writer must wait (an expect()
    # here would read, and on a fast machine reach its byte limit and close first).
    with ScriptedServer([hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)

        async def flood() -> None:
            for _ in range(10_000):  # the peer does not read: the write buffer fills and pauses
                await stream.write(b"x" * 65536, timeout=30)

        task = asyncio.create_task(flood())
        await asyncio.sleep(0.2)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _settle()
        assert stream.is_readable()  # closed: a pool would drop it
    assert open_fds() == before


@pytest.mark.anyio
async def test_cancelled_connect_race_leaves_no_socket(blackhole: Blackhole) -> None:
    second = Blackhole()
    try:
        before = open_fds()
        resolver = AsyncFakeResolver([v4(blackhole.port), v4(second.port)])
        backend = AsyncIOBackend(resolver=resolver, attempt_delay=0.01)
        task = asyncio.create_task(backend.connect_tcp("silent.test", 80, timeout=30))
        await asyncio.sleep(0.1)  # both attempts are running by now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _settle()
        assert open_fds() == before
    finally:
        second.close()


@pytest.mark.anyio
async def test_cancelled_single_connect_leaves_no_socket(blackhole: Blackhole) -> None:
    before = open_fds()
    task = asyncio.create_task(AsyncIOBackend().connect_tcp("127.0.0.1", blackhole.port))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _settle()
    assert open_fds() == before


@pytest.mark.anyio
async def test_cancelled_tls_handshake_leaves_no_socket(certs: Certs) -> None:
    before = open_fds()
    with ScriptedServer([hold()]) as server:
        plain = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        await _accepted(server)
        context = create_ssl_context(str(certs.ca_file))
        during = open_fds()
        task = asyncio.create_task(plain.start_tls(context, "localhost", timeout=30))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _settle()
        assert open_fds() == during - 1
    assert open_fds() == before
