"""What a loopback round trip costs a sync client beyond its own code and the system calls.

For http.client and wirekit's Client, one process each, pinned to core 1, against
``responder.py`` on core 0, this measures CPU µs per keep-alive GET (getrusage, best of
``--rounds``) in four ways:

- ``memory``: the client alone, answered from memory (no system call at all);
- ``socket``: a bare socket sending the same request and receiving the answer;
- ``memory+socket``: both in one loop: each GET answered from memory, then a bare round trip;
- ``real``: the client itself on the socket.

On the development VM (2 vCPUs of an AMD EPYC, KVM) ``memory+socket`` costs far more than
``memory`` plus ``socket``: after each round trip the client's own code runs slower (caches
and branch predictors were used by the kernel's loopback path in between), by more for a
client that runs more distinct code per request. A loop of plain arithmetic as long as the
client's does not pay it (``--control``). See bench/README.md, "Where the targets stand".

    .venv/bin/python bench/network_penalty.py            # both clients, ~1 minute
    .venv/bin/python bench/network_penalty.py --control  # and the arithmetic loop

Not a test: nothing is asserted. Bounded: a fixed number of requests per measurement.
"""

from __future__ import annotations

import argparse
import http.client
import io
import resource
import socket
import subprocess
import sys
from collections.abc import Callable

from _harness import BENCH_DIR, PYTHON, ServerProcess, free_port, pin, running

REQUESTS = 20_000
WARMUP = 1_000
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
WAYS = ("memory", "socket", "memory+socket", "real")


def _cpu_us(step: Callable[[], None]) -> float:
    for _ in range(WARMUP):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(REQUESTS):
        step()
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used / REQUESTS * 1e6


def _memory_step(client: str) -> Callable[[], None]:
    from client_overhead import RESPONSE, _CannedBackend

    if client == "http.client":

        class _CannedSocket:
            def sendall(self, data: bytes) -> None:
                return None

            def makefile(self, mode: str) -> io.BytesIO:
                return io.BytesIO(RESPONSE)

            def close(self) -> None:
                return None

        connection = http.client.HTTPConnection("127.0.0.1", 80)
        connection.sock = _CannedSocket()  # type: ignore[assignment]

        def step() -> None:
            connection.request("GET", "/")
            connection.getresponse().read()

        return step
    import wirekit
    from wirekit.client._sync.transport import HTTPTransport

    memory_client = wirekit.Client(transport=HTTPTransport(backend=_CannedBackend()))
    return lambda: memory_client.get("http://127.0.0.1:8000/").content and None


def _real_step(client: str, port: int) -> Callable[[], None]:
    if client == "http.client":
        connection = http.client.HTTPConnection("127.0.0.1", port)

        def step() -> None:
            connection.request("GET", "/")
            connection.getresponse().read()

        return step
    import wirekit

    real_client = wirekit.Client()
    url = f"http://127.0.0.1:{port}/"
    return lambda: real_client.get(url).content and None


def _socket_step(port: int) -> Callable[[], None]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def step() -> None:
        sock.sendall(REQUEST)
        sock.recv(65536)

    return step


def _arithmetic_step(length: int) -> Callable[[], None]:
    def step() -> None:
        total = 0
        for number in range(length):
            total += number

    return step


def measure(client: str, way: str, port: int) -> float:
    """One measurement, in this process (the parent runs each in a fresh child)."""
    if way == "socket":
        return _cpu_us(_socket_step(port))
    if way == "real":
        return _cpu_us(_real_step(client, port))
    own = _arithmetic_step(1_000) if client == "arithmetic" else _memory_step(client)
    if way == "memory":
        return _cpu_us(own)
    round_trip = _socket_step(port)

    def both() -> None:
        own()
        round_trip()

    return _cpu_us(both)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    parser.add_argument("--control", action="store_true", help="also the arithmetic loop")
    parser.add_argument(
        "--child", nargs=3, metavar=("CLIENT", "WAY", "PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        pin(1)
        client, way, port = args.child
        print(f"{measure(client, way, int(port)):.2f}")
        return 0
    clients = ["http.client", "wirekit"] + (["arithmetic"] if args.control else [])
    port = free_port()
    responder = ServerProcess(
        "responder",
        [PYTHON, str(BENCH_DIR / "responder.py"), f"--port={port}"],
        core=0,
        cwd=BENCH_DIR,
    )
    best: dict[tuple[str, str], float] = {}
    with running(responder, port, subprocess.DEVNULL):
        for _ in range(args.rounds):
            for client in clients:
                for way in WAYS:
                    if client == "arithmetic" and way == "real":
                        continue
                    done = subprocess.run(
                        [PYTHON, __file__, "--child", client, way, str(port)],
                        cwd=BENCH_DIR,
                        capture_output=True,
                        text=True,
                        check=True,
                        timeout=120,
                    )
                    value = float(done.stdout.split()[-1])
                    key = (client, way)
                    best[key] = min(best.get(key, value), value)
    print(f"CPU µs per GET, best of {args.rounds} ({sys.implementation.name}):")
    print(
        f"{'client':<12} {'memory':>8} {'socket':>8} {'sum':>8} {'mem+sock':>9} {'extra':>7} {'real':>8}"
    )
    for client in clients:
        memory, sock = best[(client, "memory")], best[(client, "socket")]
        both = best[(client, "memory+socket")]
        real = best.get((client, "real"))
        real_text = f"{real:8.1f}" if real is not None else f"{'-':>8}"
        print(
            f"{client:<12} {memory:8.1f} {sock:8.1f} {memory + sock:8.1f} {both:9.1f}"
            f" {both - memory - sock:7.1f} {real_text}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
