"""A failed request leaves no handled exception behind in the caller's thread.

The compiled build's retry flow paused (a generator yield) inside an ``except`` block, which
left the ConnectError in the thread's exception state: ``sys.exc_info()`` still showed it
after the caller's own ``except`` had ended, and a later request of another client raised it
again, with the first request's traceback.
"""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

import wirekit


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sync_retries_that_fail_leave_no_exception_state() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"
    with wirekit.Client(retry=wirekit.Retry(2, backoff=0.01)) as client:
        with pytest.raises(wirekit.ConnectError):
            client.get(url)
    assert sys.exc_info() == (None, None, None)
    # A request that succeeds afterwards (another client, an in-process app) is not hit.
    transport = wirekit.MockTransport(lambda request: wirekit.Response(200, content=b"ok"))
    with wirekit.Client(transport=transport) as other:
        assert other.get("http://app.test/").content == b"ok"


def test_async_retries_that_fail_leave_no_exception_state() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"

    async def main() -> None:
        async with wirekit.AsyncClient(retry=wirekit.Retry(2, backoff=0.01)) as client:
            with pytest.raises(wirekit.ConnectError):
                await client.get(url)
        assert sys.exc_info() == (None, None, None)

    asyncio.run(main())
    assert sys.exc_info() == (None, None, None)


def test_a_task_cleaning_up_after_a_failure_does_not_lend_its_error_to_another_task() -> None:
    """A request whose body fails (truncated here) closes its connection, which awaits; a
    compiled coroutine that awaited inside its ``except`` block left its error as the
    thread's handled exception while suspended, so what another task raised meanwhile got
    it as ``__context__`` (a traceback naming a request it never made)."""
    from tests.support.scripted import ScriptedServer, close, expect, send

    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"
    contexts: list[BaseException | None] = []

    async def failing(client: wirekit.AsyncClient, url: str) -> None:
        with pytest.raises(wirekit.TransportError):
            await client.get(url)

    async def bystander(done: asyncio.Event) -> None:
        for _ in range(200):  # bounded: the failing request ends within these turns
            try:
                raise KeyError("the bystander's own error")
            except KeyError as exc:
                contexts.append(exc.__context__)
            if done.is_set():
                return
            await asyncio.sleep(0)

    async def main(url: str) -> None:
        done = asyncio.Event()
        async with wirekit.AsyncClient(retry=0) as client:
            watcher = asyncio.ensure_future(bystander(done))
            await asyncio.sleep(0)
            await failing(client, url)
            done.set()
            await watcher

    with ScriptedServer([expect(), send(truncated), close()]) as server:
        asyncio.run(main(server.url + "/"))
    assert contexts, "the bystander never ran"
    assert all(context is None for context in contexts), contexts
