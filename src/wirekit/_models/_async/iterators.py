"""A Response body's iterators (``aiter_*``; ``iter_*`` in the generated sync twin) and
reading a body whole.

Interpreted on purpose: scripts/compile.py compiles ``messages`` but not these modules,
whose functions ``Response``'s methods return. Compiled by mypyc, an async generator does
not build at all, a dropped generator never runs its ``finally`` (a loop that breaks out
must still close the response and free its connection), and every chunk's type is checked
(a stream may hand over bytearray or memoryview pieces). Each iterator is a loop over a
small "pipe" from ``wirekit._models.chunks`` (push a chunk, get back the pieces ready; flush
at the end).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from wirekit._models import decoders
from wirekit._models.chunks import DecodedPipe, Rechunker, TextPipe, split_content
from wirekit.errors import DecodingError, StreamClosed, WirekitError

if TYPE_CHECKING:  # pragma: no cover
    from wirekit._models.messages import Response


_T = TypeVar("_T")


class AsyncGuarded(Generic[_T]):
    """A body iterator that, once a step has failed (a read timeout caught and the loop
    gone on, a step cancelled by ``asyncio.wait_for``, a limit), raises StreamClosed on
    every later step: a generator that raised can only end, and the body would look
    complete with part of it missing."""

    __slots__ = ("_failed", "_inner")

    def __init__(self, inner: AsyncIterator[_T]) -> None:
        self._inner = inner
        self._failed: str | None = None

    def __aiter__(self) -> AsyncGuarded[_T]:
        return self

    async def __anext__(self) -> _T:
        if self._failed is not None:
            raise StreamClosed(
                f"the response body cannot be read on: an earlier step failed ({self._failed})"
            )
        try:
            return await self._inner.__anext__()
        except StopAsyncIteration:
            raise
        except BaseException as exc:
            self._failed = type(exc).__name__
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()  # type: ignore[attr-defined]


def raw(response: Response, chunk_size: int | None) -> AsyncIterator[bytes]:
    """The body as received, Content-Encoding not undone; closes the response at the end."""
    return AsyncGuarded(_raw(response, chunk_size))


def decoded(response: Response, chunk_size: int | None) -> AsyncIterator[bytes]:
    """The body decoded (gzip, br, zstd... undone)."""
    return AsyncGuarded(_decoded(response, chunk_size))


def text(response: Response, chunk_size: int | None) -> AsyncIterator[str]:
    """The body decoded to text, in the response's charset."""
    return AsyncGuarded(_text(response, chunk_size))


def lines(response: Response, max_line_length: int | None) -> AsyncIterator[str]:
    """The body's text, a line at a time (line ends removed)."""
    return AsyncGuarded(_lines(response, max_line_length))


async def _raw(response: Response, chunk_size: int | None) -> AsyncIterator[bytes]:
    """The body as received, Content-Encoding not undone; closes the response at the end."""
    if response._content is not None and response._stream is None:
        for piece in split_content(response._content, chunk_size):
            yield piece  # as from the network: in chunk_size pieces, none when empty
        return
    buffer = Rechunker(chunk_size)  # a bad chunk_size raises before the body is taken
    stream = response._async_stream()
    try:
        async for chunk in stream:
            for piece in buffer.push(chunk):
                yield piece
        for piece in buffer.flush():
            yield piece
    except WirekitError as exc:
        _blame(response, exc)
        raise
    finally:
        await response.aclose()


async def _decoded(response: Response, chunk_size: int | None) -> AsyncIterator[bytes]:
    """The body decoded (gzip, br, zstd... undone)."""
    if response._content is not None:
        for piece in split_content(response._content, chunk_size):
            yield piece
        return
    pipe = DecodedPipe(response._decoder, chunk_size)
    try:
        async for chunk in response.aiter_raw():
            for piece in pipe.push(chunk):
                yield piece
        for piece in pipe.flush():
            yield piece
    except WirekitError as exc:
        _blame(response, exc)
        raise


async def _text(response: Response, chunk_size: int | None) -> AsyncIterator[str]:
    """The body decoded to text, in the response's charset."""
    pipe = TextPipe(response._stream_encoding())
    async for chunk in response.aiter_bytes(chunk_size):
        for piece in pipe.push(chunk):
            yield piece
    for piece in pipe.flush():
        yield piece


async def _lines(response: Response, max_line_length: int | None) -> AsyncIterator[str]:
    """The body's text, a line at a time (line ends removed)."""
    splitter = (
        decoders.LineDecoder()
        if max_line_length is None
        else decoders.LineDecoder(max_line_length=max_line_length)
    )
    async for piece in response.aiter_text():
        for line in splitter.decode(piece):
            yield line
    for line in splitter.flush():
        yield line


async def collect(chunks: AsyncIterable[Any]) -> bytes:
    """Every chunk, joined into bytes (bytearray and memoryview chunks too)."""
    return b"".join([chunk async for chunk in chunks])


def _blame(response: Response, exc: WirekitError) -> None:
    """Say which request a body error belongs to, and for a decoding error, which peer and
    phase (the decoders know neither): every failure names what failed."""
    request = response._request
    if request is None:
        return
    if exc.request is None:
        exc.request = request
    if isinstance(exc, DecodingError) and exc.args and isinstance(exc.args[0], str):
        url = request.url
        prefix = f"{url.host}:{url.effective_port}: "
        if not exc.args[0].startswith(prefix):
            message = f"{prefix}{exc.args[0]} (while reading the response body)"
            exc.args = (message, *exc.args[1:])
