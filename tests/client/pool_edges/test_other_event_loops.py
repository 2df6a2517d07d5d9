"""An ``AsyncClient`` (and what it hands out) used under more than one event loop: review of
the "a connection belongs to the loop it was opened on" promise (docs/client.md, "##
Connection pool"), after commit 3c6a98b.

Real loopback peers only (tests/support/pool_peers.py); every wait is bounded. Each test
failed on the code as reviewed; its docstring says what the user saw, what they would
expect, and where the cause was. (Found by a review of event-loop lifetimes; fixed since:
``AsyncIOStream`` treats a loop that is closed or not the running one as gone: its idle
connection is stale, a read or drain on it raises a ``ReadError``/``WriteError`` saying so,
and closing it aborts without that loop.)
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvloop

import wirekit
from tests.support.pool_peers import Peer, keep_alive, read_head

RUNNERS: dict[str, Callable[[Coroutine[Any, Any, Any]], Any]] = {
    "asyncio": asyncio.run,
    "uvloop": uvloop.run,
}
NEW_LOOP: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


@contextmanager
def _loop_warnings_allowed() -> Iterator[None]:
    """A loop that ends with the client's connections open makes asyncio and uvloop warn
    (ResourceWarning) about each transport, as documented: those are allowed, and only
    those."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    others = [w for w in caught if not issubclass(w.category, ResourceWarning)]
    assert others == [], [str(w.message) for w in others]


def _body_later(release: threading.Event) -> Callable[[socket.socket], None]:
    """Sends the head of a 5-byte response at once, its body once ``release`` is set."""

    def handler(sock: socket.socket) -> None:
        head, _ = read_head(sock)
        if head is None:
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        release.wait(5)
        sock.sendall(b"hello")

    return handler


def _read_fails_under_a_new_loop(
    run: Callable[[Coroutine[Any, Any, Any]], Any],
    client: wirekit.AsyncClient,
    response: wirekit.Response,
) -> None:
    """Reads ``response`` under a new loop (``run``): what the user's ``except`` sees must
    be a wirekit error saying why; then closes the client there too."""

    async def read() -> object:
        try:
            return await asyncio.wait_for(response.aread(), 5)
        except Exception as exc:
            return exc

    outcome = run(read())
    run(client.aclose())
    assert isinstance(outcome, wirekit.WirekitError), repr(outcome)
    assert "another event loop" in str(outcome)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
@pytest.mark.parametrize("timeout", [None, 5.0], ids=["no-timeout", "read-timeout"])
def test_streamed_response_read_under_a_new_loop_raises_a_wirekit_error(
    runner: str, timeout: float | None
) -> None:
    """What the user sees: ``response = await client.send(request, stream=True)`` in one
    ``asyncio.run()`` (a CLI step, a fixture), the body read with ``await response.aread()``
    in the next. The body cannot be read any more (its connection belongs to the closed
    loop), but what escapes is not a wirekit error: asyncio's bare ``RuntimeError: Event
    loop is closed`` (``loop.call_at`` on the dead loop in ``AsyncIOStream._wait``) or
    ``RuntimeError: Task ... got Future <Future pending> attached to a different loop`` (the
    waiter is made on the dead loop), depending on the loop (asyncio, uvloop) and on
    whether a read timeout is set. An ``except
    wirekit.TransportError`` (or ``except wirekit.WirekitError``) around the read does not
    catch it.

    Expected: a ``wirekit.ReadError`` (or ``StreamClosed``) that says the connection was
    opened on an event loop that has since closed, as every other failure of a read is one
    (DESIGN: errors are wirekit errors). httpx 0.28 lets the same RuntimeError through; this
    client already treats the closed-loop case specially everywhere else (``is_readable``,
    ``aclose``, ``abort``), just not in ``read``.

    Cause: ``AsyncIOStream.read`` / ``_wait`` (src/wirekit/_io/asyncio.py) use
    ``self._loop`` without checking it: ``_wait`` calls ``loop.create_future()`` and
    ``loop.call_at`` on the closed loop and awaits that future from another loop. Fix: in
    ``read`` (and ``write``), before waiting, if ``self._loop.is_closed()`` (or is not the
    running loop) raise ``read_failure(self._peer, ConnectionError("the connection belongs
    to an event loop that has closed"))`` (``write_failure`` for writes).
    """
    run = RUNNERS[runner]
    release = threading.Event()
    with Peer(_body_later(release)) as peer, _loop_warnings_allowed():
        client = wirekit.AsyncClient(retry=0, timeout=timeout)

        async def open_response() -> wirekit.Response:
            return await client.send(client.build_request("GET", peer.url), stream=True)

        response = run(open_response())
        assert response.status_code == 200
        release.set()  # the body is on its way: nothing but the loop stands in the way

        _read_fails_under_a_new_loop(run, client, response)
        del response  # collected within the warnings block


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_paused_streamed_response_read_under_a_new_loop_raises_a_wirekit_error(
    runner: str,
) -> None:
    """What the user sees: as above, with a body bigger than the read buffer (the stream
    paused reading at ``READ_BUFFER_HIGH_WATER``): in the next loop the read hands over
    what was buffered, then the client's own ``transport.resume_reading()`` raises
    ``RuntimeError: Event loop is closed`` (asyncio) or ``RuntimeError: unable to perform
    operation on <TCPTransport closed=True ...>; the handler is closed`` (uvloop) out of
    ``response.aread()``.

    Expected: a wirekit ``ReadError`` (see the test above). httpx 0.28 raises the same
    RuntimeError.

    Cause: ``AsyncIOStream.read`` (src/wirekit/_io/asyncio.py) calls
    ``self._transport.resume_reading()`` once the buffer drains, whatever the state of
    ``self._loop``. Fix: check ``self._loop.is_closed()`` at the top of ``read`` (raise a
    ``read_failure`` once the buffer is empty), and do not resume reading on a closed loop.
    """
    run = RUNNERS[runner]
    with Peer(keep_alive(b"x" * 3_000_000)) as peer, _loop_warnings_allowed():
        client = wirekit.AsyncClient(retry=0, timeout=5)

        async def open_response() -> wirekit.Response:
            response = await client.send(client.build_request("GET", peer.url), stream=True)
            await asyncio.sleep(0.2)  # the read buffer fills up, reading pauses
            return response

        response = run(open_response())

        _read_fails_under_a_new_loop(run, client, response)
        del response  # collected within the warnings block


@pytest.mark.parametrize("runner", sorted(NEW_LOOP))
def test_connection_of_another_loop_still_open_is_not_reused(runner: str) -> None:
    """What the user sees: one ``AsyncClient`` used from two event loops, the first not
    closed (two ``asyncio.Runner``s or ``loop.run_until_complete`` on loops kept for the
    life of a program, a loop per worker thread taking turns, a test framework that closes
    its loops late). The second loop's first request fails with ``RuntimeError: Task ...
    got Future <Future pending> attached to a different loop`` (asyncio and uvloop), raised
    from ``AsyncIOStream._wait``: the pool handed it the idle connection of the first loop.

    Expected (docs/client.md: "A connection belongs to the event loop it was opened on ...
    one used again under a new loop keeps working"): the connection of the other loop is not
    used; the request gets a new connection on the running loop and succeeds, as it does
    when the first loop has been closed (tests/client/pool_edges/test_second_event_loop.py).

    Cause: ``AsyncIOStream.is_readable`` (src/wirekit/_io/asyncio.py) reports a stream of
    another loop as stale only if that loop ``is_closed()``; an open loop that is not the
    running one passes, and ``AsyncConnectionPool._take_idle`` lends the connection out.
    Fix: in ``is_readable`` treat ``self._loop is not asyncio.get_running_loop()`` as stale
    (a C call; wrap in ``try`` for a call outside a loop); and in ``aclose``, for a stream of
    a loop other than the running one, ``abort()`` instead of awaiting ``protocol.closed``
    (a future of that other loop, which would raise the same RuntimeError when the pool
    closes the stale connection).
    """
    new_loop = NEW_LOOP[runner]
    with Peer(keep_alive()) as peer, _loop_warnings_allowed():
        client = wirekit.AsyncClient(retry=0, timeout=5)

        async def get() -> object:
            try:
                return (await asyncio.wait_for(client.get(peer.url), 5)).status_code
            except Exception as exc:  # what the user's except sees
                return exc

        first, second = new_loop(), new_loop()
        try:
            assert first.run_until_complete(get()) == 200
            outcome = second.run_until_complete(get())
            second.run_until_complete(client.aclose())
        finally:
            second.close()
            first.close()
    assert outcome == 200, repr(outcome)
