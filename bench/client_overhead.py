"""The sync client's own Python cost per keep-alive GET, with the network taken out.

An in-memory backend answers every request with a canned 13-byte response, so what is
measured is wirekit alone: flows, pool, connection, the HTTP/1.1 core and the models.

    .venv/bin/python bench/client_overhead.py            # µs per request, best of 3
    .venv/bin/python bench/client_overhead.py --profile  # and where they go (cProfile)
    .venv/bin/python bench/client_overhead.py --async    # the same for AsyncClient (uvloop)

Not a test: nothing is asserted. Bounded: a fixed number of requests.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from typing import Any

import wirekit
from wirekit.client._async.transport import AsyncHTTPTransport
from wirekit.client._sync.transport import HTTPTransport

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!"
REQUESTS = 20_000


class _CannedStream:
    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return RESPONSE

    def write(self, data: bytes, timeout: float | None = None) -> None:
        return None

    def close(self) -> None:
        return None

    def start_tls(self, *args: Any, **kwargs: Any) -> _CannedStream:
        return self

    def get_extra_info(self, name: str) -> Any:
        return None

    def is_readable(self) -> bool:
        return False


class _CannedBackend:
    def connect_tcp(self, host: str, port: int, **options: Any) -> _CannedStream:
        return _CannedStream()

    def connect_unix_socket(self, path: str, **options: Any) -> _CannedStream:
        return _CannedStream()

    def sleep(self, seconds: float) -> None:
        return None


class _AsyncCannedStream:
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return RESPONSE

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def start_tls(self, *args: Any, **kwargs: Any) -> _AsyncCannedStream:
        return self

    def get_extra_info(self, name: str) -> Any:
        return None

    def is_readable(self) -> bool:
        return False


class _AsyncCannedBackend:
    async def connect_tcp(self, host: str, port: int, **options: Any) -> _AsyncCannedStream:
        return _AsyncCannedStream()

    async def connect_unix_socket(self, path: str, **options: Any) -> _AsyncCannedStream:
        return _AsyncCannedStream()

    async def sleep(self, seconds: float) -> None:
        return None


async def _async_main(profile: bool) -> None:
    client = wirekit.AsyncClient(transport=AsyncHTTPTransport(backend=_AsyncCannedBackend()))
    url = "http://127.0.0.1:8000/"
    for _ in range(1_000):
        await client.get(url)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(REQUESTS):
            (await client.get(url)).content  # noqa: B018 - the body is read on purpose
        best = min(best, (time.process_time() - started) / REQUESTS)
    print(f"wirekit.AsyncClient, in-memory network: {best * 1e6:.1f} µs CPU per GET (best of 3)")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(3_000):
            await client.get(url)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    await client.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="print the top functions")
    parser.add_argument("--async", dest="use_async", action="store_true", help="AsyncClient")
    args = parser.parse_args()
    if args.use_async:
        import uvloop

        uvloop.run(_async_main(args.profile))
        return 0
    client = wirekit.Client(transport=HTTPTransport(backend=_CannedBackend()))
    url = "http://127.0.0.1:8000/"
    for _ in range(1_000):
        client.get(url)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(REQUESTS):
            client.get(url).content  # noqa: B018 - the body is read on purpose
        best = min(best, (time.process_time() - started) / REQUESTS)
    print(f"wirekit.Client, in-memory network: {best * 1e6:.1f} µs CPU per GET (best of 3)")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(3_000):
            client.get(url)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
