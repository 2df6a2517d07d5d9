"""Tracebacks of transport errors must match between the pure package and the mypyc build
(build/compiled), for the async client (on asyncio and uvloop) and the sync one.

Both clients throw a transport error into their flow generator (``flow.throw(exc)`` in
``_drive``); flows.py is compiled, and a mypyc generator's ``throw(exc)`` drops the traceback
the exception already carried, so the traceback the user sees ends in flows.send_flow and no
longer reaches the code that failed (the connect, the read, the pool wait).
"""

from __future__ import annotations

import traceback
from typing import Any

import pytest

import wirekit
from tests.support.loops import BOTH_LOOPS
from wirekit.client._async.transport import AsyncHTTPTransport
from wirekit.client._sync.transport import HTTPTransport


class _AsyncRefusingBackend:
    async def connect_tcp(self, host: str, port: int, **kwargs: Any) -> Any:
        raise wirekit.ConnectError(f"connection refused by {host}:{port}")

    async def connect_unix_socket(self, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        raise NotImplementedError


class _RefusingBackend:
    def connect_tcp(self, host: str, port: int, **kwargs: Any) -> Any:
        raise wirekit.ConnectError(f"connection refused by {host}:{port}")

    def connect_unix_socket(self, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        raise NotImplementedError


def _check_reaches_the_backend(error: BaseException) -> None:
    frames = traceback.extract_tb(error.__traceback__)
    names = [frame.name for frame in frames]
    assert frames[-1].name == "connect_tcp", names
    assert frames[-1].filename == __file__, names
    assert "handle_request" in names or "handle_async_request" in names, names


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", BOTH_LOOPS)
async def test_async_transport_error_traceback_reaches_the_code_that_raised_it() -> None:
    transport = AsyncHTTPTransport(backend=_AsyncRefusingBackend())
    async with wirekit.AsyncClient(transport=transport, retry=0) as client:
        with pytest.raises(wirekit.ConnectError) as caught:
            await client.get("http://127.0.0.1:9/")
    _check_reaches_the_backend(caught.value)


def test_sync_transport_error_traceback_reaches_the_code_that_raised_it() -> None:
    transport = HTTPTransport(backend=_RefusingBackend())
    with wirekit.Client(transport=transport, retry=0) as client:
        with pytest.raises(wirekit.ConnectError) as caught:
            client.get("http://127.0.0.1:9/")
    _check_reaches_the_backend(caught.value)
