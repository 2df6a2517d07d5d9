"""WebSocket permessage-deflate (RFC 7692): negotiation, echo through compression both ways,
the config switch, and the message size limit applied to the inflated size.

The peer is the ``websockets`` library's client against a real server on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import struct
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.sync.client import ClientConnection, connect

from tests.server import apps
from tests.server.support import WAIT, RunningServer, running
from wirekit.server.websocket_deflate import negotiate


class CountingSocket(socket.socket):
    """A TCP socket that counts the bytes it receives (to see compression on the wire)."""

    received = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        self.received += len(data)
        return data


@contextmanager
def ws_client(server: RunningServer, **options: Any) -> Iterator[ClientConnection]:
    sock = CountingSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", server.port))
    with connect(
        f"ws://127.0.0.1:{server.port}/ws",
        sock=sock,
        open_timeout=WAIT,
        close_timeout=WAIT,
        **options,
    ) as ws:
        yield ws


def _deflate(ws: ClientConnection) -> PerMessageDeflate | None:
    found = [e for e in ws.protocol.extensions if isinstance(e, PerMessageDeflate)]
    return found[0] if found else None


def _extensions_header(ws: ClientConnection) -> str | None:
    assert ws.response is not None
    value: str | None = ws.response.headers.get("Sec-WebSocket-Extensions")
    return value


def _received(ws: ClientConnection) -> int:
    sock = ws.socket
    assert isinstance(sock, CountingSocket)
    return sock.received


COMPRESSIBLE = b"wirekit compresses this line well. " * 3000  # about 100 KiB
RANDOM = os.urandom(100 * 1024)


def test_deflate_is_negotiated_when_offered() -> None:
    with running(apps.asgi_websocket_echo) as server, ws_client(server) as ws:
        header = _extensions_header(ws)
        deflate = _deflate(ws)
    # websockets offers a bare client_max_window_bits: we ask for our smaller window.
    assert header == "permessage-deflate; client_max_window_bits=12"
    assert deflate is not None


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"x", id="1-byte"),
        pytest.param(COMPRESSIBLE, id="100k-compressible"),
        pytest.param(RANDOM, id="100k-random"),
    ],
)
def test_messages_echo_intact_through_compression(payload: bytes) -> None:
    text = payload.decode("latin-1")
    with running(apps.asgi_websocket_echo) as server, ws_client(server) as ws:
        assert _deflate(ws) is not None
        ws.send(text)
        assert ws.recv(timeout=WAIT) == "echo: " + text
        ws.send(payload)
        assert ws.recv(timeout=WAIT) == payload[::-1]
        # Several messages in a row exercise the shared LZ77 context on both sides.
        for _ in range(3):
            ws.send(payload)
            assert ws.recv(timeout=WAIT) == payload[::-1]


def test_server_compresses_what_it_sends() -> None:
    with running(apps.asgi_websocket_echo) as server, ws_client(server) as ws:
        before = _received(ws)
        ws.send(COMPRESSIBLE)
        assert ws.recv(timeout=WAIT) == COMPRESSIBLE[::-1]
        on_the_wire = _received(ws) - before
    assert on_the_wire < len(COMPRESSIBLE) // 10


def test_client_that_does_not_offer_gets_no_extension() -> None:
    with (
        running(apps.asgi_websocket_echo) as server,
        ws_client(server, compression=None) as ws,
    ):
        header = _extensions_header(ws)
        assert ws.protocol.extensions == []
        before = _received(ws)
        ws.send(COMPRESSIBLE)
        assert ws.recv(timeout=WAIT) == COMPRESSIBLE[::-1]
        on_the_wire = _received(ws) - before
    assert header is None
    assert on_the_wire > len(COMPRESSIBLE)


def test_config_switch_turns_deflate_off() -> None:
    with (
        running(apps.asgi_websocket_echo, ws_per_message_deflate=False) as server,
        ws_client(server) as ws,
    ):
        header = _extensions_header(ws)
        assert ws.protocol.extensions == []
        ws.send("still works")
        assert ws.recv(timeout=WAIT) == "echo: still works"
    assert header is None


def test_client_parameters_are_honoured() -> None:
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=10,
        client_max_window_bits=9,
    )
    with running(apps.asgi_websocket_echo) as server, ws_client(server, extensions=[factory]) as ws:
        header = _extensions_header(ws)
        for payload in (COMPRESSIBLE, RANDOM, COMPRESSIBLE):
            ws.send(payload)
            assert ws.recv(timeout=WAIT) == payload[::-1]
    assert header is not None
    params = {p.strip() for p in header.split(";")[1:]}
    assert params == {
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits=10",
        "client_max_window_bits=9",
    }


def test_compressed_message_over_the_limit_gets_1009() -> None:
    with running(apps.asgi_websocket_echo, ws_max_message_bytes=64 * 1024) as server:
        with ws_client(server) as ws:
            ws.send("fits")
            assert ws.recv(timeout=WAIT) == "echo: fits"
            # 1 MiB of zeros: about a thousand bytes once compressed, far past the limit inflated.
            ws.send(bytes(1024 * 1024))
            with pytest.raises(ConnectionClosedError) as caught:
                ws.recv(timeout=WAIT)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1009


def _client_frame(opcode: int, payload: bytes, *, rsv1: bool, fin: bool = True) -> bytes:
    """One masked client frame (a zero mask: valid framing, the payload stays as is)."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    if len(payload) < 126:
        head = struct.pack("!BB", first, 0x80 | len(payload))
    elif len(payload) < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, len(payload))
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, len(payload))
    return head + b"\x00\x00\x00\x00" + payload


def _compress(data: bytes) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -9)
    return (deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)).removesuffix(
        b"\x00\x00\xff\xff"
    )


def test_compression_bomb_is_refused_without_inflating_it() -> None:
    bomb = _compress(bytes(64 * 1024 * 1024))  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < 100 * 1024
    frame = _client_frame(0x2, bomb, rsv1=True)
    with running(apps.asgi_websocket_echo, ws_max_message_bytes=64 * 1024) as server:
        with ws_client(server) as ws:
            tracemalloc.start()
            try:
                ws.socket.sendall(frame)
                with pytest.raises(ConnectionClosedError) as caught:
                    ws.recv(timeout=WAIT)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1009
    # Inflating the frame whole would have allocated 64 MiB at once.
    assert peak < 8 * 1024 * 1024


def test_fragmented_compressed_message_with_a_ping_between_fragments() -> None:
    text = "fragments and a ping " * 500
    compressed = _compress(text.encode())
    half = len(compressed) // 2
    frames = (
        _client_frame(0x1, compressed[:half], rsv1=True, fin=False)
        + _client_frame(0x9, b"between", rsv1=False)
        + _client_frame(0x0, compressed[half:], rsv1=False)
    )
    with running(apps.asgi_websocket_echo) as server, ws_client(server) as ws:
        ws.socket.sendall(frames)
        assert ws.recv(timeout=WAIT) == "echo: " + text


def _close_code_after(frames: bytes) -> int:
    """Send raw client frames to the echo app; the close code the server answers with."""
    with running(apps.asgi_websocket_echo) as server, ws_client(server) as ws:
        ws.socket.sendall(frames)
        with pytest.raises(ConnectionClosedError) as caught:
            ws.recv(timeout=WAIT)
    assert caught.value.rcvd is not None
    return caught.value.rcvd.code


def test_rsv1_on_a_continuation_frame_is_a_protocol_error() -> None:
    frames = _client_frame(0x1, _compress(b"a"), rsv1=True, fin=False) + _client_frame(
        0x0, _compress(b"b"), rsv1=True
    )
    assert _close_code_after(frames) == 1002


def _compress_final(data: bytes) -> bytes:
    """A deflate stream closed with a final block (BFINAL=1, RFC 7692 §7.2.3.4)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -9)
    return deflater.compress(data) + deflater.flush(zlib.Z_FINISH)


def test_message_ending_with_a_final_deflate_block_is_accepted() -> None:
    with running(apps.asgi_websocket_echo) as server, ws_client(server) as ws:
        for text in ("first", "second"):  # the next message starts a new deflate stream
            ws.socket.sendall(_client_frame(0x1, _compress_final(text.encode()), rsv1=True))
            assert ws.recv(timeout=WAIT) == "echo: " + text


def test_message_bytes_after_a_final_deflate_block_are_refused_not_dropped() -> None:
    frames = _client_frame(0x1, _compress_final(b"a"), rsv1=True, fin=False) + _client_frame(
        0x0, _compress(b"b"), rsv1=False
    )
    assert _close_code_after(frames) == 1007


@pytest.mark.parametrize(
    ("offer", "answer"),
    [
        pytest.param("permessage-deflate", "permessage-deflate", id="bare"),
        pytest.param(
            'permessage-deflate; client_max_window_bits="10"',
            "permessage-deflate; client_max_window_bits=10",
            id="quoted-value",
        ),
        pytest.param(
            "permessage-deflate; server_max_window_bits=15",
            "permessage-deflate; server_max_window_bits=12",
            id="server-window-capped",
        ),
        pytest.param("permessage-deflate; unknown_parameter", None, id="unknown-parameter"),
        pytest.param("permessage-deflate; server_max_window_bits=8", None, id="window-8"),
        pytest.param("permessage-deflate; server_max_window_bits", None, id="window-no-value"),
        pytest.param("permessage-deflate; client_max_window_bits=16", None, id="window-16"),
        pytest.param(
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            None,
            id="duplicate",
        ),
        pytest.param(
            "x-webkit-deflate-frame, permessage-deflate; foo, permessage-deflate",
            "permessage-deflate",
            id="first-acceptable-offer",
        ),
        pytest.param("x-webkit-deflate-frame", None, id="other-extension"),
        pytest.param(
            "permessage-deflate; client_max_window_bits=1\u00b2", None, id="superscript-digit"
        ),
    ],
)
def test_offer_negotiation(offer: str, answer: str | None) -> None:
    accepted = negotiate([offer.encode("latin-1")])
    assert (accepted[0] if accepted else None) == answer


async def _app_claiming_an_extension(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept", "headers": [(b"sec-websocket-extensions", b"x-bogus")]})
    message = await receive()
    if message.get("text") is not None:
        await send({"type": "websocket.send", "text": "echo: " + message["text"]})
    await send({"type": "websocket.close", "code": 1000})


def test_an_extension_header_set_by_the_app_is_not_sent() -> None:
    with running(_app_claiming_an_extension) as server, ws_client(server) as ws:
        header = _extensions_header(ws)
        ws.send("hi")
        assert ws.recv(timeout=WAIT) == "echo: hi"
    assert header == "permessage-deflate; client_max_window_bits=12"
