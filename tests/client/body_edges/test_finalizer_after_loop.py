"""An unclosed AsyncClient stream collected after its event loop closed prints
"Exception ignored in: AsyncResponseBody.__del__ ... RuntimeError: Event loop is closed".

AsyncResponseBody.__del__ (client/_async/connection.py) calls connection.abort(), whose
asyncio transport.abort() schedules call_soon on the closed loop. Typical trigger: a
script whose asyncio.run() returned (or raised) while a streamed response was still
referenced (a global, an exception's traceback); the traceback lands on stderr at exit.
The finalizer exists precisely for responses nobody closed, so it must not raise.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any

import wirekit
from tests.support.scripted import ScriptedServer, expect, hold, send

PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"


def test_unclosed_stream_collected_after_the_loop_closed_is_quiet(monkeypatch) -> None:
    raised: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", raised.append)
    with ScriptedServer([expect(), send(PARTIAL), hold()]) as server:

        async def main() -> wirekit.Response:
            client = wirekit.AsyncClient(retry=0)
            request = client.build_request("GET", server.url + "/")
            return await client.send(request, stream=True)

        response = asyncio.run(asyncio.wait_for(main(), 20))
        del response
        gc.collect()
    # asyncio's own transport may warn that it was left open (ResourceWarning, as for any
    # transport alive when its loop closed); wirekit's finalizer must not raise.
    messages = [
        f"{u.exc_type.__name__}: {u.exc_value} in {u.object!r}"
        for u in raised
        if not issubclass(u.exc_type, ResourceWarning)
    ]
    assert not messages, messages
