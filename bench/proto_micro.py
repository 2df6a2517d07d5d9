"""Micro-benchmark of the sans-IO HTTP/1.1 core: parse + serialise, no sockets.

Not a test (nothing is asserted on time). Each scenario is one full request/response cycle
on a reused (keep-alive) connection; the best of several repeats is reported, in CPU
microseconds per cycle. Two baselines: h11 (another sans-IO core, pure Python), and httptools
used directly with callbacks, as uvicorn does (a floor: no limits, no strict checks beyond
llhttp's, no framing of pipelined bytes, a response head joined without any check).
Run: ``.venv/bin/python bench/proto_micro.py``; ``--src DIR`` times another checkout's
``src`` (before/after comparisons).
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path


def _source_dir() -> str:
    # Read before wirekit is imported, so that --src decides which code is timed.
    for number, word in enumerate(sys.argv):
        if word == "--src" and number + 1 < len(sys.argv):
            return sys.argv[number + 1]
        if word.startswith("--src="):
            return word.split("=", 1)[1]
    return str(Path(__file__).resolve().parent.parent / "src")


sys.path.insert(0, _source_dir())

import httptools  # noqa: E402

from wirekit._proto.http1 import (  # noqa: E402
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


# -- httptools directly, uvicorn-style callbacks ------------------------------------------
class _RawServerProtocol:
    """What uvicorn's httptools protocol does per request, minus ASGI: collect the URL and
    the headers, note the end of the message."""

    __slots__ = ("complete", "headers", "url")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.url = b""
        self.complete = False

    def on_message_begin(self) -> None:
        self.headers = []
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        pass

    def on_message_complete(self) -> None:
        self.complete = True


def raw_server(raw_request: bytes) -> Callable[[], None]:
    protocol = _RawServerProtocol()
    parser = httptools.HttpRequestParser(protocol)  # one per connection, fed everything

    def cycle() -> None:
        protocol.url = b""
        parser.feed_data(raw_request)
        assert protocol.complete
        lines = [b"HTTP/1.1 200 OK"]
        lines += [name + b": " + value for name, value in RESPONSE_HEADERS]
        lines.append(b"Content-Length: %d" % len(SMALL_BODY))
        b"\r\n".join(lines) + b"\r\n\r\n" + SMALL_BODY

    return cycle


class _RawClientProtocol:
    __slots__ = ("body", "complete", "headers")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


def raw_client(raw_response: bytes) -> Callable[[], None]:
    protocol = _RawClientProtocol()
    parser = httptools.HttpResponseParser(protocol)

    def cycle() -> None:
        lines = [b"GET /api/items?page=2 HTTP/1.1"]
        lines += [name + b": " + value for name, value in REQUEST_HEADERS]
        b"\r\n".join(lines) + b"\r\n\r\n"
        protocol.headers = []
        protocol.body = []
        protocol.complete = False
        parser.feed_data(raw_response)
        assert protocol.complete

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
    parser.add_argument("--src", help="the src folder whose wirekit is timed (default: ours)")
    args = parser.parse_args()
    try:
        import h11  # noqa: F401

        have_h11 = True
    except ImportError:
        have_h11 = False
        print("h11 is not installed: no h11 column")

    request = _raw_request()
    small = _raw_response(SMALL_BODY)
    big = _raw_response(BIG_BODY)
    big_chunked = _raw_response(BIG_BODY, chunked=True)
    # (name, wirekit, httptools directly, h11, cycles per repeat)
    scenarios: list[
        tuple[str, Callable[[], None], Callable[[], None], Callable[[], None] | None, int]
    ] = [
        (
            "server: parse GET (8 headers), send 200 + 18 B",
            wirekit_server(request),
            raw_server(request),
            h11_server(request) if have_h11 else None,
            args.number,
        ),
        (
            "client: send GET, parse 200 + 18 B",
            wirekit_client(small),
            raw_client(small),
            h11_client(small) if have_h11 else None,
            args.number,
        ),
        (
            "client: send GET, parse 200 + 64 KiB",
            wirekit_client(big),
            raw_client(big),
            h11_client(big) if have_h11 else None,
            args.number // 4,
        ),
        (
            "client: send GET, parse 200 + 64 KiB chunked",
            wirekit_client(big_chunked),
            raw_client(big_chunked),
            h11_client(big_chunked) if have_h11 else None,
            args.number // 4,
        ),
    ]
    print(f"timing wirekit from {_source_dir()}")
    print(
        f"{'scenario':46} {'wirekit':>8} {'httptools':>9} {'h11':>7}"
        f" {'wirekit/httptools':>17} {'h11/wirekit':>11}"
    )
    print(f"{'(CPU µs per cycle)':46}")
    for name, ours, raw, theirs, number in scenarios:
        mine = best_microseconds(ours, number=number, repeat=args.repeat)
        floor = best_microseconds(raw, number=number, repeat=args.repeat)
        line = f"{name:46} {mine:8.2f} {floor:9.2f}"
        if theirs is None:
            print(f"{line} {'-':>7} {mine / floor:16.1f}x")
            continue
        other = best_microseconds(theirs, number=number, repeat=args.repeat)
        print(f"{line} {other:7.2f} {mine / floor:16.1f}x {other / mine:10.1f}x")


if __name__ == "__main__":
    main()
