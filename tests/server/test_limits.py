"""Slow and idle clients are dropped; overload is answered 503 + Retry-After, never a hang."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from tests.server import apps
from tests.server.support import WAIT, read_response, read_until_closed, running

APPS = [pytest.param(apps.wsgi_hello, id="wsgi"), pytest.param(apps.asgi_hello, id="asgi")]


@pytest.mark.parametrize("app", APPS)
def test_partial_pipelined_head_gets_the_header_timeout(app: Any) -> None:
    # A full request and the start of a second head in one packet, then silence: the second
    # head is under header_timeout (1 s here), not the 60 s idle timeout.
    with running(app, header_timeout=1.0, idle_timeout=60.0) as server:
        sock = server.connect()
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost:")
            buffer = bytearray()
            assert read_response(sock, buffer)[0] == 200
            rest = bytes(buffer) + read_until_closed(sock)  # bounded by WAIT (10 s)
        finally:
            sock.close()
    assert rest.startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("app", APPS)
def test_slowloris_flood_does_not_stop_other_clients(app: Any) -> None:
    with running(app, header_timeout=1.0) as server:
        attackers: list[socket.socket] = []
        try:
            for _ in range(200):
                sock = server.connect()
                sock.sendall(b"GET / HTTP/1.1\r\n")
                attackers.append(sock)
            # Trickle one header byte on each, a few rounds (bounded in count).
            for round_number in range(3):
                for sock in attackers:
                    try:
                        sock.sendall(b"X-%d: y\r\n" % round_number)
                    except OSError:
                        pass  # already dropped by the server: that is the point
                status, _, body = server.get("/")
                assert status == 200  # a normal client is served during the flood
                assert body.startswith(b"hello")
            # Every trickling connection is eventually dropped (header_timeout), with 408.
            dropped = 0
            for sock in attackers:
                data = read_until_closed(sock)
                assert data == b"" or data.startswith(b"HTTP/1.1 408 ")
                dropped += 1
            assert dropped == 200
        finally:
            for sock in attackers:
                sock.close()


def test_idle_connection_is_closed() -> None:
    with running(apps.asgi_hello, idle_timeout=0.5) as server, server.connect() as sock:
        assert read_until_closed(sock) == b""  # silent client: closed without an answer


def test_idle_keep_alive_connection_is_closed_after_a_request() -> None:
    with running(apps.asgi_hello, idle_timeout=0.5) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        buffer = bytearray()
        assert read_response(sock, buffer)[0] == 200
        assert read_until_closed(sock) == b""


@pytest.mark.parametrize(
    "app", [pytest.param(apps.wsgi_echo, id="wsgi"), pytest.param(apps.asgi_echo, id="asgi")]
)
def test_trickled_body_is_dropped(app: Any) -> None:
    options = {"min_body_rate": 100_000, "body_rate_grace": 0.5}
    with running(app, **options) as server, server.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
        data = read_until_closed(sock)
    assert not data.startswith(b"HTTP/1.1 200")


def test_connection_limit_answers_503_with_retry_after() -> None:
    with running(apps.asgi_hello, max_connections=2, retry_after=7) as server:
        first, second = server.connect(), server.connect()
        try:
            # Make sure both are registered before the third arrives.
            for sock in (first, second):
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert read_response(sock)[0] == 200
            with server.connect() as third:
                data = read_until_closed(third)
        finally:
            first.close()
            second.close()
    assert data.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 7" in data.lower()


def test_pending_request_limit_answers_503() -> None:
    with running(apps.asgi_slow, max_pending_requests=1) as server:
        holder = server.connect()
        try:
            holder.sendall(b"GET /held?1.0 HTTP/1.1\r\nHost: x\r\n\r\n")
            deadline = time.monotonic() + WAIT
            while "start /held" not in apps.events and time.monotonic() < deadline:
                time.sleep(0.01)
            status, headers, _ = server.get("/second?0")
            assert status == 503
            assert "retry-after" in headers
            assert read_response(holder)[0] == 200  # the held request still completes
        finally:
            holder.close()


def test_wsgi_threads_limit_queues_then_refuses() -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    def blocking(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started.release()
        release.wait(WAIT)
        start_response("200 OK", [])
        return [b"done"]

    with running(blocking, threads=1, max_pending_requests=1) as server:
        socks = [server.connect() for _ in range(3)]
        try:
            socks[0].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert started.acquire(timeout=WAIT)
            socks[1].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # queued
            state = server.server.state
            assert state is not None
            deadline = time.monotonic() + WAIT
            while state.in_flight < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            socks[2].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # over the queue limit
            assert read_response(socks[2])[0] == 503
            release.set()
            assert read_response(socks[0])[2] == b"done"
            assert read_response(socks[1])[2] == b"done"
        finally:
            release.set()
            for sock in socks:
                sock.close()


def test_many_idle_connections_are_held() -> None:
    with running(apps.asgi_hello) as server:
        socks = [server.connect() for _ in range(300)]
        try:
            deadline = time.monotonic() + WAIT
            while server.server.state is not None and len(server.server.state.connections) < 300:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert server.get("/")[0] == 200
        finally:
            for sock in socks:
                sock.close()


def test_client_that_never_reads_is_cut_after_write_timeout() -> None:
    sent: list[int] = []

    async def firehose(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        chunk = b"x" * 65536
        try:
            for _ in range(2000):  # 128 MiB at most: far more than the socket buffers hold
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent.append(len(chunk))
        except OSError:
            sent.append(-1)  # send() raised once the server gave up on the client
            raise

    with running(firehose, write_timeout=0.5) as server, server.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + WAIT
        while (not sent or sent[-1] != -1) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sent[-1] == -1
    assert len(sent) < 2000  # the app was paused, then stopped, long before the end


def test_websocket_message_over_the_limit_is_refused() -> None:
    from wsproto.events import CloseConnection, TextMessage

    from tests.server.test_lifecycle import _ws_connect, _ws_next

    with running(apps.asgi_websocket_echo, ws_max_message_bytes=1000) as server:
        sock, ws, _ = _ws_connect(server)
        with sock:
            sock.sendall(ws.send(TextMessage(data="y" * 5000)))
            event = _ws_next(sock, ws)
    assert isinstance(event, CloseConnection)
    assert event.code == 1009
