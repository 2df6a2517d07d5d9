"""ASGITransport(lifespan=...): the app's startup runs before its first request, its state
reaches each request's scope and closing the client runs its shutdown, as under the wirekit
server (tests.server.support.running, the reference here)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

import wirekit
from tests.server.support import running
from wirekit.client.testing import ASGITransport
from wirekit.server.lifespan import LifespanError

pytestmark = pytest.mark.anyio


def starlette_app(events: list[str]) -> Any:
    """A Starlette app whose lifespan opens a "pool" the routes need (the usual FastAPI or
    Starlette pattern that httpx's ASGITransport cannot serve)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"pool": ["conn-1"]}
        events.append("shutdown")

    async def home(request: Request) -> JSONResponse:
        events.append("request")
        return JSONResponse({"pool": request.state.pool})

    return Starlette(routes=[Route("/", home)], lifespan=lifespan)


@pytest.mark.parametrize("mode", ["on", "auto"])
async def test_startup_state_and_shutdown_run_around_the_requests(mode: Any) -> None:
    events: list[str] = []
    transport = ASGITransport(starlette_app(events), lifespan=mode)
    async with wirekit.AsyncClient(transport=transport) as client:
        assert events == []  # started with the first request, not before
        for _ in range(2):
            response = await client.get("http://testserver/")
            assert response.json() == {"pool": ["conn-1"]}
    assert events == ["startup", "request", "request", "shutdown"]


async def test_the_same_app_gives_the_same_answer_over_the_server() -> None:
    events: list[str] = []
    app = starlette_app(events)
    with running(app) as server:
        async with wirekit.AsyncClient() as client:
            over_network = (await client.get(f"http://127.0.0.1:{server.port}/")).json()
    async with wirekit.AsyncClient(transport=ASGITransport(app, lifespan="on")) as client:
        in_process = (await client.get("http://testserver/")).json()
    assert in_process == over_network == {"pool": ["conn-1"]}
    assert events == ["startup", "request", "shutdown"] * 2


async def test_lifespan_off_by_default_as_httpx() -> None:
    events: list[str] = []
    async with wirekit.AsyncClient(transport=ASGITransport(starlette_app(events))) as client:
        with pytest.raises(AttributeError, match="pool"):
            await client.get("http://testserver/")
    assert "startup" not in events


async def test_a_failed_startup_fails_every_request_naming_the_cause() -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        message = await receive()
        assert message["type"] == "lifespan.startup"
        calls.append("startup")
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})

    transport = ASGITransport(app, lifespan="on")
    async with wirekit.AsyncClient(transport=transport) as client:
        for _ in range(2):
            with pytest.raises(LifespanError, match="database unreachable"):
                await client.get("http://testserver/")
    assert calls == ["startup"]  # not tried again for each request


async def test_auto_serves_an_app_without_lifespan_support() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"unsupported scope {scope['type']}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async with wirekit.AsyncClient(transport=ASGITransport(app, lifespan="auto")) as client:
        assert (await client.get("http://testserver/")).content == b"ok"
    transport = ASGITransport(app, lifespan="on")
    async with wirekit.AsyncClient(transport=transport) as client:
        with pytest.raises(LifespanError, match="unsupported scope lifespan"):
            await client.get("http://testserver/")


async def test_each_request_gets_its_own_copy_of_the_state() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["count"] = 0
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        seen.append(dict(scope["state"]))
        scope["state"]["count"] += 1  # a request's change stays in its own scope
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with wirekit.AsyncClient(transport=ASGITransport(app, lifespan="on")) as client:
        await client.get("http://testserver/")
        await client.get("http://testserver/")
    assert seen == [{"count": 0}, {"count": 0}]
