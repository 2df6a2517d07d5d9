"""Micro-benchmark of the sans-IO HTTP/1.1 core against h11: parse + serialise, no sockets.

Not a test (nothing is asserted on time). Each scenario is one full request/response cycle
on a reused connection; the best of several repeats is reported, in CPU microseconds per
cycle, with h11's time divided by ours. Run: ``.venv/bin/python bench/proto_micro.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wirekit._proto.http1 import (
    PAUSED,
    Data,
    EndOfMessage,
    HTTP1Connection,
    Request,
    Response,
)

REQUEST_HEADERS = [
    (b"Host", b"example.test:8000"),
    (b"User-Agent", b"wirekit-bench/1.0"),
    (b"Accept", b"*/*"),
    (b"Accept-Encoding", b"gzip, deflate, br"),
    (b"Accept-Language", b"en-GB,en;q=0.9"),
    (b"Cookie", b"session=0123456789abcdef; theme=dark"),
    (b"Connection", b"keep-alive"),
    (b"X-Request-Id", b"4b0e8d2c-1f3a-4c59-9d2e-7a6b5c4d3e2f"),
]
RESPONSE_HEADERS = [
    (b"Content-Type", b"application/json"),
    (b"Date", b"Sun, 22 Nov 2026 04:00:00 GMT"),
    (b"Server", b"wirekit"),
    (b"Cache-Control", b"no-cache"),
    (b"X-Request-Id", b"4b0e8d2c-1f3a-4c59-9d2e-7a6b5c4d3e2f"),
]
SMALL_BODY = b'{"hello": "world"}'
BIG_BODY = b"x" * 65536


def _raw_request() -> bytes:
    return HTTP1Connection("client").send_request(b"GET", b"/api/items?page=2", REQUEST_HEADERS)


def _raw_response(body: bytes, *, chunked: bool = False) -> bytes:
    server = HTTP1Connection("server")
    server.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    server.next_event()
    if not chunked:
        return server.send_response(200, RESPONSE_HEADERS, body=body)
    head = server.send_response(200, RESPONSE_HEADERS)
    pieces = [server.send_data(body[i : i + 8192]) for i in range(0, len(body), 8192)]
    return head + b"".join(pieces) + server.send_end_of_message()


# -- wirekit ------------------------------------------------------------------------------
def wirekit_server(raw_request: bytes) -> Callable[[], None]:
    conn = HTTP1Connection("server")

    def cycle() -> None:
        conn.receive_data(raw_request)
        event = conn.next_event()
        assert type(event) is Request
        while event is not PAUSED:
            event = conn.next_event()
        conn.send_response(200, RESPONSE_HEADERS, body=SMALL_BODY)
        conn.start_next_cycle()

    return cycle


def wirekit_client(raw_response: bytes) -> Callable[[], None]:
    conn = HTTP1Connection("client")

    def cycle() -> None:
        conn.send_request(b"GET", b"/api/items?page=2", REQUEST_HEADERS)
        conn.receive_data(raw_response)
        event = conn.next_event()
        assert type(event) is Response
        while event is not PAUSED:
            event = conn.next_event()
            if type(event) is Data or type(event) is EndOfMessage:
                continue
        conn.start_next_cycle()

    return cycle


# -- h11 ----------------------------------------------------------------------------------
def h11_server(raw_request: bytes) -> Callable[[], None]:
    import h11

    conn = h11.Connection(h11.SERVER)

    def cycle() -> None:
        conn.receive_data(raw_request)
        event = conn.next_event()
        assert type(event) is h11.Request
        while type(event) is not h11.EndOfMessage:
            event = conn.next_event()
        conn.send(
            h11.Response(
                status_code=200,
                headers=[*RESPONSE_HEADERS, (b"Content-Length", b"%d" % len(SMALL_BODY))],
            )
        )
        conn.send(h11.Data(data=SMALL_BODY))
        conn.send(h11.EndOfMessage())
        conn.start_next_cycle()

    return cycle


def h11_client(raw_response: bytes) -> Callable[[], None]:
    import h11

    conn = h11.Connection(h11.CLIENT)

    def cycle() -> None:
        conn.send(h11.Request(method=b"GET", target=b"/api/items?page=2", headers=REQUEST_HEADERS))
        conn.send(h11.EndOfMessage())
        conn.receive_data(raw_response)
        event = conn.next_event()
        assert type(event) is h11.Response
        while type(event) is not h11.EndOfMessage:
            event = conn.next_event()
        conn.start_next_cycle()

    return cycle


def best_microseconds(cycle: Callable[[], None], *, number: int, repeat: int) -> float:
    cycle()  # warm up (and check the scenario works)
    # CPU time of this process, not wall time: other work on a shared machine then inflates
    # the numbers less (it still costs cache misses and frequency changes).
    times = timeit.repeat(cycle, number=number, repeat=repeat, timer=time.process_time)
    return min(times) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20_000, help="cycles per repeat")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        import h11  # noqa: F401

        have_h11 = True
    except ImportError:
        have_h11 = False
        print("h11 is not installed: showing wirekit numbers only")

    request = _raw_request()
    scenarios: list[tuple[str, Callable[[], None], Callable[[], None] | None, int]] = [
        (
            "server: parse GET (8 headers), send 200 + 18 B",
            wirekit_server(request),
            h11_server(request) if have_h11 else None,
            args.number,
        ),
        (
            "client: send GET, parse 200 + 18 B",
            wirekit_client(_raw_response(SMALL_BODY)),
            h11_client(_raw_response(SMALL_BODY)) if have_h11 else None,
            args.number,
        ),
        (
            "client: send GET, parse 200 + 64 KiB",
            wirekit_client(_raw_response(BIG_BODY)),
            h11_client(_raw_response(BIG_BODY)) if have_h11 else None,
            args.number // 4,
        ),
        (
            "client: send GET, parse 200 + 64 KiB chunked",
            wirekit_client(_raw_response(BIG_BODY, chunked=True)),
            h11_client(_raw_response(BIG_BODY, chunked=True)) if have_h11 else None,
            args.number // 4,
        ),
    ]
    print(f"{'scenario':48} {'wirekit µs':>11} {'h11 µs':>9} {'h11/wirekit':>12}")
    for name, ours, theirs, number in scenarios:
        mine = best_microseconds(ours, number=number, repeat=args.repeat)
        if theirs is None:
            print(f"{name:48} {mine:11.2f}")
            continue
        other = best_microseconds(theirs, number=number, repeat=args.repeat)
        print(f"{name:48} {mine:11.2f} {other:9.2f} {other / mine:11.1f}x")


if __name__ == "__main__":
    main()
