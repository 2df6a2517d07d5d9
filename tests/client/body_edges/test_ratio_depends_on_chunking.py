"""The max_ratio check gave a different verdict for the same body depending on read sizes
(found by fuzzing; each test failed before its fix).

DecodeLimits counts a chunk's encoded bytes *all at once* when the chunk is fed
(_ZlibDecoder.decode: ``limits.encoded += len(data)``), before the decompressor has consumed
them, while output is checked step by step. So a 64 KiB read credits 64 KiB of input that a
zero-filled prefix has not yet reached, and the check passes; the same body read 16 KiB at a
time (one TLS record per read, the usual case over HTTPS) or in 1460-byte TCP segments
raises DecompressionLimitError. Here: 2 MiB of zeros then 1 MiB of random bytes, overall
ratio ~3x, well inside 100x. "The limits fire at the right size whatever the chunking."
"""

from __future__ import annotations

import gzip
import random

import pytest

from wirekit._models.decoders import make_decoder
from wirekit.errors import DecompressionLimitError

BODY = b"\0" * (2 << 20) + random.Random(1).randbytes(1 << 20)
WIRE = gzip.compress(BODY, 6)


def _verdict(read_size: int) -> str:
    decoder = make_decoder("gzip")
    try:
        parts = [WIRE[i : i + read_size] for i in range(0, len(WIRE), read_size)]
        out = b"".join(decoder.decode(p) for p in parts) + decoder.flush()
    except DecompressionLimitError:
        return "limit"
    assert out == BODY
    return "ok"


@pytest.mark.parametrize("read_size", [16384, 1460])
def test_ratio_verdict_does_not_depend_on_read_size(read_size: int) -> None:
    assert _verdict(read_size) == _verdict(65536)


def test_ratio_verdict_does_not_depend_on_tcp_segments_over_the_client() -> None:
    import wirekit
    from tests.client.body_edges._split_peer import Peer, framed

    reply, _ = framed(WIRE, "length", b"Content-Encoding: gzip")
    with Peer() as peer, wirekit.Client(retry=0, timeout=20) as client:
        peer.routes[b"/whole"] = (reply, None, False)
        peer.routes[b"/segments"] = (reply, [1460], False)
        outcomes = []
        for path in ("/whole", "/segments"):
            try:
                outcomes.append(len(client.get(peer.url + path).content))
            except wirekit.DecompressionLimitError:
                outcomes.append("limit")
    assert outcomes[0] == outcomes[1]
