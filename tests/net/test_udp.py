"""wirekit.net.udp: retransmission, request ids, stray replies, the UDP server."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import pytest

from wirekit.errors import ConnectError, TimeoutException
from wirekit.net import UDPServer, UDPTimeout, audp_request, serve_udp, udp_request


def echo_upper(data: bytes, sender: tuple[Any, ...]) -> bytes:
    return data.upper()


def test_request_reply() -> None:
    with serve_udp(echo_upper) as server:
        assert udp_request(server.address, b"ping", timeout=2) == b"PING"
    with serve_udp(echo_upper, request_id=True) as server:
        assert udp_request(server.address, b"ping", timeout=2, request_id=True) == b"PING"


class DropFirst:
    """A flaky server: ignores the first ``drops`` datagrams, answers the rest."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.seen = 0
        self.lock = threading.Lock()

    def __call__(self, data: bytes, sender: tuple[Any, ...]) -> bytes | None:
        with self.lock:
            self.seen += 1
            if self.seen <= self.drops:
                return None
        return b"ok:" + data


def test_lost_datagrams_are_retransmitted() -> None:
    handler = DropFirst(2)
    with serve_udp(handler) as server:
        reply = udp_request(server.address, b"x", timeout=0.05, retries=3, backoff=1.5)
    assert reply == b"ok:x"
    assert handler.seen == 3


def test_gives_up_naming_address_and_attempts() -> None:
    with serve_udp(DropFirst(100)) as server:
        host, port = server.address[:2]
        with pytest.raises(UDPTimeout, match=rf"no UDP reply from {host}:{port} after 3 attempts"):
            udp_request(server.address, b"x", timeout=0.02, retries=2, max_backoff=0.05)
    with pytest.raises(TimeoutException) as caught, serve_udp(DropFirst(100)) as server:
        udp_request(server.address, b"x", timeout=0.02, retries=0)
    assert isinstance(caught.value, UDPTimeout)
    assert caught.value.attempts == 1
    assert caught.value.address == server.address


def test_replies_from_other_sources_are_dropped() -> None:
    # A "server" that never answers itself but has an accomplice answer from another port.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    intruder.bind(("127.0.0.1", 0))

    def accomplice() -> None:
        _data, sender = silent.recvfrom(100)
        intruder.sendto(b"forged", sender)
        silent.recvfrom(100)
        silent.sendto(b"genuine", sender)

    thread = threading.Thread(target=accomplice)
    thread.start()
    try:
        reply = udp_request(silent.getsockname(), b"q", timeout=0.2, retries=2)
    finally:
        thread.join(10)
        silent.close()
        intruder.close()
    assert reply == b"genuine"


def test_request_id_drops_late_and_foreign_replies() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def server() -> None:
        _first, sender = sock.recvfrom(100)
        sock.sendto(b"\x00" * 8 + b"wrong id", sender)  # someone else's id
        second, _ = sock.recvfrom(100)  # the retransmission: a new attempt, same id
        sock.sendto(second[:8] + b"right", sender)

    thread = threading.Thread(target=server)
    thread.start()
    try:
        reply = udp_request(sock.getsockname(), b"q", timeout=0.1, retries=2, request_id=True)
    finally:
        thread.join(10)
        sock.close()
    assert reply == b"right"


def test_nobody_listening_is_a_connect_error() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    address = probe.getsockname()
    probe.close()
    with pytest.raises((ConnectError, UDPTimeout), match=f"{address[1]}"):
        udp_request(address, b"x", timeout=0.05, retries=1)


def test_handler_errors_are_logged_and_server_keeps_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(data: bytes, sender: tuple[Any, ...]) -> bytes:
        if data == b"boom":
            raise RuntimeError("handler exploded")
        return data

    with caplog.at_level(logging.ERROR, logger="wirekit.net.udp"), serve_udp(handler) as server:
        with pytest.raises(UDPTimeout):
            udp_request(server.address, b"boom", timeout=0.05, retries=0)
        assert udp_request(server.address, b"fine", timeout=2) == b"fine"
    assert "handler exploded" in caplog.text


def test_allow_list_drops_other_senders() -> None:
    with UDPServer(echo_upper, allow=["10.0.0.0/8"]) as server, pytest.raises(UDPTimeout):
        udp_request(server.address, b"x", timeout=0.05, retries=0)
    with UDPServer(echo_upper, allow="127.0.0.0/8") as server:
        assert udp_request(server.address, b"x", timeout=2) == b"X"


def test_invalid_retry_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="backoff >= 1"):
        udp_request(("127.0.0.1", 9), b"x", backoff=0.5)


@pytest.mark.anyio
async def test_async_request() -> None:
    handler = DropFirst(1)
    with serve_udp(handler, request_id=True) as server:
        reply = await audp_request(server.address, b"a", timeout=0.05, retries=2, request_id=True)
        assert reply == b"ok:a"
    with serve_udp(DropFirst(100)) as server, pytest.raises(UDPTimeout, match="after 2 attempts"):
        await audp_request(server.address, b"a", timeout=0.02, retries=1)


def test_dual_stack_server_answers_ipv4_and_ipv6() -> None:
    with serve_udp(echo_upper, host="::") as server:
        port = server.address[1]
        assert udp_request(("::1", port), b"six", timeout=2) == b"SIX"
        assert udp_request(("127.0.0.1", port), b"four", timeout=2) == b"FOUR"


@pytest.mark.anyio
async def test_async_server_answers_with_request_ids_and_survives_handler_errors() -> None:
    from wirekit.net import AsyncUDPServer

    def handler(data: bytes, sender: Any) -> bytes | None:
        if data == b"boom":
            raise RuntimeError("handler failure")
        return data.upper()

    async with AsyncUDPServer(handler, request_id=True) as server:
        assert await audp_request(server.address, b"hello", timeout=2.0, request_id=True) == (
            b"HELLO"
        )
        with pytest.raises(UDPTimeout):
            await audp_request(server.address, b"boom", timeout=0.2, retries=0, request_id=True)
        assert await audp_request(server.address, b"again", timeout=2.0, request_id=True) == (
            b"AGAIN"
        )
