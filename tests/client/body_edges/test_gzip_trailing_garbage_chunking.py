"""gzip: what followed trailing garbage was decoded or ignored depending on TCP chunking
(found by fuzzing; each test failed before its fix).

_ZlibDecoder.decode (decoders.py) ignores trailing garbage after a gzip member ("as browsers
and curl do") only for the rest of the *current* chunk (``break``): the next chunk that
starts with the gzip magic is decoded as a new member. So the same body
``gzip(A) + b"xx" + gzip(B)`` decodes to A when it arrives in one read and to A+B when the
read boundary falls after the garbage (or to a DecodingError when the later bytes merely
start with 1f 8b). The decoded body must not depend on how the bytes were split.
"""

from __future__ import annotations

import gzip
import time

import pytest

import wirekit
from tests.client.body_edges._split_peer import Peer, framed
from wirekit._models.decoders import make_decoder

A = gzip.compress(b"hello ")
B = gzip.compress(b"world")
BODY = A + b"xx" + B


def _decode(parts: list[bytes]) -> bytes:
    decoder = make_decoder("gzip")
    return b"".join(decoder.decode(p) for p in parts) + decoder.flush()


@pytest.mark.parametrize(
    "parts",
    [[BODY], [A + b"xx", B], [A, b"xx", B], [A, b"x", b"x" + B]],
    ids=["whole", "split-after-garbage", "garbage-alone", "garbage-cut"],
)
def test_gzip_trailing_garbage_decodes_the_same_whatever_the_chunking(parts) -> None:
    assert _decode(parts) == _decode([BODY]) == b"hello "


def test_gzip_trailing_garbage_then_magic_is_no_error_whatever_the_chunking() -> None:
    # Garbage that happens to contain 1f 8b at a read boundary.
    parts = [A + b"pad", b"\x1f\x8bnot a gzip member"]
    assert _decode(parts) == _decode([b"".join(parts)]) == b"hello "


class _SlowPeer(Peer):
    """Sends the reply in the given pieces with a pause between them, so each piece is a
    separate read on the client."""

    def _serve(self, sock) -> None:  # type: ignore[override]
        buf = b""
        sock.settimeout(10)
        while b"\r\n\r\n" not in buf:
            data = sock.recv(65536)
            if not data:
                return
            buf += data
        for piece in self.pieces:
            sock.sendall(piece)
            time.sleep(0.3)


def _pieces() -> list[bytes]:
    reply, _ = framed(BODY, "length", b"Content-Encoding: gzip")
    cut = len(reply) - len(B)
    return [reply[:cut], reply[cut:]]


def test_gzip_trailing_garbage_over_the_network_sync() -> None:
    with _SlowPeer() as peer:
        peer.pieces = _pieces()
        with wirekit.Client(retry=0, timeout=10) as client:
            response = client.get(peer.url + "/")
    assert response.content == b"hello "


@pytest.mark.anyio
async def test_gzip_trailing_garbage_over_the_network_async() -> None:
    with _SlowPeer() as peer:
        peer.pieces = _pieces()
        async with wirekit.AsyncClient(retry=0, timeout=10) as client:
            response = await client.get(peer.url + "/")
    assert response.content == b"hello "
