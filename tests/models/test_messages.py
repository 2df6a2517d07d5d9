"""Request and Response as objects: what both builds (pure and mypyc) let a user do with them."""

from __future__ import annotations

import pickle

import pytest

from wirekit import Request, Response


def _response() -> Response:
    response = Response(
        200,
        headers={"Content-Type": "text/plain; charset=utf-8"},
        content=b"hello",
        request=Request("GET", "http://127.0.0.1/x"),
    )
    response.history = [Response(301, request=Request("GET", "http://127.0.0.1/"))]
    response.timings = {"first_byte": 0.001}
    response.elapsed = 0.002
    return response


def test_a_response_has_fixed_attributes_in_both_builds() -> None:
    # The compiled build's Response cannot take new attributes; the pure one has __slots__
    # so that code written against one runs on the other.
    response = _response()
    with pytest.raises(AttributeError):
        response.from_cache = True  # type: ignore[attr-defined]


def test_a_pickled_response_keeps_its_body_and_metadata() -> None:
    response = _response()
    copy = pickle.loads(pickle.dumps(response))
    assert copy.status_code == 200
    assert copy.text == "hello"
    assert copy.headers["content-type"] == "text/plain; charset=utf-8"
    assert copy.request.url == response.request.url
    assert [hop.status_code for hop in copy.history] == [301]
    assert copy.timings == {"first_byte": 0.001}
    assert copy.elapsed == 0.002
    assert copy.is_closed


def test_response_iterators_rechunk_a_read_body() -> None:
    response = _response()
    assert list(response.iter_bytes(2)) == [b"he", b"ll", b"o"]
    assert list(response.iter_text()) == ["hello"]


@pytest.mark.anyio
async def test_response_async_iterators_rechunk_a_read_body() -> None:
    response = _response()
    assert [chunk async for chunk in response.aiter_bytes(2)] == [b"he", b"ll", b"o"]
    assert [chunk async for chunk in response.aiter_raw()] == [b"hello"]
    assert [text async for text in response.aiter_text()] == ["hello"]
    assert [line async for line in response.aiter_lines()] == ["hello"]


def test_a_chunk_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="chunk_size must be a positive"):
        list(_response().iter_bytes(0))
