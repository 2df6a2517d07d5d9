"""ASGITransport hands an app's answer over as the app sends it, as a server does: the head
once ``http.response.start`` is sent, the body chunk by chunk, the client's upload chunk by
chunk; closing the response early tells the app and ends it; the client's timeouts stop it.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest

import wirekit
from wirekit.client.testing import ASGITransport
from wirekit.errors import DeadlineExceeded, ReadTimeout, RemoteProtocolError

pytestmark = pytest.mark.anyio

START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain")],
}


def body(data: bytes, *, more: bool = True) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more}


class Events:
    """An endless app that sends one chunk each time the test says so, and notes how it ended."""

    def __init__(self) -> None:
        self.go = asyncio.Queue[bytes]()
        self.sent = 0
        self.ended: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await send(START)
            while True:
                await send(body(await self.go.get()))
                self.sent += 1
        except OSError:
            self.ended.append("OSError from send")
            raise
        except asyncio.CancelledError:
            self.ended.append("cancelled")
            raise


async def test_stream_gets_the_head_and_each_chunk_while_the_app_runs() -> None:
    app = Events()
    async with wirekit.AsyncClient(transport=ASGITransport(app), timeout=5) as client:
        async with client.stream("GET", "http://testserver/events") as response:
            # The head arrives before the app has sent any body (an SSE endpoint's usual start).
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/plain"
            chunks = response.aiter_raw()
            for n in range(3):
                app.go.put_nowait(b"event %d\n" % n)
                assert await anext(chunks) == b"event %d\n" % n
            assert app.sent == 3
            assert app.ended == []  # still running: nothing was collected to the end
    await asyncio.sleep(0)
    assert app.ended == ["cancelled"]  # closed early: the app did not keep running


async def test_an_app_that_sends_faster_than_the_client_reads_waits() -> None:
    produced = 0

    async def firehose(scope: Any, receive: Any, send: Any) -> None:
        nonlocal produced
        await send(START)
        for _ in range(10_000):
            await send(body(b"x" * 1024))
            produced += 1

    async with wirekit.AsyncClient(transport=ASGITransport(firehose), timeout=5) as client:
        async with client.stream("GET", "http://testserver/") as response:
            assert await anext(response.aiter_raw()) == b"x" * 1024
            for _ in range(20):
                await asyncio.sleep(0)
            # Held a few chunks ahead, as by a socket buffer; not 10 MB collected in memory.
            assert produced <= 20


async def test_closing_early_tells_an_app_listening_for_disconnect() -> None:
    heard: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"
        await send(START)
        await send(body(b"first"))
        heard.append((await receive())["type"])  # waits, as under a server, until the client goes

    async with wirekit.AsyncClient(transport=ASGITransport(app), timeout=5) as client:
        async with client.stream("GET", "http://testserver/") as response:
            assert await anext(response.aiter_raw()) == b"first"
            assert heard == []
    assert heard == ["http.disconnect"]


async def test_a_streamed_upload_reaches_receive_chunk_by_chunk() -> None:
    messages: list[dict[str, Any]] = []
    step = asyncio.Event()

    async def upload() -> AsyncIterator[bytes]:
        yield b"one"
        await step.wait()  # the app has the first chunk before the client makes the second
        yield b"two"

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            messages.append(message)
            step.set()
            if not message.get("more_body"):
                break
        await send(START)
        await send(body(b"".join(m["body"] for m in messages), more=False))

    async with wirekit.AsyncClient(transport=ASGITransport(app), timeout=5) as client:
        response = await client.post("http://testserver/", content=upload())
    assert response.content == b"onetwo"
    assert [(m["body"], m["more_body"]) for m in messages] == [
        (b"one", True),
        (b"two", True),
        (b"", False),
    ]


async def test_background_work_after_the_answer_is_done_when_get_returns() -> None:
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    done: list[str] = []

    async def note() -> None:
        await asyncio.sleep(0.05)
        done.append("background")

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok", background=BackgroundTask(note))

    app = Starlette(routes=[Route("/", home)])
    async with wirekit.AsyncClient(transport=ASGITransport(app), timeout=5) as client:
        response = await client.get("http://testserver/")
    assert response.text == "ok"
    assert done == ["background"]


async def test_an_app_error_after_the_head_reaches_the_test() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(START)
        await send(body(b"part"))
        raise ValueError("broke mid-body")

    async with wirekit.AsyncClient(transport=ASGITransport(app), timeout=5) as client:
        with pytest.raises(ValueError, match="broke mid-body"):
            await client.get("http://testserver/")
        async with client.stream("GET", "http://testserver/") as response:
            assert response.status_code == 200
            with pytest.raises(ValueError, match="broke mid-body"):
                await response.aread()


async def test_a_body_cut_short_is_an_error_not_a_short_body() -> None:
    async def raises(scope: Any, receive: Any, send: Any) -> None:
        await send(START)
        await send(body(b"part"))
        raise ValueError("broke mid-body")

    async def returns(scope: Any, receive: Any, send: Any) -> None:
        await send(START)
        await send(body(b"part"))  # more_body=True, and then nothing

    transport = ASGITransport(raises, raise_app_exceptions=False)
    async with wirekit.AsyncClient(transport=transport, timeout=5) as client:
        with pytest.raises(RemoteProtocolError, match=r"testserver:80 .*ValueError.*cut short"):
            await client.get("http://testserver/")
    async with wirekit.AsyncClient(transport=ASGITransport(returns), timeout=5) as client:
        with pytest.raises(RemoteProtocolError, match="returned before its response was complete"):
            await client.get("http://testserver/")


async def test_read_limit_between_chunks_applies_while_streaming_and_stops_the_app() -> None:
    app = Events()
    timeout = wirekit.Timeout(None, read=0.2)
    async with wirekit.AsyncClient(transport=ASGITransport(app), timeout=timeout) as client:
        async with client.stream("GET", "http://testserver/") as response:
            app.go.put_nowait(b"one")
            chunks = response.aiter_raw()
            assert await anext(chunks) == b"one"
            with pytest.raises(ReadTimeout, match=r"testserver:80 for 0.2 s while reading"):
                await anext(chunks)
    assert app.ended == ["cancelled"]


async def test_total_deadline_while_waiting_for_the_head_names_the_phase() -> None:
    ended: list[str] = []

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("ended")

    async with wirekit.AsyncClient(transport=ASGITransport(slow), timeout=0.2) as client:
        with pytest.raises(DeadlineExceeded, match="during waiting for the response"):
            await client.get("http://testserver/")
    assert ended == ["ended"]


async def test_a_dropped_unclosed_stream_does_not_leave_the_app_waiting() -> None:
    app = Events()
    async with wirekit.AsyncClient(transport=ASGITransport(app), timeout=5) as client:
        request = client.build_request("GET", "http://testserver/")
        response = await client.send(request, stream=True)
        assert response.status_code == 200
        del response, request
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)
    assert app.ended == ["cancelled"]
