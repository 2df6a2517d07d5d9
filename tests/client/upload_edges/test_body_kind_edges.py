"""Bodies a client cannot read the way it was asked to: refused before anything is sent.

(Found by the session-15 review of request bodies, left over as "unclear"; fixed since: the
sync client refuses an async body before connecting, as httpx does; an auth flow that would send a streamed body a second time fails before
the second head; a files= part whose
file is async is refused when the request is built; a bytes filename is taken as UTF-8,
as requests takes it.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

import wirekit
from tests.client.auth_edges._peers import digest_server
from tests.client.upload_edges._rawpeer import FramingPeer
from wirekit.errors import StreamConsumed


class _AsyncFile:
    name = "notes.txt"

    async def read(self, size: int = -1) -> bytes:
        return b""


def test_sync_client_refuses_an_async_body_before_connecting() -> None:
    """Before: the head went out, then iterating the body raised TypeError, leaving the
    server a request without its body."""

    async def body() -> AsyncIterator[bytes]:
        yield b"never sent"

    with FramingPeer() as peer, wirekit.Client(timeout=4.0) as client:
        with pytest.raises(TypeError, match=r"async iterator or async file.*async client"):
            client.post(peer.url + "/up", content=body())
        with pytest.raises(TypeError, match="async client"):
            client.post(peer.url + "/up", content=_AsyncFile())
        assert client.get(peer.url + "/after").status_code == 200
    assert [got.line for got in peer.got] == [b"GET /after HTTP/1.1"]


@pytest.mark.anyio
async def test_async_client_sends_an_async_body() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"sent "
        yield b"whole"

    with FramingPeer() as peer:
        async with wirekit.AsyncClient(timeout=4.0) as client:
            response = await client.post(peer.url + "/up", content=body())
    assert response.status_code == 200
    assert peer.got[0].body == b"sent whole"
    assert peer.got[0].complete


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_async_file_part_is_refused_when_the_request_is_built(kind: str) -> None:
    """Before: the part's read() coroutine reached the body writer after the head was sent
    ("a request body chunk must be bytes or str, not coroutine")."""
    client = wirekit.Client() if kind == "sync" else wirekit.AsyncClient()
    with pytest.raises(TypeError, match=r"file part 'doc': the file is async"):
        client.build_request("POST", "http://127.0.0.1:9/up", files={"doc": _AsyncFile()})


def test_bytes_filename_is_sent_as_utf8_text() -> None:
    """Before: TypeError "cannot use a string pattern on a bytes-like object"."""
    with FramingPeer() as peer, wirekit.Client(timeout=4.0) as client:
        response = client.post(
            peer.url + "/up", files={"doc": ("r\u00e9sum\u00e9.txt".encode(), b"data")}
        )
    assert response.status_code == 200
    assert 'filename="r\u00e9sum\u00e9.txt"'.encode() in peer.got[0].body


@pytest.mark.parametrize(
    ("filename", "error", "match"),
    [(b"\xff.txt", ValueError, "is not UTF-8"), (7, TypeError, "str, bytes or None, not int")],
)
def test_a_filename_that_is_not_text_names_the_part(
    filename: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=rf"file part 'doc': .*{match}"):
        wirekit.Client().build_request(
            "POST", "http://127.0.0.1:9/up", files={"doc": (filename, b"data")}
        )


class _AnswerTwice(wirekit.Auth):
    """Sends the request again after any answer, as Digest does after a 401."""

    def auth_flow(self, request: wirekit.Request) -> Iterator[wirekit.Request]:
        yield request
        request.headers["Authorization"] = "Again please"
        yield request


def _chunks() -> Iterator[bytes]:
    yield b"only "
    yield b"once"


def test_an_auth_flow_resending_a_streamed_body_fails_before_the_second_head() -> None:
    """Before: the second head went out, then the body raised StreamConsumed, leaving
    the server waiting for a body."""
    with FramingPeer() as peer, wirekit.Client(timeout=4.0) as client:
        with pytest.raises(StreamConsumed, match=r"cannot answer the 200 of 127\.0\.0\.1 with "):
            client.post(peer.url + "/up", content=_chunks(), auth=_AnswerTwice())
        peer.wait_finished()
    assert [(got.line, got.body) for got in peer.got] == [(b"POST /up HTTP/1.1", b"only once")]


def test_digest_challenge_to_a_streamed_body_names_what_to_do_sync() -> None:
    with digest_server(['Digest realm="area", nonce="n-1", qop="auth"']) as site:
        with wirekit.Client(trust_env=False, timeout=4.0) as client:
            with pytest.raises(StreamConsumed, match=r"the 401 of 127\.0\.0\.1 with DigestAuth"):
                client.post(
                    site.url + "/private",
                    content=_chunks(),
                    headers={"Content-Length": "9"},
                    auth=wirekit.DigestAuth("user", "pass"),
                )
    assert site.authorizations == [None]


@pytest.mark.anyio
async def test_digest_challenge_to_a_streamed_body_names_what_to_do_async() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"only once"

    with digest_server(['Digest realm="area", nonce="n-1", qop="auth"']) as site:
        async with wirekit.AsyncClient(trust_env=False, timeout=4.0) as client:
            with pytest.raises(StreamConsumed, match=r"the 401 of 127\.0\.0\.1 with DigestAuth"):
                await client.post(
                    site.url + "/private",
                    content=chunks(),
                    headers={"Content-Length": "9"},
                    auth=wirekit.DigestAuth("user", "pass"),
                )
    assert site.authorizations == [None]
