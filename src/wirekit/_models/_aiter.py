"""The async iterators of a Response body (``aiter_raw``, ``aiter_bytes``...).

They live apart from ``messages`` only because mypyc cannot compile async generators and
``messages`` is one of the compiled modules (scripts/compile.py): ``Response.aiter_*`` return
these, so the reading logic stays one piece of source for both builds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from wirekit._models import decoders
from wirekit._models.chunks import Rechunker, split_content

if TYPE_CHECKING:  # pragma: no cover
    from wirekit._models.messages import Response


async def raw(response: Response, chunk_size: int | None) -> AsyncIterator[bytes]:
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


async def decoded(response: Response, chunk_size: int | None) -> AsyncIterator[bytes]:
    """The body decoded (gzip, br, zstd... undone)."""
    if response._content is not None:
        for piece in split_content(response._content, chunk_size):
            yield piece
        return
    decoder = response._decoder()
    buffer = Rechunker(chunk_size)
    async for chunk in response.aiter_raw():
        for piece in buffer.push(decoder.decode(chunk)):
            yield piece
    for piece in buffer.push(decoder.flush()):
        yield piece
    for piece in buffer.flush():
        yield piece


async def text(response: Response, chunk_size: int | None) -> AsyncIterator[str]:
    """The body decoded to text, in the response's charset."""
    decoder = decoders.TextDecoder(response._stream_encoding())
    async for chunk in response.aiter_bytes(chunk_size):
        piece = decoder.decode(chunk)
        if piece:
            yield piece
    tail = decoder.flush()
    if tail:
        yield tail


async def lines(response: Response) -> AsyncIterator[str]:
    """The body's text, a line at a time (line ends removed)."""
    splitter = decoders.LineDecoder()
    async for piece in response.aiter_text():
        for line in splitter.decode(piece):
            yield line
    for line in splitter.flush():
        yield line
