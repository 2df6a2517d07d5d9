"""The connect phase: busy Unix sockets, resolvers that raise, socket options, a cancelled race (from a review)."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

import wirekit
from wirekit._io.base import Address
from wirekit.errors import ConnectError, NameResolutionError, WriteError

# --- a Unix socket server whose accept queue is full --------------------------------------


@pytest.fixture
def full_unix_socket() -> Iterator[str]:
    """A listening Unix socket whose backlog is full: a new connect() gets EAGAIN."""
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "busy.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(0)
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):
            filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect(path)
            except BlockingIOError:
                filler.close()
                break
            fillers.append(filler)
        else:
            pytest.skip("could not fill the accept queue of a Unix listener")
        yield path
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
        os.unlink(path)
        os.rmdir(directory)


def _run(loop_name: str, coro: Any) -> Any:
    if loop_name == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.run(coro)
    return asyncio.run(coro)


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_async_uds_to_a_busy_server_is_a_connect_error_not_a_write_error(
    full_unix_socket: str, loop_name: str
) -> None:
    # The sync client says ConnectError (and retries it: nothing was sent). The async client
    # takes asyncio's sock_connect at its word after EAGAIN, traces "connect.done" for a
    # socket that never connected, and fails later with a WriteError that is not retried.
    events: list[str] = []

    async def main() -> BaseException:
        async with wirekit.AsyncClient(
            uds=full_unix_socket,
            retry=0,
            timeout=wirekit.Timeout(5, connect=0.5),
            trace=lambda event, info: events.append(event),
        ) as client:
            try:
                await client.get("http://svc.test/")
            except Exception as exc:
                return exc
        raise AssertionError("the request to a busy Unix socket succeeded")

    error = _run(loop_name, main())
    assert not isinstance(error, WriteError), f"{type(error).__name__}: {error}"
    assert isinstance(error, ConnectError | wirekit.ConnectTimeout), repr(error)
    assert "connect.done" not in events


# --- a custom resolver that fails the way getaddrinfo does -------------------------------


class _GaiFailingResolver:
    """A user resolver wrapping socket.getaddrinfo: it fails with socket.gaierror."""

    def __init__(self) -> None:
        self.calls = 0

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]:
        self.calls += 1
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


class _AsyncGaiFailingResolver(_GaiFailingResolver):
    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]:  # type: ignore[override]
        return _GaiFailingResolver.resolve(self, host, port, family=family)


def test_sync_resolver_gaierror_becomes_name_resolution_error() -> None:
    with wirekit.Client(resolver=_GaiFailingResolver(), retry=0) as client:
        with pytest.raises(NameResolutionError, match=r"svc\.test"):
            client.get("http://svc.test/")


def test_async_resolver_gaierror_becomes_name_resolution_error() -> None:
    async def main() -> None:
        async with wirekit.AsyncClient(resolver=_AsyncGaiFailingResolver(), retry=0) as client:
            with pytest.raises(NameResolutionError, match=r"svc\.test"):
                await client.get("http://svc.test/")

    asyncio.run(main())


def test_fetch_default_covers_a_resolver_that_raises_gaierror() -> None:
    # fetch(default=) promises the default for DNS failures; a raw gaierror escapes it.
    transport = wirekit.HTTPTransport(resolver=_GaiFailingResolver())
    assert wirekit.fetch("http://svc.test/", default="X", retry=0, transport=transport) == "X"


# --- socket_options given as an iterator ---------------------------------------------------


def test_socket_options_iterator_applies_to_every_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # socket_options is typed Iterable; the backend does list(socket_options) per connect, so
    # an iterator (a generator) is used up by the first connection and later ones get none.
    import http.server

    from tests.support.stdlib_server import serving

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    seen: list[int] = []
    real_setsockopt = socket.socket.setsockopt

    def spy(self: socket.socket, level: int, option: int, value: Any, *rest: Any) -> None:
        if (level, option) == (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE):
            seen.append(value)
        return real_setsockopt(self, level, option, value, *rest)

    monkeypatch.setattr(socket.socket, "setsockopt", spy)
    options = iter([(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)])
    with serving(Handler) as port:
        transport = wirekit.HTTPTransport(socket_options=options)
        with wirekit.Client(transport=transport) as client:
            url = f"http://127.0.0.1:{port}/"
            # Two responses open at once: two connections.
            with client.stream("GET", url) as first, client.stream("GET", url) as second:
                first.read()
                second.read()
    assert seen == [77, 77]


# --- a cancellation that lands after the race has a winner -------------------------------


def test_async_race_winner_is_closed_when_cancelled_while_losers_are_reaped() -> None:
    # _race picks the winner, then awaits the cancelled losers in its finally; a cancellation
    # (task.cancel, asyncio.timeout, the connect deadline) arriving then propagates and the
    # winning socket is never closed: only GC closes it (ResourceWarning: unclosed socket).
    import gc
    import warnings

    from tests.io.peers import listener
    from tests.support.blackhole import Blackhole

    with Blackhole() as blackhole, listener("127.0.0.1") as live:
        live_port = live.getsockname()[1]

        class Resolver:
            async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Address]:
                return [
                    (socket.AF_INET, ("127.0.0.1", blackhole.port)),  # silent: loses
                    (socket.AF_INET, ("127.0.0.1", live_port)),  # wins after the delay
                ]

        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connect.done":  # the winner is chosen: cancel right now
                task = asyncio.current_task()
                assert task is not None
                task.cancel()

        async def main() -> None:
            async with wirekit.AsyncClient(resolver=Resolver(), retry=0, trace=trace) as client:
                with pytest.raises(asyncio.CancelledError):
                    await client.get("http://svc.test/")
                await asyncio.sleep(0)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            asyncio.run(main())
            gc.collect()
        unclosed = [
            str(w.message)
            for w in caught
            if issubclass(w.category, ResourceWarning) and f"{live_port}" in str(w.message)
        ]
        assert unclosed == []
