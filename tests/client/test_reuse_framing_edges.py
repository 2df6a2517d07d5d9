"""Framing and connection reuse against scripted raw-socket servers: edge cases found by
review (each failed before its fix): stale idle connections the event loop has not seen
yet, an unasked 101, a stale resend landing on another stale connection."""

from __future__ import annotations

import time

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, close, expect, send, sleep

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
_OK2 = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"
_WRONG = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG"
_UNASKED_101 = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n\x81\x05hello"
)


def _busy_wait_for_peer(server: ScriptedServer, index: int) -> None:
    """Block (without letting an event loop run) until the server's script on connection
    ``index`` ended, then a little longer so its FIN / bytes reach our socket: what a
    program doing CPU work or a blocking call between two requests looks like."""
    assert server.connections[index].finished.wait(10)
    time.sleep(0.1)


# -- 1. AsyncClient: the idle check only sees what the event loop already read ----------------


@pytest.mark.anyio
async def test_async_post_is_not_sent_on_a_connection_the_server_already_closed() -> None:
    """docs/client.md: "a keep-alive connection that the server closed while idle is detected
    before use". The sync Client sees the FIN with poll(); the AsyncClient only looks at what
    the event loop has read, so the POST goes to the dead connection and, being no
    idempotent request, fails instead of using a fresh connection."""
    with ScriptedServer(
        [expect(), send(_OK), sleep(0.05), close()],
        [expect(), send(_OK2), sleep(1)],
    ) as server:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            first = await client.get(server.url + "/one")
            assert first.content == b"first"
            _busy_wait_for_peer(server, 0)
            second = await client.post(server.url + "/pay", content=b"once")
            assert (second.status_code, second.content) == (200, b"second")
        assert len(server.connections) == 2
        assert b"POST /pay " not in server.received[0]


@pytest.mark.anyio
async def test_async_post_right_after_a_server_close_uses_a_fresh_connection() -> None:
    """The same without any blocking call: a server that closes just after a keep-alive
    answer (allowed at any time, RFC 9112 §9.6). The sync Client gets its POST through every
    time; the AsyncClient writes it into the closed connection every time."""
    with ScriptedServer(
        [expect(), send(_OK), close()],
        [expect(), send(_OK2), sleep(1)],
    ) as server:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            assert (await client.get(server.url + "/one")).content == b"first"
            assert server.connections[0].finished.wait(10)
            second = await client.post(server.url + "/pay", content=b"once")
            assert (second.status_code, second.content) == (200, b"second")
        assert len(server.connections) == 2


@pytest.mark.anyio
async def test_async_stray_bytes_on_an_idle_connection_are_not_the_next_answer() -> None:
    """Bytes the server sent on an idle keep-alive connection (here a whole extra response)
    must never be read as the answer to the next request. The sync Client discards the
    connection; the AsyncClient returns the stray "WRONG" as the second response."""
    with ScriptedServer(
        [expect(), send(_OK), sleep(0.05), send(_WRONG), expect(), send(_OK2), sleep(1)],
        [expect(), send(_OK2), sleep(1)],
    ) as server:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            assert (await client.get(server.url + "/one")).content == b"first"
            time.sleep(0.3)  # the stray bytes arrive; the event loop does not run
            second = await client.get(server.url + "/two")
            assert second.content == b"second"


# -- 2. A 101 the request never asked for is handed out as the final response ----------------


def test_sync_stream_refuses_an_unasked_101() -> None:
    with ScriptedServer([expect(), send(_UNASKED_101), sleep(1)], [expect(), send(_OK2)]) as server:
        with wirekit.Client(retry=0, timeout=5) as client:
            with pytest.raises(wirekit.RemoteProtocolError):
                with client.stream("GET", server.url + "/") as response:
                    # As reviewed: a 101 "final" response, no error until the body is read.
                    pytest.fail(f"got a {response.status_code} response to a plain GET")
            assert client.get(server.url + "/again").content == b"second"


@pytest.mark.anyio
async def test_async_stream_refuses_an_unasked_101() -> None:
    with ScriptedServer([expect(), send(_UNASKED_101), sleep(1)], [expect(), send(_OK2)]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            with pytest.raises(wirekit.RemoteProtocolError):
                async with client.stream("GET", server.url + "/") as response:
                    pytest.fail(f"got a {response.status_code} response to a plain GET")
            assert (await client.get(server.url + "/again")).content == b"second"


# -- 3. The stale-connection resend takes another idle connection, not a fresh one ------------

# Each of the first two connections answers once, then closes when the next request arrives
# (a server whose idle timeout is checked when it reads): both are stale, neither is
# detectable before use.
_STALE = [expect(), send(_OK), expect(), close()]


def test_sync_stale_resend_goes_to_a_fresh_connection() -> None:
    """docs/client.md: an idempotent request that hits a connection the server closed while
    idle "is sent once more on a fresh one". The resend takes the next idle connection from
    the pool instead, which is just as stale, and the GET fails."""
    with ScriptedServer(_STALE, _STALE, [expect(), send(_OK2), sleep(1)]) as server:
        with wirekit.Client(retry=0, timeout=5) as client:
            with (
                client.stream("GET", server.url + "/a") as a,
                client.stream("GET", server.url + "/b") as b,
            ):
                a.read()
                b.read()
            response = client.get(server.url + "/c")
            assert response.content == b"second"


@pytest.mark.anyio
async def test_async_stale_resend_goes_to_a_fresh_connection() -> None:
    with ScriptedServer(_STALE, _STALE, [expect(), send(_OK2), sleep(1)]) as server:
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            async with (
                client.stream("GET", server.url + "/a") as a,
                client.stream("GET", server.url + "/b") as b,
            ):
                await a.aread()
                await b.aread()
            response = await client.get(server.url + "/c")
            assert response.content == b"second"
