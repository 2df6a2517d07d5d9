"""A body's chunks regrouped to the size a reader asked for (``iter_bytes(chunk_size)``...),
decoded, or turned into text: the steps the response iterators share."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from wirekit._models.text import BYTE_ORDER_MARKS, TextDecoder, bom_encoding

__all__ = [
    "AsyncIterableBody",
    "BytesBody",
    "DecodedPipe",
    "IterableBody",
    "Rechunker",
    "TextPipe",
    "check_chunk_size",
    "split_content",
]


class BytesBody:
    """A whole body in memory handed over as a raw body stream, sync or async, as a network
    transport hands one over: the response then undoes its Content-Encoding (gzip...) the
    same way. (Here, not in the compiled ``messages``: mypyc builds no async generator.)"""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        if self._body:
            yield self._body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def _chunk(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"a Response's content= iterator gave a {type(chunk).__name__}, not bytes")


class IterableBody:
    """``Response(content=<iterable of bytes>)`` (a MockTransport handler streaming its
    answer) as a raw body stream, read by ``for`` or ``async for`` like a network one."""

    def __init__(self, source: Iterable[Any]) -> None:
        self._source = source

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._source:
            yield _chunk(chunk)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._source:
            yield _chunk(chunk)

    def close(self) -> None:
        close = getattr(self._source, "close", None)  # a generator's
        if close is not None:
            close()

    async def aclose(self) -> None:
        self.close()


class AsyncIterableBody:
    """``Response(content=<async iterable of bytes>)``: read with ``async for`` only (a sync
    read says the body is async, as for an async transport's)."""

    def __init__(self, source: AsyncIterable[Any]) -> None:
        self._source = source

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            yield _chunk(chunk)

    async def aclose(self) -> None:
        aclose = getattr(self._source, "aclose", None)  # an async generator's
        if aclose is not None:
            await aclose()


def check_chunk_size(chunk_size: object) -> None:
    if chunk_size is None:
        return
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool):
        # A float (1024.0) would pass the comparison and fail as a slice index, later.
        raise TypeError(
            f"chunk_size must be an int number of bytes or None, not {type(chunk_size).__name__}"
        )
    if chunk_size < 1:
        # 0 or less would never fill a chunk: the loops below would spin and buffer forever.
        raise ValueError(f"chunk_size must be a positive number of bytes or None, not {chunk_size}")


def split_content(content: bytes, chunk_size: int | None) -> Iterator[bytes]:
    check_chunk_size(chunk_size)
    if not content:
        return
    if chunk_size is None:
        yield content
        return
    for start in range(0, len(content), chunk_size):
        yield content[start : start + chunk_size]


class Rechunker:
    """Regroups a byte stream into chunks of exactly ``chunk_size`` (the last may be short)."""

    __slots__ = ("_buffer", "_size")

    def __init__(self, chunk_size: int | None) -> None:
        check_chunk_size(chunk_size)
        self._size = chunk_size
        self._buffer = bytearray()

    def push(self, data: bytes) -> list[bytes]:
        if not data:
            return []
        if self._size is None:
            return [data]
        self._buffer += data
        out: list[bytes] = []
        while len(self._buffer) >= self._size:
            out.append(bytes(self._buffer[: self._size]))
            del self._buffer[: self._size]
        return out

    def flush(self) -> list[bytes]:
        if self._buffer:
            out = [bytes(self._buffer)]
            self._buffer.clear()
            return out
        return []


class DecodedPipe:
    """Content-Encoding undone, regrouped into ``chunk_size`` pieces.

    The decoder is made (``make_decoder()``) on the first non-empty chunk: a body that is
    empty (HEAD, 204, 304) has nothing to decode, whatever its Content-Encoding says, even
    one this installation cannot decode."""

    __slots__ = ("_buffer", "_decoder", "_make_decoder")

    def __init__(self, make_decoder: Callable[[], Any], chunk_size: int | None) -> None:
        self._buffer = Rechunker(chunk_size)
        self._make_decoder = make_decoder
        self._decoder: Any = None

    def push(self, chunk: Any) -> list[bytes]:
        if not chunk:
            return []
        if self._decoder is None:
            self._decoder = self._make_decoder()
        return self._buffer.push(self._decoder.decode(chunk))

    def flush(self) -> list[bytes]:
        if self._decoder is None:
            return self._buffer.flush()
        return self._buffer.push(self._decoder.flush()) + self._buffer.flush()


class TextPipe:
    """Bytes to text in ``encoding``, a character never cut between two pieces.

    ``encoding=None``: nothing declared it (a streamed body without a charset): a byte-order
    mark in the first bytes decides (and is dropped), else UTF-8."""

    __slots__ = ("_decoder", "_head")

    def __init__(self, encoding: str | None) -> None:
        self._decoder = None if encoding is None else TextDecoder(encoding)
        self._head = b""

    def _start(self, head: bytes) -> str:
        self._decoder = decoder = TextDecoder(bom_encoding(head) or "utf-8")
        return decoder.decode(head)

    def push(self, chunk: bytes) -> list[str]:
        if self._decoder is None:
            self._head += chunk
            head = self._head
            # Held back only while the bytes so far may still begin a byte-order mark: a
            # short first line ("hi\n" of a server-sent event stream) is not kept waiting.
            if len(head) < _BOM_BYTES and any(mark.startswith(head) for mark in BYTE_ORDER_MARKS):
                return []
            head, self._head = self._head, b""
            text = self._start(head)
        else:
            text = self._decoder.decode(chunk)
        return [text] if text else []

    def flush(self) -> list[str]:
        text = self._start(self._head) if self._decoder is None else ""
        assert self._decoder is not None
        text += self._decoder.flush()
        return [text] if text else []


#: The longest byte-order mark (UTF-32).
_BOM_BYTES = 4
