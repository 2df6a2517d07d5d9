"""Stacked Content-Encoding ("gzip, br"): the total decoded/encoded ratio limit is checked
only after every layer has produced its whole output, so a 156-byte body makes the client
allocate ~20 MiB (two layers) or ~100 MiB (three) before DecompressionLimitError, although
the total budget for such a body is RATIO_GRACE_BYTES (1 MiB). docs/models.md: "a bomb never
allocates past the limit"; "Stacked codings apply both limits to every layer and to the
total"."""

from __future__ import annotations

import tracemalloc
import zlib

import brotli
import pytest

import wirekit
from tests.client.body_edges._common import reply
from tests.support.scripted import ScriptedServer, expect, send

# The whole body may decode to at most RATIO_GRACE_BYTES (1 MiB) at the default 100x ratio;
# allow generous slack for the client's own allocations.
PEAK_LIMIT = 6 << 20


def _nested_bomb() -> bytes:
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    inner = b"".join(gz.compress(b"\0" * (1 << 20)) for _ in range(200)) + gz.flush()
    return brotli.compress(inner)  # "gzip, br": gzip applied first, then br


BOMB = _nested_bomb()
REPLY = reply(BOMB, b"Content-Encoding: gzip, br")


def test_stacked_bomb_is_stopped_at_the_total_limit_sync() -> None:
    with ScriptedServer([expect(), send(REPLY)]) as server:
        with wirekit.Client(retry=0) as client:
            tracemalloc.start()
            try:
                with pytest.raises(wirekit.DecompressionLimitError):
                    client.get(server.url + "/")
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{len(BOMB)}-byte body allocated {peak >> 20} MiB"


@pytest.mark.anyio
async def test_stacked_bomb_stream_is_stopped_at_the_total_limit_async() -> None:
    with ScriptedServer([expect(), send(REPLY)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            async with client.stream("GET", server.url + "/") as response:
                tracemalloc.start()
                try:
                    with pytest.raises(wirekit.DecompressionLimitError):
                        async for _chunk in response.aiter_bytes():
                            pass
                    peak = tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{len(BOMB)}-byte body allocated {peak >> 20} MiB"
