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
