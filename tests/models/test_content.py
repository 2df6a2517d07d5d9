"""Request body encoding: headers chosen, chunks produced, replay behaviour, as a client sees."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from wirekit._models.content import (
    CHUNK_SIZE,
    AsyncIteratorContent,
    BytesContent,
    FileContent,
    IteratorContent,
    RequestContent,
    encode_request,
)
from wirekit.errors import StreamConsumed


def body_of(content: RequestContent) -> bytes:
    chunks = list(content)
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)
    return b"".join(chunks)


async def abody_of(content: RequestContent) -> bytes:
    chunks = [chunk async for chunk in content]
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)
    return b"".join(chunks)


def test_nothing_is_an_empty_body_without_headers() -> None:
    headers, body = encode_request()
    assert headers == {}
    assert body.content_length == 0
    assert body.as_bytes() == b""
    assert body_of(body) == b""


@pytest.mark.parametrize(
    ("kwargs", "headers", "payload"),
    [
        ({"content": b"raw"}, {"Content-Length": "3"}, b"raw"),
        ({"content": "héllo"}, {"Content-Length": "6"}, "héllo".encode()),
        ({"content": b""}, {"Content-Length": "0"}, b""),
        ({"data": b"as is"}, {"Content-Length": "5"}, b"as is"),
        ({"data": "text"}, {"Content-Length": "4"}, b"text"),
        (
            {"data": {"a": "1", "b": ["x y", "z&"], "n": None, "t": True}},
            {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "31"},
            b"a=1&b=x+y&b=z%26&n=&t=true",
        ),
        (
            {"data": [("k", "1"), ("k", "2")]},
            {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "7"},
            b"k=1&k=2",
        ),
        (
            {"json": {"name": "zoë", "list": [1, 2.5, None]}},
            {"Content-Type": "application/json", "Content-Length": "36"},
            '{"name":"zoë","list":[1,2.5,null]}'.encode(),
        ),
    ],
)
def test_in_memory_bodies(kwargs: dict[str, Any], headers: dict[str, str], payload: bytes) -> None:
    got_headers, body = encode_request(**kwargs)
    assert body_of(body) == payload
    assert body.as_bytes() == payload
    assert body.content_length == len(payload)
    assert body.is_replayable
    expected = dict(headers)
    if "Content-Length" in expected:
        expected["Content-Length"] = str(len(payload))
    assert got_headers == expected


def test_json_is_compact_utf8_and_refuses_nan() -> None:
    _, body = encode_request(json=["é", {"a": 1}])
    assert body.as_bytes() == '["é",{"a":1}]'.encode()
    assert json.loads(body.as_bytes() or b"") == ["é", {"a": 1}]
    with pytest.raises(ValueError, match="json= body cannot be encoded"):
        encode_request(json={"x": float("nan")})


def test_large_bytes_are_chunked_at_64_kib() -> None:
    payload = bytes(range(256)) * 1000  # 256000 bytes
    _, body = encode_request(content=payload)
    chunks = list(body)
    assert [len(c) for c in chunks] == [CHUNK_SIZE] * 3 + [256000 - 3 * CHUNK_SIZE]
    assert b"".join(chunks) == payload
    assert b"".join(body) == payload  # iterating again sends the same bytes


def test_real_file_has_a_length_and_can_be_replayed(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(b"0123456789" * 20000)
    with path.open("rb") as file:
        file.read(5)  # the body is what is left from the current position
        headers, body = encode_request(content=file)
        assert headers == {"Content-Length": str(200000 - 5)}
        assert isinstance(body, FileContent)
        assert body.is_replayable
        assert body.as_bytes() is None
        first = body_of(body)
        assert first == (b"0123456789" * 20000)[5:]
        assert body_of(body) == first  # a second send starts over (307/308, retries)
        body.rewind()
        assert body_of(body) == first


def test_seekable_in_memory_file_length() -> None:
    headers, body = encode_request(data=io.BytesIO(b"abcdef"))
    assert headers == {"Content-Length": "6"}
    assert body_of(body) == b"abcdef"


class Unseekable(io.RawIOBase):
    def __init__(self, payload: bytes) -> None:
        self._source = io.BytesIO(payload)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def test_unseekable_file_is_chunked_and_not_replayable() -> None:
    headers, body = encode_request(content=Unseekable(b"x" * 100))
    assert headers == {"Transfer-Encoding": "chunked"}
    assert body.content_length is None
    assert not body.is_replayable
    assert body_of(body) == b"x" * 100
    with pytest.raises(StreamConsumed):
        body.rewind()
    with pytest.raises(StreamConsumed):
        list(body)


def test_text_file_length_is_unknown() -> None:
    headers, body = encode_request(content=io.StringIO("héllo"))
    assert headers == {"Transfer-Encoding": "chunked"}
    assert body_of(body) == "héllo".encode()


def test_generator_is_streamed_once() -> None:
    def generate() -> Iterator[bytes | str]:
        yield b"a" * (CHUNK_SIZE + 10)
        yield "b"

    headers, body = encode_request(content=generate())
    assert headers == {"Transfer-Encoding": "chunked"}
    assert isinstance(body, IteratorContent)
    assert not body.is_replayable
    assert body_of(body) == b"a" * (CHUNK_SIZE + 10) + b"b"
    with pytest.raises(StreamConsumed, match="cannot be sent twice"):
        list(body)


def test_bad_chunk_type_is_named() -> None:
    _, body = encode_request(content=iter([b"ok", 42]))
    with pytest.raises(TypeError, match="must be bytes or str, not int"):
        list(body)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"content": b"x", "json": {}},
        {"data": {"a": 1}, "json": {}},
        {"content": b"x", "data": b"y"},
        {"data": b"raw", "files": {"f": b"x"}},
    ],
)
def test_conflicting_arguments_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="pass only one of"):
        encode_request(**kwargs)


def test_unsendable_type_is_named() -> None:
    with pytest.raises(TypeError, match="cannot send int as a request body"):
        encode_request(content=42)


@pytest.mark.anyio
async def test_async_iteration_of_every_kind(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"file body")
    _, in_memory = encode_request(content=b"bytes body")
    assert await abody_of(in_memory) == b"bytes body"
    with path.open("rb") as file:
        _, from_file = encode_request(content=file)
        assert await abody_of(from_file) == b"file body"
        assert await abody_of(from_file) == b"file body"
    _, from_generator = encode_request(content=iter([b"a", b"b"]))
    assert await abody_of(from_generator) == b"ab"


@pytest.mark.anyio
async def test_async_generator_and_async_file() -> None:
    async def generate() -> AsyncIterator[bytes]:
        yield b"x" * (CHUNK_SIZE + 1)
        yield b"y"

    headers, body = encode_request(content=generate())
    assert headers == {"Transfer-Encoding": "chunked"}
    assert isinstance(body, AsyncIteratorContent)
    assert await abody_of(body) == b"x" * (CHUNK_SIZE + 1) + b"y"
    with pytest.raises(StreamConsumed):
        await abody_of(body)
    with pytest.raises(TypeError, match="async client"):
        list(body)

    class AsyncFile:
        def __init__(self) -> None:
            self._source = io.BytesIO(b"async file body")

        async def read(self, size: int) -> bytes:
            return self._source.read(min(size, 4))

    _, from_async_file = encode_request(content=AsyncFile())
    assert await abody_of(from_async_file) == b"async file body"


def test_bytes_content_repr_does_not_dump_the_body() -> None:
    assert repr(BytesContent(b"secret")) == "BytesContent(<6 bytes>)"
