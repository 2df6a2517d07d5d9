"""Message framing over byte streams: exact reads, length-prefixed frames, lines, records.

Sync functions work on blocking sockets, ``a``-prefixed ones on asyncio StreamReader and
StreamWriter. Every size a peer controls has a limit; an early close says how many bytes
arrived. Length prefixes are unsigned, big-endian (network byte order), 2, 4 or 8 bytes.
"""

from __future__ import annotations

import asyncio
import socket

from wirekit.errors import (
    LimitExceeded,
    ReadError,
    ReadTimeout,
    RemoteLimitExceeded,
    RemoteProtocolError,
    WriteError,
    WriteTimeout,
)

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_PREFIX_BYTES",
    "LineReader",
    "aread_exactly",
    "aread_frame",
    "aread_line",
    "aread_record",
    "awrite_frame",
    "encode_frame",
    "recv_exactly",
    "recv_frame",
    "recv_record",
    "send_all",
    "send_frame",
]

#: Largest frame payload accepted or sent (16 MiB): a 4-byte prefix could announce 4 GiB,
#: and a peer must not make us allocate that.
DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
#: Longest line accepted, delimiter included (64 KiB, asyncio's own StreamReader default).
DEFAULT_MAX_LINE_BYTES = 64 * 1024
#: Width of the length prefix in bytes.
DEFAULT_PREFIX_BYTES = 4
_PREFIX_SIZES = (2, 4, 8)
_RECV_CHUNK = 64 * 1024


def _check_prefix(prefix_bytes: int) -> None:
    if prefix_bytes not in _PREFIX_SIZES:
        raise ValueError(f"prefix_bytes must be one of {_PREFIX_SIZES}, not {prefix_bytes}")


def encode_frame(
    payload: bytes,
    *,
    prefix_bytes: int = DEFAULT_PREFIX_BYTES,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> bytes:
    """``payload`` with its length in front, ready to send."""
    _check_prefix(prefix_bytes)
    size = len(payload)
    if size > max_frame_bytes:
        raise LimitExceeded(
            f"frame of {size} bytes is over max_frame_bytes={max_frame_bytes}",
            limit="max_frame_bytes",
            value=max_frame_bytes,
        )
    if size >= 1 << (8 * prefix_bytes):
        raise LimitExceeded(
            f"frame of {size} bytes does not fit a {prefix_bytes}-byte length prefix",
            limit="prefix_bytes",
            value=prefix_bytes,
        )
    return size.to_bytes(prefix_bytes, "big") + payload


def _frame_size(prefix: bytes, max_frame_bytes: int) -> int:
    size = int.from_bytes(prefix, "big")
    if size > max_frame_bytes:
        raise RemoteLimitExceeded(
            f"peer announced a frame of {size} bytes, over max_frame_bytes={max_frame_bytes}",
            limit="max_frame_bytes",
            value=max_frame_bytes,
        )
    return size


def _peer(sock: socket.socket) -> str:
    try:
        name = sock.getpeername()
    except OSError:
        return "peer"
    return f"{name[0]}:{name[1]}" if isinstance(name, tuple) else str(name or "peer")


# -- sync ----------------------------------------------------------------------------------


def _recv_into(sock: socket.socket, view: memoryview) -> int:
    try:
        return sock.recv_into(view)
    except TimeoutError as exc:  # socket.timeout is TimeoutError since 3.10
        raise ReadTimeout(f"timed out reading from {_peer(sock)}") from exc
    except OSError as exc:
        raise ReadError(f"connection to {_peer(sock)} broke while reading: {exc}") from exc


def _recv(sock: socket.socket, size: int) -> bytes:
    try:
        return sock.recv(size)
    except TimeoutError as exc:
        raise ReadTimeout(f"timed out reading from {_peer(sock)}") from exc
    except OSError as exc:
        raise ReadError(f"connection to {_peer(sock)} broke while reading: {exc}") from exc


def _recv_exactly_or_none(sock: socket.socket, size: int) -> bytes | None:
    """``size`` bytes; None if the peer closed before sending any; error if it closed midway."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = _recv_into(sock, view[received:])
        if count == 0:
            if received == 0:
                return None
            raise RemoteProtocolError(
                f"{_peer(sock)} closed the connection after {received} of {size} bytes"
            )
        received += count
    return bytes(buffer)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """Exactly ``size`` bytes from ``sock``, or RemoteProtocolError saying how many came."""
    if size == 0:
        return b""
    data = _recv_exactly_or_none(sock, size)
    if data is None:
        raise RemoteProtocolError(f"{_peer(sock)} closed the connection after 0 of {size} bytes")
    return data


def send_all(sock: socket.socket, data: bytes) -> None:
    """Send every byte (``sendall`` loops over partial sends), errors translated."""
    try:
        sock.sendall(data)
    except TimeoutError as exc:
        raise WriteTimeout(f"timed out writing to {_peer(sock)}") from exc
    except OSError as exc:
        raise WriteError(f"connection to {_peer(sock)} broke while writing: {exc}") from exc


def send_frame(
    sock: socket.socket,
    payload: bytes,
    *,
    prefix_bytes: int = DEFAULT_PREFIX_BYTES,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> None:
    """Send one length-prefixed frame."""
    send_all(
        sock, encode_frame(payload, prefix_bytes=prefix_bytes, max_frame_bytes=max_frame_bytes)
    )


def recv_frame(
    sock: socket.socket,
    *,
    prefix_bytes: int = DEFAULT_PREFIX_BYTES,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> bytes | None:
    """One length-prefixed frame; None when the peer closed cleanly between frames."""
    _check_prefix(prefix_bytes)
    prefix = _recv_exactly_or_none(sock, prefix_bytes)
    if prefix is None:
        return None
    return recv_exactly(sock, _frame_size(prefix, max_frame_bytes))


def recv_record(sock: socket.socket, size: int) -> bytes | None:
    """One fixed-size record; None when the peer closed cleanly between records."""
    if size <= 0:
        raise ValueError(f"record size must be positive, not {size}")
    return _recv_exactly_or_none(sock, size)


class LineReader:
    """Delimiter-terminated lines from a socket, with a length limit.

    Keeps what it read past a line for the next call, so use one reader per socket.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        delimiter: bytes = b"\n",
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        if not delimiter:
            raise ValueError("delimiter must not be empty")
        self.sock = sock
        self.delimiter = delimiter
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()

    def read_line(self) -> bytes | None:
        """The next line, delimiter included; None at a clean close.

        A close in mid-line raises RemoteProtocolError; a line longer than ``max_line_bytes``
        raises RemoteLimitExceeded.
        """
        searched = 0
        while True:
            found = self._buffer.find(self.delimiter, searched)
            if found != -1:
                end = found + len(self.delimiter)
                if end > self.max_line_bytes:
                    break
                line = bytes(self._buffer[:end])
                del self._buffer[:end]
                return line
            if len(self._buffer) >= self.max_line_bytes:
                break
            # Restart the search just before the new bytes: a delimiter may straddle reads.
            searched = max(0, len(self._buffer) - len(self.delimiter) + 1)
            chunk = _recv(self.sock, _RECV_CHUNK)
            if not chunk:
                if not self._buffer:
                    return None
                raise RemoteProtocolError(
                    f"{_peer(self.sock)} closed the connection in the middle of a line "
                    f"({len(self._buffer)} bytes without {self.delimiter!r})"
                )
            self._buffer += chunk
        raise RemoteLimitExceeded(
            f"line from {_peer(self.sock)} is over max_line_bytes={self.max_line_bytes}",
            limit="max_line_bytes",
            value=self.max_line_bytes,
        )


# -- asyncio -------------------------------------------------------------------------------


async def _aread_exactly_or_none(reader: asyncio.StreamReader, size: int) -> bytes | None:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise RemoteProtocolError(
            f"peer closed the connection after {len(exc.partial)} of {size} bytes"
        ) from exc
    except OSError as exc:
        raise ReadError(f"connection broke while reading: {exc}") from exc


async def aread_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    """Exactly ``size`` bytes, or RemoteProtocolError saying how many came."""
    if size == 0:
        return b""
    data = await _aread_exactly_or_none(reader, size)
    if data is None:
        raise RemoteProtocolError(f"peer closed the connection after 0 of {size} bytes")
    return data


async def aread_frame(
    reader: asyncio.StreamReader,
    *,
    prefix_bytes: int = DEFAULT_PREFIX_BYTES,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> bytes | None:
    """One length-prefixed frame; None when the peer closed cleanly between frames."""
    _check_prefix(prefix_bytes)
    prefix = await _aread_exactly_or_none(reader, prefix_bytes)
    if prefix is None:
        return None
    return await aread_exactly(reader, _frame_size(prefix, max_frame_bytes))


async def awrite_frame(
    writer: asyncio.StreamWriter,
    payload: bytes,
    *,
    prefix_bytes: int = DEFAULT_PREFIX_BYTES,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> None:
    """Write one length-prefixed frame and wait until the transport takes it (drain)."""
    writer.write(encode_frame(payload, prefix_bytes=prefix_bytes, max_frame_bytes=max_frame_bytes))
    try:
        await writer.drain()
    except OSError as exc:
        raise WriteError(f"connection broke while writing: {exc}") from exc


async def aread_record(reader: asyncio.StreamReader, size: int) -> bytes | None:
    """One fixed-size record; None when the peer closed cleanly between records."""
    if size <= 0:
        raise ValueError(f"record size must be positive, not {size}")
    return await _aread_exactly_or_none(reader, size)


async def aread_line(
    reader: asyncio.StreamReader,
    *,
    delimiter: bytes = b"\n",
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> bytes | None:
    """The next line, delimiter included; None at a clean close.

    Memory is bounded by the StreamReader's own ``limit`` as well as ``max_line_bytes``:
    create the reader with ``limit`` >= ``max_line_bytes``.
    """
    try:
        line = await reader.readuntil(delimiter)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise RemoteProtocolError(
            f"peer closed the connection in the middle of a line "
            f"({len(exc.partial)} bytes without {delimiter!r})"
        ) from exc
    except asyncio.LimitOverrunError as exc:
        raise RemoteLimitExceeded(
            f"line is over the stream reader limit (max_line_bytes={max_line_bytes})",
            limit="max_line_bytes",
            value=max_line_bytes,
        ) from exc
    except OSError as exc:
        raise ReadError(f"connection broke while reading: {exc}") from exc
    if len(line) > max_line_bytes:
        raise RemoteLimitExceeded(
            f"line of {len(line)} bytes is over max_line_bytes={max_line_bytes}",
            limit="max_line_bytes",
            value=max_line_bytes,
        )
    return line
