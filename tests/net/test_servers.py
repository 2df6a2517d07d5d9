"""wirekit.net.servers: threaded TCP/Unix servers and the asyncio server, on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from wirekit.net import AsyncServer, TCPServer, UnixServer


def echo(conn: socket.socket, address: Any) -> None:
    while data := conn.recv(1024):
        conn.sendall(data)


def talk(address: Any, payload: bytes, family: int = socket.AF_INET) -> bytes:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(address)
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(1024):
            chunks.append(chunk)
    return b"".join(chunks)


def rejected(address: Any) -> bool:
    """True if the server closed the connection without answering."""
    with socket.create_connection(address, timeout=10) as sock:
        try:
            sock.sendall(b"hi")
            return sock.recv(10) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True


def test_tcp_echo_on_port_zero() -> None:
    with TCPServer(echo) as server:
        host, port = server.address[:2]
        assert port != 0
        assert talk((host, port), b"hello") == b"hello"


def test_dual_stack_accepts_ipv4_and_ipv6() -> None:
    try:
        server = TCPServer(echo, host="::")
    except OSError as exc:  # pragma: no cover - host without IPv6
        pytest.fail(f"cannot bind '::' on this host: {exc}")
    with server:
        port = server.address[1]
        assert talk(("::1", port), b"six", socket.AF_INET6) == b"six"
        assert talk(("127.0.0.1", port), b"four") == b"four"


def test_handler_exception_is_logged_and_server_keeps_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(conn: socket.socket, address: Any) -> None:
        data = conn.recv(100)
        if data == b"boom":
            raise RuntimeError("handler blew up")
        conn.sendall(data)

    with caplog.at_level(logging.ERROR, logger="wirekit.net.servers"), TCPServer(handler) as server:
        assert talk(server.address, b"boom") == b""
        assert talk(server.address, b"fine") == b"fine"
    assert "handler blew up" in caplog.text


def test_allow_list_closes_other_clients() -> None:
    with TCPServer(echo, allow=["192.0.2.0/24"]) as server:
        assert rejected(server.address)
    with TCPServer(echo, allow=["127.0.0.0/8"]) as server:
        assert talk(server.address, b"hi") == b"hi"


def test_bounded_pool_serves_clients_beyond_its_size_in_turn() -> None:
    with TCPServer(echo, max_connections=2) as server:
        results: list[bytes] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            reply = talk(server.address, f"client{n}".encode())
            with lock:
                results.append(reply)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(results) == sorted(f"client{n}".encode() for n in range(6))


def test_graceful_stop_waits_for_running_handler() -> None:
    started = threading.Event()
    release = threading.Event()
    finished: list[bool] = []

    def slow(conn: socket.socket, address: Any) -> None:
        started.set()
        release.wait(10)
        conn.sendall(b"done")
        finished.append(True)

    server = TCPServer(slow).start()
    client = socket.create_connection(server.address, timeout=10)
    assert started.wait(10)
    threading.Timer(0.1, release.set).start()
    assert server.stop(timeout=10) is True
    assert finished == [True]
    assert client.recv(10) == b"done"
    client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=5)


def test_stop_timeout_cuts_stuck_handlers() -> None:
    started = threading.Event()

    def stuck(conn: socket.socket, address: Any) -> None:
        started.set()
        conn.recv(100)  # waits for data that never comes, until stop() cuts it

    server = TCPServer(stuck).start()
    with socket.create_connection(server.address, timeout=10):
        assert started.wait(10)
        assert server.stop(timeout=0.1) is False


def test_unix_server(tmp_path: Path) -> None:
    path = str(tmp_path / "echo.sock")
    with UnixServer(echo, path) as server:
        assert server.address == path
        assert talk(path, b"unix", socket.AF_UNIX) == b"unix"
    assert not Path(path).exists()


@pytest.mark.anyio
async def test_async_server_tcp_and_allow(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        if line == b"boom\n":
            raise RuntimeError("async handler blew up")
        writer.write(line.upper())
        await writer.drain()

    async def ask(address: Any, line: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(*address[:2])
        try:
            writer.write(line)
            await writer.drain()
            return await reader.read()
        except ConnectionResetError:
            return b""  # closed by the server with our line unread
        finally:
            writer.close()
            with contextlib.suppress(ConnectionResetError):
                await writer.wait_closed()

    with caplog.at_level(logging.ERROR, logger="wirekit.net.servers"):
        async with AsyncServer(handler) as server:
            assert await ask(server.address, b"hello\n") == b"HELLO\n"
            assert await ask(server.address, b"boom\n") == b""
            assert await ask(server.address, b"again\n") == b"AGAIN\n"
    assert "async handler blew up" in caplog.text
    async with AsyncServer(handler, allow="10.0.0.0/8") as server:
        assert await ask(server.address, b"hello\n") == b""


@pytest.mark.anyio
async def test_async_server_unix_and_graceful_stop(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.write(b"done")
        await writer.drain()

    path = str(tmp_path / "a.sock")
    server = await AsyncServer(handler, path=path).start()
    reader, writer = await asyncio.open_unix_connection(path)
    await asyncio.sleep(0.05)
    asyncio.get_running_loop().call_later(0.1, release.set)
    assert await server.stop(timeout=10) is True
    assert await reader.read() == b"done"
    writer.close()
    await writer.wait_closed()
    assert not Path(path).exists()


def test_connection_timeout_frees_the_slot_of_a_silent_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="wirekit.net.servers"),
        TCPServer(echo, max_connections=1, connection_timeout=0.1) as server,
    ):
        with socket.create_connection(server.address, timeout=10) as silent:
            # The only slot is taken by the silent client until its timeout cuts it.
            assert silent.recv(10) == b""
        assert talk(server.address, b"next") == b"next"
    assert "connection_timeout=0.1" in caplog.text


def test_no_file_descriptors_leak() -> None:
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.fail("needs /proc/self/fd (Linux) to count descriptors")
    talk_count = 20
    before = len(list(fd_dir.iterdir()))
    with TCPServer(echo) as server:
        for n in range(talk_count):
            assert talk(server.address, str(n).encode()) == str(n).encode()
    server.stop()  # a second stop is harmless
    after = len(list(fd_dir.iterdir()))
    assert after <= before


def test_bad_settings_are_refused_before_binding() -> None:
    with pytest.raises(ValueError, match="max_connections must be at least 1"):
        TCPServer(echo, max_connections=0)
    with pytest.raises(ValueError, match="max_connections"):
        AsyncServer(echo, max_connections=0)  # type: ignore[arg-type]
