"""A body's chunks regrouped to the size a reader asked for (``iter_bytes(chunk_size)``...),
decoded, or turned into text: the steps the response iterators share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wirekit._models.text import TextDecoder

__all__ = ["DecodedPipe", "Rechunker", "TextPipe", "check_chunk_size", "split_content"]


def check_chunk_size(chunk_size: int | None) -> None:
    if chunk_size is not None and chunk_size < 1:
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
    """Content-Encoding undone by ``decoder``, regrouped into ``chunk_size`` pieces."""

    __slots__ = ("_buffer", "_decoder")

    def __init__(self, decoder: Any, chunk_size: int | None) -> None:
        self._buffer = Rechunker(chunk_size)
        self._decoder = decoder

    def push(self, chunk: Any) -> list[bytes]:
        return self._buffer.push(self._decoder.decode(chunk))

    def flush(self) -> list[bytes]:
        return self._buffer.push(self._decoder.flush()) + self._buffer.flush()


class TextPipe:
    """Bytes to text in ``encoding``, a character never cut between two pieces."""

    __slots__ = ("_decoder",)

    def __init__(self, encoding: str) -> None:
        self._decoder = TextDecoder(encoding)

    def push(self, chunk: bytes) -> list[str]:
        text = self._decoder.decode(chunk)
        return [text] if text else []

    def flush(self) -> list[str]:
        tail = self._decoder.flush()
        return [tail] if tail else []
