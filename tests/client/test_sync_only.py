"""Client behaviour with no async twin: threads sharing a Client, WSGI apps, ``fetch``."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask, make_response, redirect, request

import wirekit
from tests.support.keepalive import KeepAliveServer
from tests.support.scripted import ScriptedServer, expect, hold

THREADS = 16
REQUESTS_PER_THREAD = 50


def test_sixteen_threads_share_one_client() -> None:
    failures: list[BaseException] = []
    lock = threading.Lock()
    with KeepAliveServer(b"shared") as server:
        with wirekit.Client() as client:

            def work(number: int) -> int:
                done = 0
                for index in range(REQUESTS_PER_THREAD):
                    try:
                        response = client.get(f"{server.url}/{number}/{index}")
                        assert response.content == b"shared"
                        done += 1
                    except BaseException as exc:  # collected: every failure is reported
                        with lock:
                            failures.append(exc)
                return done

            with ThreadPoolExecutor(THREADS) as pool:
                counts = list(pool.map(work, range(THREADS)))
            open_after = client.transport.connection_counts()["open"]
        assert failures == []
        assert counts == [REQUESTS_PER_THREAD] * THREADS
        assert server.requests == THREADS * REQUESTS_PER_THREAD
        assert server.connections <= THREADS
    assert open_after <= THREADS


# -- WSGI -------------------------------------------------------------------------------------


def _flask_app() -> Flask:
    app = Flask("wirekit-test")

    @app.get("/hello")
    def hello() -> str:
        return f"hello {request.args.get('name', 'world')}"

    @app.post("/login")
    def login():  # type: ignore[no-untyped-def]
        response = make_response(redirect("/me", code=302))
        response.set_cookie("user", request.form["user"])
        return response

    @app.get("/me")
    def me() -> dict[str, object]:
        return {"user": request.cookies.get("user"), "method": request.method}

    @app.post("/echo")
    def echo() -> bytes:
        return request.get_data()

    return app


def test_wsgi_transport_with_a_flask_app() -> None:
    transport = wirekit.WSGITransport(_flask_app())
    with wirekit.Client(transport=transport, base_url="http://app.test") as client:
        hello = client.get("/hello", params={"name": "ada"})
        missing = client.get("/nowhere")
        me = client.post("/login", data={"user": "ada"})
        echoed = client.post("/echo", content=b"\x00raw bytes")
        again = client.get("/me")
    assert hello.text == "hello ada"
    assert missing.status_code == 404
    assert me.json() == {"user": "ada", "method": "GET"}
    assert [r.status_code for r in me.history] == [302]
    assert echoed.content == b"\x00raw bytes"
    assert again.json()["user"] == "ada"


# -- fetch ------------------------------------------------------------------------------------


def test_fetch_returns_the_body_as_bytes(httpbin_server) -> None:
    body = wirekit.fetch(httpbin_server.url + "/bytes/16?seed=1")
    assert isinstance(body, bytes)
    assert len(body) == 16


def test_fetch_posts_when_data_is_given(httpbin_server) -> None:
    body = wirekit.fetch(httpbin_server.url + "/post", data={"k": "v"})
    assert b'"k": "v"' in body


def test_fetch_raises_on_404_even_with_a_default(httpbin_server) -> None:
    with pytest.raises(wirekit.HTTPStatusError) as caught:
        wirekit.fetch(httpbin_server.url + "/status/404", default=b"")
    assert caught.value.response.status_code == 404


def test_fetch_default_for_refused_and_timeouts() -> None:
    with KeepAliveServer() as gone:
        refused_url = gone.url + "/"
    assert wirekit.fetch(refused_url, default=None, retry=0) is None
    with pytest.raises(wirekit.ConnectError):
        wirekit.fetch(refused_url, retry=0)
    with ScriptedServer([expect(), hold()]) as server:
        marker = object()
        timeout = wirekit.Timeout(read=0.2)
        assert wirekit.fetch(server.url + "/", default=marker, timeout=timeout) is marker


def test_an_async_event_hook_is_refused_by_the_sync_client() -> None:
    """Client calls hooks synchronously: an async one would only make a coroutine that never
    runs (and a "never awaited" warning). (Found by a review of hooks; fixed since.)"""

    async def log_request(request: object) -> None:  # pragma: no cover - never called
        pass

    with pytest.raises(TypeError, match="Client calls event hooks synchronously"):
        wirekit.Client(event_hooks={"request": [log_request]})
    with pytest.raises(TypeError, match="trace= is called synchronously"):
        wirekit.Client(trace=log_request)
    with wirekit.Client() as client, pytest.raises(TypeError, match="use AsyncClient"):
        client.event_hooks = {"response": [log_request]}
