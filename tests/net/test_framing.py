"""wirekit.net.framing over socketpairs and asyncio streams."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from wirekit.errors import LimitExceeded, ReadTimeout, RemoteLimitExceeded, RemoteProtocolError
from wirekit.net import framing


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.settimeout(10)
    right.settimeout(10)
    yield left, right
    left.close()
    right.close()


def test_recv_exactly_gathers_partial_reads(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    for piece in (b"ab", b"cde", b"f"):
        left.sendall(piece)
    assert framing.recv_exactly(right, 6) == b"abcdef"


def test_recv_exactly_early_close_says_how_much_arrived(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    left.sendall(b"abc")
    left.close()
    with pytest.raises(RemoteProtocolError, match="after 3 of 10 bytes"):
        framing.recv_exactly(right, 10)


def test_recv_exactly_timeout(pair: tuple[socket.socket, socket.socket]) -> None:
    _, right = pair
    right.settimeout(0.05)
    with pytest.raises(ReadTimeout, match="timed out reading"):
        framing.recv_exactly(right, 1)


@pytest.mark.parametrize("prefix_bytes", [2, 4, 8])
def test_frames_round_trip(pair: tuple[socket.socket, socket.socket], prefix_bytes: int) -> None:
    left, right = pair
    for payload in (b"", b"hello", b"x" * 5000):
        framing.send_frame(left, payload, prefix_bytes=prefix_bytes)
    assert [framing.recv_frame(right, prefix_bytes=prefix_bytes) for _ in range(3)] == [
        b"",
        b"hello",
        b"x" * 5000,
    ]
    left.close()
    assert framing.recv_frame(right, prefix_bytes=prefix_bytes) is None


def test_frame_prefix_is_network_byte_order() -> None:
    assert framing.encode_frame(b"abc", prefix_bytes=2) == b"\x00\x03abc"
    assert framing.encode_frame(b"", prefix_bytes=8) == b"\x00" * 8


def test_frame_limits(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    with pytest.raises(LimitExceeded, match="over max_frame_bytes=4") as caught:
        framing.send_frame(left, b"12345", max_frame_bytes=4)
    assert caught.value.limit == "max_frame_bytes"
    with pytest.raises(LimitExceeded, match="does not fit a 2-byte length prefix"):
        framing.encode_frame(b"x" * 70000, prefix_bytes=2)
    left.sendall((10**9).to_bytes(4, "big"))
    with pytest.raises(RemoteLimitExceeded, match="announced a frame of 1000000000 bytes"):
        framing.recv_frame(right, max_frame_bytes=1024)
    with pytest.raises(ValueError, match="prefix_bytes must be one of"):
        framing.encode_frame(b"", prefix_bytes=3)


def test_frame_cut_in_the_middle(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    left.sendall(b"\x00\x00\x00\x08abc")
    left.close()
    with pytest.raises(RemoteProtocolError, match="after 3 of 8 bytes"):
        framing.recv_frame(right)


def test_records(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    left.sendall(b"AAAABBBBCC")
    left.close()
    assert framing.recv_record(right, 4) == b"AAAA"
    assert framing.recv_record(right, 4) == b"BBBB"
    with pytest.raises(RemoteProtocolError, match="after 2 of 4 bytes"):
        framing.recv_record(right, 4)


def test_lines_with_delimiter_split_across_reads(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    reader = framing.LineReader(right, delimiter=b"\r\n", max_line_bytes=100)
    left.sendall(b"one\r")
    left.sendall(b"\ntwo\r\nthree\r\n")
    assert reader.read_line() == b"one\r\n"
    assert reader.read_line() == b"two\r\n"
    assert reader.read_line() == b"three\r\n"
    left.sendall(b"tail")
    left.close()
    with pytest.raises(RemoteProtocolError, match="middle of a line"):
        reader.read_line()


def test_line_limit_and_clean_close(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    reader = framing.LineReader(right, max_line_bytes=8)
    left.sendall(b"short\n" + b"y" * 20 + b"\n")
    assert reader.read_line() == b"short\n"
    with pytest.raises(RemoteLimitExceeded, match="over max_line_bytes=8"):
        reader.read_line()
    left2, right2 = socket.socketpair()
    with left2, right2:
        left2.close()
        assert framing.LineReader(right2).read_line() is None


def test_partial_sends_deliver_everything(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    payload = bytes(range(256)) * 4096  # 1 MiB: far more than one send() takes
    received: list[bytes | None] = []
    reader = threading.Thread(target=lambda: received.append(framing.recv_frame(right)))
    reader.start()
    framing.send_frame(left, payload)
    reader.join(30)
    assert received == [payload]


@pytest.mark.anyio
async def test_async_frames_lines_records() -> None:
    got: list[object] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await framing.aread_frame(reader))
        got.append(await framing.aread_line(reader))
        got.append(await framing.aread_record(reader, 3))
        got.append(await framing.aread_exactly(reader, 2))
        await framing.awrite_frame(writer, b"bye", prefix_bytes=2)
        got.append(await framing.aread_frame(reader))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        host, port = server.sockets[0].getsockname()[:2]
        reader, writer = await asyncio.open_connection(host, port)
        await framing.awrite_frame(writer, b"frame")
        writer.write(b"a line\nREC12")
        await writer.drain()
        assert await framing.aread_frame(reader, prefix_bytes=2) == b"bye"
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if len(got) == 5:
                break
            await asyncio.sleep(0.01)
    assert got == [b"frame", b"a line\n", b"REC", b"12", None]


@pytest.mark.anyio
async def test_async_errors() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"\x00\x00\x00\x09abc")
    reader.feed_eof()
    with pytest.raises(RemoteProtocolError, match="after 3 of 9 bytes"):
        await framing.aread_frame(reader)
    reader = asyncio.StreamReader()
    reader.feed_data(b"\xff\xff\xff\xff")
    with pytest.raises(RemoteLimitExceeded, match="max_frame_bytes=10"):
        await framing.aread_frame(reader, max_frame_bytes=10)
    reader = asyncio.StreamReader()
    reader.feed_data(b"x" * 50 + b"\n")
    with pytest.raises(RemoteLimitExceeded, match="max_line_bytes=10"):
        await framing.aread_line(reader, max_line_bytes=10)
    reader = asyncio.StreamReader(limit=16)
    reader.feed_data(b"x" * 50)
    with pytest.raises(RemoteLimitExceeded, match="max_line_bytes"):
        await framing.aread_line(reader)
    reader = asyncio.StreamReader()
    reader.feed_data(b"half")
    reader.feed_eof()
    with pytest.raises(RemoteProtocolError, match="middle of a line"):
        await framing.aread_line(reader)
