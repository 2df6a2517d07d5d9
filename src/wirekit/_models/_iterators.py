"""A Response body's iterators (``iter_*`` and ``aiter_*``) and reading a body whole.

Interpreted on purpose: scripts/compile.py compiles ``messages`` but not this module, whose
functions ``Response``'s methods return. Compiled by mypyc, an async generator does not
build at all, a dropped generator never runs its ``finally`` (a loop that breaks out must
still close the response and free its connection), and every chunk's type is checked (a
stream may hand over bytearray or memoryview pieces). Each iterator is a loop over a small
"pipe" (push a chunk, get back the pieces ready; flush at the end), the same object for the
sync and the async flavour.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from wirekit._models import decoders
from wirekit._models.chunks import Rechunker, split_content

if TYPE_CHECKING:  # pragma: no cover
    from wirekit._models.messages import Response


class _Decoded:
    """Content-Encoding undone, regrouped into ``chunk_size`` pieces."""

    __slots__ = ("_buffer", "_decoder")

    def __init__(self, response: Response, chunk_size: int | None) -> None:
        self._buffer = Rechunker(chunk_size)
        self._decoder = response._decoder()

    def push(self, chunk: Any) -> list[bytes]:
        return self._buffer.push(self._decoder.decode(chunk))

    def flush(self) -> list[bytes]:
        return self._buffer.push(self._decoder.flush()) + self._buffer.flush()


class _Text:
    """Bytes to text in ``encoding``, a character never cut between two pieces."""

    __slots__ = ("_decoder",)

    def __init__(self, encoding: str) -> None:
        self._decoder = decoders.TextDecoder(encoding)

    def push(self, chunk: bytes) -> list[str]:
        text = self._decoder.decode(chunk)
        return [text] if text else []

    def flush(self) -> list[str]:
        tail = self._decoder.flush()
        return [tail] if tail else []


# -- sync -----------------------------------------------------------------------------------
def raw(response: Response, chunk_size: int | None) -> Iterator[bytes]:
    """The body as received, Content-Encoding not undone; closes the response at the end."""
    if response._content is not None and response._stream is None:
        yield response._content
        return
    stream = response._sync_stream()
    buffer = Rechunker(chunk_size)
    try:
        for chunk in stream:
            yield from buffer.push(chunk)
        yield from buffer.flush()
    finally:
        response.close()


def decoded(response: Response, chunk_size: int | None) -> Iterator[bytes]:
    """The body decoded (gzip, br, zstd... undone)."""
    if response._content is not None:
        yield from split_content(response._content, chunk_size)
        return
    pipe = _Decoded(response, chunk_size)
    for chunk in response.iter_raw():
        yield from pipe.push(chunk)
    yield from pipe.flush()


def text(response: Response, chunk_size: int | None) -> Iterator[str]:
    """The body decoded to text, in the response's charset."""
    pipe = _Text(response._stream_encoding())
    for chunk in response.iter_bytes(chunk_size):
        yield from pipe.push(chunk)
    yield from pipe.flush()


def lines(response: Response) -> Iterator[str]:
    """The body's text, a line at a time (line ends removed)."""
    splitter = decoders.LineDecoder()
    for piece in response.iter_text():
        yield from splitter.decode(piece)
    yield from splitter.flush()


def collect(chunks: Iterable[Any]) -> bytes:
    """Every chunk, joined into bytes (bytearray and memoryview chunks too)."""
    return b"".join(chunks)


# -- async ----------------------------------------------------------------------------------
async def araw(response: Response, chunk_size: int | None) -> AsyncIterator[bytes]:
    """The body as received, Content-Encoding not undone; closes the response at the end."""
    if response._content is not None and response._stream is None:
        yield response._content
        return
    stream = response._async_stream()
    buffer = Rechunker(chunk_size)
    try:
        async for chunk in stream:
            for piece in buffer.push(chunk):
                yield piece
        for piece in buffer.flush():
            yield piece
    finally:
        await response.aclose()


async def adecoded(response: Response, chunk_size: int | None) -> AsyncIterator[bytes]:
    """The body decoded (gzip, br, zstd... undone)."""
    if response._content is not None:
        for piece in split_content(response._content, chunk_size):
            yield piece
        return
    pipe = _Decoded(response, chunk_size)
    async for chunk in response.aiter_raw():
        for piece in pipe.push(chunk):
            yield piece
    for piece in pipe.flush():
        yield piece


async def atext(response: Response, chunk_size: int | None) -> AsyncIterator[str]:
    """The body decoded to text, in the response's charset."""
    pipe = _Text(response._stream_encoding())
    async for chunk in response.aiter_bytes(chunk_size):
        for piece in pipe.push(chunk):
            yield piece
    for piece in pipe.flush():
        yield piece


async def alines(response: Response) -> AsyncIterator[str]:
    """The body's text, a line at a time (line ends removed)."""
    splitter = decoders.LineDecoder()
    async for piece in response.aiter_text():
        for line in splitter.decode(piece):
            yield line
    for line in splitter.flush():
        yield line


async def acollect(chunks: AsyncIterable[Any]) -> bytes:
    """Every chunk, joined into bytes (bytearray and memoryview chunks too)."""
    return b"".join([chunk async for chunk in chunks])
