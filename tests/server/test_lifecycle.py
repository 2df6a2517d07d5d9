"""Graceful shutdown, ASGI lifespan, WebSocket sessions, and the signal path of ``run()``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)

from tests.server import apps
from tests.server.support import WAIT, read_response, read_until_closed, running


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_shutdown_finishes_requests_in_flight(kind: str) -> None:
    started = threading.Event()

    def slow_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started.set()
        time.sleep(0.5)
        start_response("200 OK", [])
        return [b"finished"]

    async def slow_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        import asyncio

        if scope["type"] != "http":
            return
        started.set()
        await asyncio.sleep(0.5)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"finished"})

    app = slow_asgi if kind == "asgi" else slow_wsgi
    with running(app) as server:
        busy = server.connect()
        idle = server.connect()
        busy.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert started.wait(WAIT)
        server.server.shutdown()
        status, headers, body = read_response(busy)
        assert (status, body) == (200, b"finished")
        assert headers.get("connection") == "close"
        assert read_until_closed(idle) == b""  # the idle keep-alive connection is closed
        busy.close()
        idle.close()
        server.thread.join(WAIT)
        assert not server.thread.is_alive()
        with pytest.raises(OSError):
            server.connect()  # no longer accepting


def test_lifespan_startup_and_shutdown_run() -> None:
    app = apps.LifespanApp()
    with running(app) as server:
        assert app.log == ["startup"]
        status, _, body = server.get("/")
        assert (status, body) == (200, b"set at startup")
    assert app.log == ["startup", "shutdown"]


def test_lifespan_startup_failure_stops_the_server() -> None:
    async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})

    from wirekit.server.lifespan import LifespanError

    with pytest.raises(LifespanError, match="database unreachable"), running(failing):
        pass


def _ws_connect(
    server: Any, path: str = "/ws", subprotocols: list[str] | None = None
) -> tuple[Any, WSConnection, list[Any]]:
    sock = server.connect()
    ws = WSConnection(ConnectionType.CLIENT)
    sock.sendall(ws.send(Request(host="127.0.0.1", target=path, subprotocols=subprotocols or [])))
    events: list[Any] = []
    for _ in range(100):
        data = sock.recv(65536)
        ws.receive_data(data or None)
        events.extend(ws.events())
        if any(isinstance(e, (AcceptConnection, RejectConnection)) for e in events) or not data:
            break
    return sock, ws, events


def _ws_next(sock: Any, ws: WSConnection) -> Any:
    """The next whole event (message fragments joined, as a client app would see them)."""
    parts: list[Any] = []
    for _ in range(1000):
        for event in ws.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                parts.append(event.data)
                if not event.message_finished:
                    continue
                joined = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                return type(event)(data=joined)
            return event
        data = sock.recv(65536)
        ws.receive_data(data or None)
    raise AssertionError("no WebSocket event")


def test_websocket_echo() -> None:
    with running(apps.asgi_websocket_echo) as server:
        sock, ws, events = _ws_connect(server, subprotocols=["chat"])
        with sock:
            accept = events[0]
            assert isinstance(accept, AcceptConnection)
            assert accept.subprotocol == "chat"
            sock.sendall(ws.send(TextMessage(data="hi")))
            reply = _ws_next(sock, ws)
            assert isinstance(reply, TextMessage)
            assert reply.data == "echo: hi"
            sock.sendall(ws.send(BytesMessage(data=b"abc")))
            reply = _ws_next(sock, ws)
            assert isinstance(reply, BytesMessage)
            assert bytes(reply.data) == b"cba"
            big = "x" * 200_000  # many frames' worth, reassembled by the server
            sock.sendall(ws.send(TextMessage(data=big)))
            reply = _ws_next(sock, ws)
            assert isinstance(reply, TextMessage)
            assert reply.data == "echo: " + big
            sock.sendall(ws.send(TextMessage(data="bye")))
            closing = _ws_next(sock, ws)
            assert isinstance(closing, CloseConnection)
            assert closing.code == 1000


def test_websocket_refused_by_app_gets_403() -> None:
    with running(apps.asgi_websocket_echo) as server:
        sock, _, events = _ws_connect(server, path="/deny")
        sock.close()
    assert isinstance(events[0], RejectConnection)
    assert events[0].status_code == 403


def test_websocket_and_http_on_one_app() -> None:
    with running(apps.asgi_websocket_echo) as server:
        assert server.get("/")[2] == b"hello from asgi"


def test_websocket_bad_handshake_gets_400() -> None:
    with running(apps.asgi_websocket_echo) as server, server.connect() as sock:
        sock.sendall(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        )
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"Sec-WebSocket-Version" in data


SERVE_SCRIPT = """
import sys
from wirekit.cli.serve import add_parser, run
import argparse
parser = argparse.ArgumentParser()
add_parser(parser.add_subparsers())
sys.exit(run(parser.parse_args(["serve"] + sys.argv[1:])))
"""


def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    (tmp_path / "slowapp.py").write_text(
        "import pathlib, time\n"
        "def app(environ, start_response):\n"
        "    pathlib.Path('started').touch()\n"
        "    time.sleep(1.0)\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'survived']\n"
    )
    socket_path = str(tmp_path / "s.sock")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, "slowapp:app", "--uds", socket_path],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + WAIT
        while not os.path.exists(socket_path):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        curl = subprocess.Popen(
            ["curl", "-sS", "--max-time", str(WAIT), "--unix-socket", socket_path, "http://x/"],
            stdout=subprocess.PIPE,
        )
        deadline = time.monotonic() + WAIT
        while not (tmp_path / "started").exists():  # the request is in the app now
            assert time.monotonic() < deadline, "request never reached the app"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        output, _ = curl.communicate(timeout=WAIT * 2)
        assert output == b"survived"
        assert process.wait(timeout=WAIT * 2) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
