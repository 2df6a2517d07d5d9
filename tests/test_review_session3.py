"""Review of the session-3 changes: the async stream's shared timer when a read and a write
wait at once, a body that fails mid-read giving its pool slot back without ``aclose()``,
and a request pipelined behind an early-answered body followed by a half-close."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

import wirekit
from tests.server import apps
from tests.server.support import read_response, read_until_closed, running
from tests.support.scripted import ScriptedServer, close, expect, hold, send, sleep
from wirekit._io.asyncio import AsyncIOBackend, AsyncIOStream
from wirekit.errors import ReadTimeout, WriteTimeout

#: Outer bound on every wait below: a hang guard, far above the timeouts under test.
GUARD = 15.0


async def _flood(stream: AsyncIOStream, timeout: float) -> None:
    """Write until the peer (which never reads) makes a write wait for the buffer to drain."""
    for _ in range(10_000):
        await stream.write(b"x" * 65536, timeout=timeout)


async def _until_writing_paused(stream: AsyncIOStream) -> None:
    for _ in range(2000):  # bounded: a non-reading loopback peer fills up in milliseconds
        if stream._protocol.writing_paused:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the write buffer never filled")


async def _outcome(task: asyncio.Task[Any]) -> BaseException | None:
    """The task's exception, or a failure naming the hang when it outlives GUARD."""
    try:
        await asyncio.wait_for(asyncio.shield(task), GUARD)
    except TimeoutError:
        pytest.fail(f"still waiting after {GUARD} s: its own timeout never fired")
    except BaseException as exc:
        return exc
    return None


@pytest.mark.anyio
async def test_read_timeout_fires_while_a_write_waits_to_drain() -> None:
    # A read with a 1 s timeout, then a write on the same stream that waits (the peer never
    # reads) with a 60 s timeout: the read must still end after its own 1 s.
    with ScriptedServer([hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        reader = asyncio.create_task(stream.read(100, timeout=1.0))
        await asyncio.sleep(0)
        writer = asyncio.create_task(_flood(stream, timeout=60))
        try:
            await _until_writing_paused(stream)
            assert isinstance(await _outcome(reader), ReadTimeout)
        finally:
            reader.cancel()
            writer.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
            await stream.aclose()


@pytest.mark.anyio
async def test_write_timeout_fires_after_a_concurrent_read_returns() -> None:
    # A write waits to drain (2 s timeout) while a read on the same stream gets a byte and
    # returns: the write must still end with WriteTimeout after its own 2 s.
    with ScriptedServer([sleep(0.5), send(b"x"), hold()]) as server:
        stream = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        writer = asyncio.create_task(_flood(stream, timeout=2.0))
        reader = asyncio.create_task(stream.read(100))
        try:
            await _until_writing_paused(stream)
            assert await asyncio.wait_for(reader, GUARD) == b"x"
            assert isinstance(await _outcome(writer), WriteTimeout)
        finally:
            reader.cancel()
            writer.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
            await stream.aclose()


TRUNCATED = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"t" * 10
WHOLE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.mark.anyio
async def test_async_body_cut_short_gives_its_only_slot_back() -> None:
    # aread() no longer closes the response after read_all(): a failed read_all must itself
    # hand the connection back, or the next request waits for a slot that never frees.
    with ScriptedServer([expect(), send(TRUNCATED), close()], [expect(), send(WHOLE), hold()]) as server:
        limits = wirekit.Limits(max_connections=1)
        timeout = wirekit.Timeout(10, pool=1.0)
        async with wirekit.AsyncClient(limits=limits, timeout=timeout, retry=0) as client:
            with pytest.raises(wirekit.TransportError):
                await client.get(server.url + "/cut")
            response = await client.get(server.url + "/next")
    assert response.content == b"ok"
    assert len(server.connections) == 2


def test_sync_body_cut_short_gives_its_only_slot_back() -> None:
    with ScriptedServer([expect(), send(TRUNCATED), close()], [expect(), send(WHOLE), hold()]) as server:
        limits = wirekit.Limits(max_connections=1)
        timeout = wirekit.Timeout(10, pool=1.0)
        with wirekit.Client(limits=limits, timeout=timeout, retry=0) as client:
            with pytest.raises(wirekit.TransportError):
                client.get(server.url + "/cut")
            response = client.get(server.url + "/next")
    assert response.content == b"ok"
    assert len(server.connections) == 2


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        pytest.param(apps.wsgi_hello, b"hello from wsgi", id="wsgi"),
        pytest.param(apps.asgi_hello, b"hello from asgi", id="asgi"),
    ],
)
def test_request_after_an_early_answer_then_half_close_is_answered(
    app: Any, expected: bytes
) -> None:
    # The rest of an early-answered body, a pipelined request and the client's FIN arrive
    # together: the server answers the second request, then closes.
    with running(app) as server, server.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        buffer = bytearray()
        assert read_response(sock, buffer)[0] == 200
        sock.sendall(b"0123456789GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        rest = bytes(buffer) + read_until_closed(sock)
    assert rest.startswith(b"HTTP/1.1 200 ")
    assert rest.endswith(expected)
