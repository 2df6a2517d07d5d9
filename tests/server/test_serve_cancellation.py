"""Cancellation must propagate alike on the pure package and the mypyc build (build/compiled).

mypyc loses the exception in flight when a compiled coroutine suspends inside ``finally``
and was awaited directly by another compiled coroutine: ``Server.serve`` awaits
``Server._serve``, whose ``finally`` awaits ``_graceful_shutdown`` (server/main.py), so a
cancelled ``serve()`` returns None instead of raising CancelledError.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.loops import BOTH_LOOPS
from wirekit.server.main import Server

pytestmark = pytest.mark.parametrize("anyio_backend", BOTH_LOOPS)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.anyio
async def test_a_cancelled_serve_task_ends_cancelled() -> None:
    server = Server(_app, host="127.0.0.1", port=0, lifespan="off")
    task = asyncio.ensure_future(server.serve())
    await asyncio.wait_for(asyncio.to_thread(server.started.wait, 10), 15)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 15)
    assert task.cancelled()


@pytest.mark.anyio
async def test_asyncio_timeout_around_serve_raises_timeout_error() -> None:
    server = Server(_app, host="127.0.0.1", port=0, lifespan="off")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await server.serve()
