"""Review: big streamed uploads from the client to a server that answers early.

A server with an upload limit answers 413 and closes while the client is still sending the
body (RFC 9112 §9.6). The connection code means to hand that answer back instead of the
broken pipe (see ``handle_async_request``); the sync client does, the async client loses it
whenever the reset reaches the socket before asyncio has read the answer.
"""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest

import wirekit
from tests.support.stream_peer import StreamPeer

ANSWER_413 = (
    b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!"
)
CHUNK = b"x" * 65536


class _EarlyAnswer:
    """Reads the request head, answers 413 and closes with the body unread (a reset)."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __call__(self, head: bytes, sock: socket.socket):
        yield ANSWER_413
        sock.close()  # unread body bytes in the kernel buffer: the peer gets a RST
        self.closed.set()


def _body(answered: threading.Event):
    """A streamed body whose producer is briefly busy (a slow disk, a pipe) after its first
    chunk: meanwhile the server answers and closes. The wait only pins the race down; a
    plain fast upload loses the answer in about one run out of five."""
    yield CHUNK
    answered.wait(5)
    time.sleep(0.2)
    for _ in range(50):
        yield CHUNK


@pytest.mark.anyio
async def test_async_client_returns_the_early_413_of_a_server_that_closes() -> None:
    early = _EarlyAnswer()
    with StreamPeer(early) as peer:
        async with wirekit.AsyncClient(timeout=5.0) as client:
            response = await client.post(peer.url + "/upload", content=_body(early.closed))
    assert response.status_code == 413
    assert response.content == b"too big!"


class _SlowFile(io.FileIO):
    """A file whose second read stalls briefly (a file on a network disk): long enough for
    the server to answer. Without the stall the test below fails most runs, not all."""

    reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads == 2:
            time.sleep(0.3)
        return super().read(size)


@pytest.mark.anyio
async def test_async_client_file_upload_over_our_servers_max_body_bytes_gets_413(
    tmp_path,
) -> None:
    # wirekit's own server with max_body_bytes answers 413 at the head and closes: the
    # async client uploading a 20 MB file gets WriteError (the sync client, and the async
    # client sending the same bytes from memory, get the 413).
    from tests.server.support import running

    async def app(scope, receive, send):  # never reached: the limit answers first
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    path = tmp_path / "upload.bin"
    path.write_bytes(b"u" * (20 * 1024 * 1024))
    with running(app, max_body_bytes=1024 * 1024) as server:
        async with wirekit.AsyncClient(timeout=5.0) as client:
            with _SlowFile(path) as file:
                response = await client.post(f"http://127.0.0.1:{server.port}/", content=file)
    assert response.status_code == 413


def test_iterator_body_with_the_callers_content_length_is_sent_with_that_length() -> None:
    # A streamed body of known length (a generator of file pieces, a proxied download):
    # the caller says the length with a Content-Length header, as httpx and requests
    # allow. Now the client adds "Transfer-Encoding: chunked" as well, and the request
    # fails before anything is sent: LocalProtocolError "message has both Content-Length
    # and chunked framing".
    import hashlib
    import json

    from tests.client.conftest import HashingServer

    pieces = [b"%06d;" % index * 1000 for index in range(200)]  # 1.4 MB in 200 pieces
    total = sum(len(piece) for piece in pieces)
    with HashingServer() as server, wirekit.Client(timeout=10.0) as client:
        response = client.post(
            server.url + "/up",
            content=iter(pieces),
            headers={"Content-Length": str(total)},
        )
    seen = json.loads(response.content)
    assert seen["chunked"] is False
    assert seen["length"] == total
    assert seen["sha256"] == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_async_client_returns_the_early_413_on_uvloop() -> None:
    # uvloop's transport drops the unread answer on a failed write as asyncio's does.
    import uvloop  # installed by `make test` (the `all` extra)

    uvloop.run(test_async_client_returns_the_early_413_of_a_server_that_closes())
