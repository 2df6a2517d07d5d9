"""An iterator step that fails (a read timeout; in async code a step cancelled by
``asyncio.wait_for``) must not turn the rest of the body into a silent, complete-looking
end. docs/client.md: "A response closed before its body ended raises StreamClosed on the
next step of any iterator, never ends as if complete." A stream reader that treats a read
timeout as "no event yet, try again" (a server-sent-events heartbeat check) otherwise gets
4 of 20 bytes and a normal end.
(Found by the session-16 review of streaming; fixed since: the body iterators remember
a failed step and raise StreamClosed on every later one.)"""

from __future__ import annotations

import asyncio

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, send, sleep
from wirekit.errors import ReadTimeout, WirekitError

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\naaaa"
REST = b"b" * 16
SCRIPT = [expect(), send(HEAD), sleep(0.8), send(REST), sleep(2)]


def test_iteration_after_a_read_timeout_does_not_end_as_complete_sync() -> None:
    with ScriptedServer(SCRIPT) as server:
        url = f"http://127.0.0.1:{server.port}/"
        with wirekit.Client(retry=0, timeout=wirekit.Timeout(5, read=0.2)) as client:
            with client.stream("GET", url) as response:
                chunks = response.iter_bytes()
                assert next(chunks) == b"aaaa"
                with pytest.raises(ReadTimeout):
                    next(chunks)
                try:
                    rest = b"".join(chunks)
                except WirekitError:
                    return  # said so: the body is not complete
                assert rest == REST, (
                    f"the body ended as if complete after 4 of 20 bytes (then {rest!r})"
                )


@pytest.mark.anyio
async def test_iteration_after_a_cancelled_step_does_not_end_as_complete_async() -> None:
    with ScriptedServer(SCRIPT) as server:
        url = f"http://127.0.0.1:{server.port}/"
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            async with client.stream("GET", url) as response:
                chunks = response.aiter_bytes()
                assert await chunks.__anext__() == b"aaaa"
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(chunks.__anext__(), 0.2)
                try:
                    rest = b"".join([chunk async for chunk in chunks])
                except WirekitError:
                    return  # said so: the body is not complete
                assert rest == REST, (
                    f"the body ended as if complete after 4 of 20 bytes (then {rest!r})"
                )
