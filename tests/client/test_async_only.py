"""AsyncClient behaviour with no sync twin: cancellation, and the ASGI transport."""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route

import wirekit
from tests.support.keepalive import KeepAliveServer
from tests.support.scripted import ScriptedServer, expect, send

#: Waiting for a peer to reach a state is polled this often, at most WAIT_LIMIT seconds.
POLL_INTERVAL = 0.01
WAIT_LIMIT = 10.0


async def _until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


@pytest.mark.anyio
async def test_cancelled_request_returns_its_slot_and_closes_its_socket() -> None:
    # The second expect() reads until EOF: it ends only when the client closes the socket.
    with ScriptedServer([expect(), expect(b"never sent")]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            task = asyncio.create_task(client.get(server.url + "/slow"))
            await _until(lambda: bool(server.received and server.received[0]), "the request")
            assert client.transport.connection_counts()["open"] == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client.transport.connection_counts() == {"open": 0, "idle": 0}
            assert server.connections[0].finished.wait(WAIT_LIMIT), "socket left open"


@pytest.mark.anyio
async def test_cancelled_while_reading_the_body_returns_the_slot() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    with ScriptedServer([expect(), send(head + b"x" * 10), expect(b"never sent")]) as server:
        limits = wirekit.Limits(max_connections=1)
        async with wirekit.AsyncClient(retry=0, limits=limits) as client:
            started = asyncio.Event()

            async def read_slowly() -> None:
                async with client.stream("GET", server.url + "/") as response:
                    started.set()
                    await response.aread()

            task = asyncio.create_task(read_slowly())
            await asyncio.wait_for(started.wait(), WAIT_LIMIT)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client.transport.connection_counts() == {"open": 0, "idle": 0}
            assert server.connections[0].finished.wait(WAIT_LIMIT), "socket left open"


@pytest.mark.anyio
async def test_cancelled_pool_waiter_does_not_block_later_requests() -> None:
    with KeepAliveServer(b"free") as server:
        limits = wirekit.Limits(max_connections=1)
        async with wirekit.AsyncClient(limits=limits) as client:
            async with client.stream("GET", server.url + "/") as held:
                waiter = asyncio.create_task(client.get(server.url + "/queued"))
                await asyncio.sleep(0.05)  # let the waiter queue up for the only slot
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
                await held.aread()
            after = await asyncio.wait_for(client.get(server.url + "/after"), WAIT_LIMIT)
        assert after.content == b"free"
        assert server.connections == 1


@pytest.mark.anyio
async def test_many_concurrent_requests_share_few_connections() -> None:
    with KeepAliveServer(b"ok") as server:
        limits = wirekit.Limits(max_connections=4)
        async with wirekit.AsyncClient(limits=limits) as client:
            responses = await asyncio.gather(
                *(client.get(server.url + f"/{n}") for n in range(200))
            )
        assert all(r.content == b"ok" for r in responses)
        assert server.requests == 200
        assert server.connections <= 4


# -- ASGI -------------------------------------------------------------------------------------


async def _hello(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse(f"hello {request.query_params.get('name', 'world')}")


async def _login(request: StarletteRequest) -> RedirectResponse:
    form = await request.form()
    response = RedirectResponse("/me", status_code=303)
    response.set_cookie("user", str(form["user"]))
    return response


async def _me(request: StarletteRequest) -> JSONResponse:
    return JSONResponse({"user": request.cookies.get("user"), "method": request.method})


def _starlette_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/hello", _hello),
            Route("/login", _login, methods=["POST"]),
            Route("/me", _me),
        ]
    )


@pytest.mark.anyio
async def test_asgi_transport_with_a_starlette_app() -> None:
    transport = wirekit.ASGITransport(_starlette_app())
    async with wirekit.AsyncClient(transport=transport, base_url="http://app.test") as client:
        hello = await client.get("/hello", params={"name": "ada"})
        missing = await client.get("/nowhere")
        me = await client.post("/login", data={"user": "ada"})
        again = await client.get("/me")
    assert hello.text == "hello ada"
    assert missing.status_code == 404
    assert me.json() == {"user": "ada", "method": "GET"}
    assert [r.status_code for r in me.history] == [303]
    assert again.json()["user"] == "ada"
    assert client.cookies.get("user") == "ada"


@pytest.mark.anyio
async def test_an_async_trace_is_refused_as_it_would_never_run() -> None:
    async def trace(event, info):  # pragma: no cover - never called
        pass

    with pytest.raises(TypeError, match="trace= is called synchronously"):
        wirekit.AsyncClient(trace=trace)
    client = wirekit.AsyncClient()
    with pytest.raises(TypeError, match="trace= is called synchronously"):
        client.trace = trace
    await client.aclose()
