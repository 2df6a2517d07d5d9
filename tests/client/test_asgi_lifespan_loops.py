"""ASGITransport(lifespan="on") across event loops: the lifespan belongs to the loop that
ran its startup (asyncio.run cancels its task when that loop ends, before any shutdown).

(Left over from the session-15 review of event loops; fixed since: a request from another
loop raised nothing and the app was served the state its dead loop made; closing the
client in another loop returned quietly without the shutdown.)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import wirekit
from tests.client.test_asgi_lifespan import starlette_app
from wirekit.client.testing import ASGITransport


def _get(client: wirekit.AsyncClient) -> Any:
    async def get() -> Any:
        return (await client.get("http://testserver/")).json()

    return asyncio.run(asyncio.wait_for(get(), 5))


def test_a_request_from_another_event_loop_is_refused_naming_the_fix() -> None:
    events: list[str] = []
    client = wirekit.AsyncClient(transport=ASGITransport(starlette_app(events), lifespan="on"))
    assert _get(client) == {"pool": ["conn-1"]}
    with pytest.raises(RuntimeError, match=r"lifespan started in another event loop.*aclose"):
        _get(client)
    assert events == ["startup", "request"]  # the app was not called with the dead state


def test_closing_in_another_event_loop_says_the_shutdown_did_not_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []
    client = wirekit.AsyncClient(transport=ASGITransport(starlette_app(events), lifespan="on"))
    _get(client)
    with caplog.at_level(logging.WARNING, logger="wirekit.client"):
        asyncio.run(asyncio.wait_for(client.aclose(), 5))
    assert "lifespan shutdown did not run" in caplog.text
    assert events == ["startup", "request"]


def test_a_transport_closed_in_its_loop_starts_again_in_the_next() -> None:
    events: list[str] = []
    transport = ASGITransport(starlette_app(events), lifespan="on")

    async def one_client() -> Any:
        async with wirekit.AsyncClient(transport=transport) as client:
            return (await client.get("http://testserver/")).json()

    for _ in range(2):
        assert asyncio.run(asyncio.wait_for(one_client(), 5)) == {"pool": ["conn-1"]}
    assert events == ["startup", "request", "shutdown"] * 2
