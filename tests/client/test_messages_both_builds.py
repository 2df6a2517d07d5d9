"""Request, Response and the client's transport seam behave the same on both builds.

Found by a review of compiling them with mypyc (``make pytest-compiled`` runs this file on
the compiled build too): a subclass's attributes kept by copy and pickle, bytes-like
content and chunks, iterators that close the response when left early, a duck-typed
transport, and one type for ``status_code``.
"""

from __future__ import annotations

import copy
import gc
import gzip
import pickle

import pytest

import wirekit
from tests.support.pool_peers import Peer, keep_alive
from wirekit import Request, Response


class _Chunks:
    """A sync ByteStream over a list of chunks, recording close()."""

    def __init__(self, chunks: list[object]) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.chunks)

    def close(self) -> None:
        self.closed = True


# -- a Response subclass's own attributes survive copy and pickle ----------------------------
class _TaggedResponse(Response):
    def __init__(self, *args: object, tag: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.tag = tag


@pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda obj: pickle.loads(pickle.dumps(obj))],
    ids=["copy", "deepcopy", "pickle"],
)
def test_a_response_subclass_keeps_its_own_attributes_when_copied(duplicate) -> None:  # type: ignore[no-untyped-def]
    response = _TaggedResponse(
        200, content=b"hi", request=Request("GET", "http://127.0.0.1/"), tag="cached"
    )
    duplicated = duplicate(response)
    assert duplicated.content == b"hi"
    assert duplicated.tag == "cached"  # AttributeError now: __getstate__ names slots only


# -- bytes-like content and chunks ----------------------------------------------------------
def test_a_response_built_with_bytearray_content() -> None:
    response = Response(200, content=bytearray(b'{"a": 1}'))  # TypeError on the compiled build
    assert response.json() == {"a": 1}
    assert response.text == '{"a": 1}'


@pytest.mark.parametrize("kind", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_iter_bytes_over_a_stream_of_bytes_like_chunks(kind) -> None:  # type: ignore[no-untyped-def]
    response = Response(200, stream=_Chunks([kind(b"hel"), kind(b"lo")]))
    assert b"".join(response.iter_bytes(2)) == b"hello"


def test_iter_text_over_a_stream_of_bytearray_chunks() -> None:
    response = Response(200, stream=_Chunks([bytearray(b"hel"), bytearray(b"lo")]))
    assert "".join(response.iter_text()) == "hello"


def test_read_of_a_gzip_stream_of_bytearray_chunks() -> None:
    body = gzip.compress(b"hello world")
    response = Response(
        200,
        headers=[("Content-Encoding", "gzip")],
        stream=_Chunks([bytearray(body[:10]), bytearray(body[10:])]),
    )
    assert response.read() == b"hello world"


# -- an iterator left early closes the response ---------------------------------------------
@pytest.mark.parametrize("method", ["iter_raw", "iter_bytes", "iter_text"])
def test_breaking_out_of_an_iterator_closes_the_response(method: str) -> None:
    stream = _Chunks([b"a", b"b", b"c"])
    response = Response(200, stream=stream)
    for _ in getattr(response, method)():
        break
    gc.collect()
    # Pure build: the generator's finally (self.close()) runs when it is dropped.
    assert stream.closed
    assert response.is_closed


def test_decompression_limit_in_iter_bytes_closes_the_response() -> None:
    stream = _Chunks([gzip.compress(b"x" * 100_000)])
    response = Response(
        200, headers={"Content-Encoding": "gzip"}, stream=stream, max_decoded_bytes=1000
    )

    def consume() -> None:
        for _ in response.iter_bytes(100):
            pass

    with pytest.raises(wirekit.DecompressionLimitError):
        consume()
    gc.collect()
    assert stream.closed
    assert response.is_closed


def test_breaking_out_of_iter_bytes_gives_the_pool_slot_back() -> None:
    # A real loopback peer; one connection allowed. The streamed response is still referenced
    # (a local variable), only its iterator is dropped: the pure build closes the response
    # (generator finalizer), the compiled build keeps the slot and the next GET times out.
    with (
        Peer(keep_alive(b"x" * 200_000)) as peer,
        wirekit.Client(
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(10, pool=1),
            retry=0,
            trust_env=False,
        ) as client,
    ):
        response = client.send(client.build_request("GET", peer.url), stream=True)
        for chunk in response.iter_bytes(1024):
            assert chunk
            break
        gc.collect()
        assert client.get(peer.url).status_code == 200  # PoolTimeout on the compiled build


# -- any object with handle_request and close is a transport --------------------------------
class _DuckTransport:
    """Has the whole transport interface (handle_request, close) without the base class."""

    def __init__(self) -> None:
        self.calls = 0

    def handle_request(self, request: Request) -> Response:
        self.calls += 1
        return Response(200, content=b"duck", request=request)

    def close(self) -> None:
        return None


def test_client_accepts_a_duck_typed_transport() -> None:
    transport = _DuckTransport()
    with wirekit.Client(transport=transport) as client:  # type: ignore[arg-type]
        assert client.get("http://service.test/").text == "duck"
    assert transport.calls == 1


# -- status_code is an int, whatever it was built with -------------------------------------
def test_a_response_built_with_an_http_status_has_the_same_status_code_in_both_builds() -> None:
    from http import HTTPStatus

    response = Response(HTTPStatus.NOT_FOUND)  # a MockTransport handler's usual spelling
    # Both builds now store a plain int (the compiled one cannot keep the enum).
    assert type(response.status_code) is int
    assert response.status_code == 404
    assert response.reason == "Not Found"
