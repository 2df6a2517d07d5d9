"""The server's own Python cost per keep-alive ASGI request, with the network taken out.

64 in-memory connections (a transport that only counts writes) each get one GET per round;
the event loop (uvloop) runs the app's tasks between rounds. What is measured is wirekit's
protocol driver, HTTP/1.1 core and ASGI bridge, plus the loop's task machinery.

    .venv/bin/python bench/server_overhead.py            # µs per request, best of 5
    .venv/bin/python bench/server_overhead.py --profile  # and where they go (cProfile)
    .venv/bin/python bench/server_overhead.py --floor    # the same app behind a bare
                                                         # httptools parser (no checks)

``--floor`` is the least a Python ASGI server can do per request: httptools callbacks, a
literal scope, one task, a head joined without any check. It shows what the protocol layers
cost on top. Not a test: nothing is asserted on time. Bounded: a fixed number of rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from typing import Any

import httptools
import uvloop
from apps import asgi_app

from wirekit.server.main import Server
from wirekit.server.protocol import HTTPServerProtocol, ServerState

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
CONNECTIONS = 64
ROUNDS = 300


class _CountingTransport:
    def __init__(self) -> None:
        self.writes = 0
        self.last = b""

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.last = data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name in ("peername", "sockname") else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        return None

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        return None

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None


class _FloorProtocol:
    """httptools straight to the app: no limits, no state machine, no checks."""

    def __init__(self, transport: _CountingTransport) -> None:
        self.transport = transport
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_message_complete(self) -> None:
        path = self.url.decode("latin-1")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "path": path,
            "raw_path": self.url,
            "query_string": b"",
            "headers": self.headers,
            "server": None,
            "client": None,
            "scheme": "http",
            "root_path": "",
        }
        cycle = _FloorCycle(self.transport)
        self.loop.create_task(asgi_app(scope, cycle.receive, cycle.send))


class _FloorCycle:
    __slots__ = ("headers", "transport")

    def __init__(self, transport: _CountingTransport) -> None:
        self.transport = transport
        self.headers: list[tuple[bytes, bytes]] = []

    async def receive(self) -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.headers = message["headers"]
            return
        head = b"".join(name + b": " + value + b"\r\n" for name, value in self.headers)
        self.transport.write(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n" + message["body"])


def _connections(floor: bool) -> list[Any]:
    if floor:
        return [_FloorProtocol(_CountingTransport()) for _ in range(CONNECTIONS)]
    server = Server(asgi_app, interface="asgi3")
    state = ServerState(server.config, start_cycle=server._start_cycle_checked)
    server.state = state
    protocols = []
    for _ in range(CONNECTIONS):
        protocol = HTTPServerProtocol(state)
        protocol.connection_made(_CountingTransport())  # type: ignore[arg-type]
        protocols.append(protocol)
    return protocols


async def measure(
    *, floor: bool, rounds: int = ROUNDS, profile: bool = False
) -> tuple[float, list[bytes]]:
    """Best of 5 CPU seconds per request, and each connection's last answer. Raises if a
    request went unanswered (the harness or the server is broken, not slow)."""
    protocols = _connections(floor)

    async def run(times: int) -> None:
        for _ in range(times):
            for protocol in protocols:
                protocol.data_received(REQUEST)
            await asyncio.sleep(0)  # the tasks start...
            await asyncio.sleep(0)  # ...and finish

    warmup = min(100, rounds)
    await run(warmup)
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        await run(rounds)
        best = min(best, (time.process_time() - started) / (rounds * CONNECTIONS))
    answered = sum(p.transport.writes for p in protocols)
    if answered != (warmup + 5 * rounds) * CONNECTIONS:
        raise RuntimeError(f"{answered} answers were written, not one per request")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await run(100)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return best, [p.transport.last for p in protocols]


async def _main(floor: bool, profile: bool) -> None:
    best, _ = await measure(floor=floor, profile=profile)
    what = "bare httptools floor" if floor else "wirekit ASGI"
    print(f"{what}, in-memory network: {best * 1e6:.2f} µs CPU per request (best of 5)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="print the top functions")
    parser.add_argument("--floor", action="store_true", help="bare httptools server instead")
    args = parser.parse_args()
    uvloop.run(_main(args.floor, args.profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
