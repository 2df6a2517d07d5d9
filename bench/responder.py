"""A bare asyncio Protocol that answers HTTP/1.1 GETs without a real parser.

It is the fixed server of the client benchmark and the "Python ceiling" of the server
benchmark: it only finds each request's end (CRLFCRLF, then Content-Length bytes of body, so
pipelined and split requests are framed right) and picks a prebuilt answer by path prefix.
Run: ``python bench/responder.py --port 0 --core 0``; it prints ``PORT <n>`` when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from typing import cast

from apps import HELLO_BODY, json_body

#: Body size of ``/big``: the client benchmark's download case.
BIG_BODY_BYTES = 1024 * 1024

#: A request head longer than this without CRLFCRLF closes the connection, so a broken
#: client cannot grow the buffer without bound.
MAX_HEAD_BYTES = 64 * 1024


def _response(body: bytes, content_type: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: "
        + content_type
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


HELLO_RESPONSE = _response(HELLO_BODY, b"text/plain")
JSON_RESPONSE = _response(json_body(), b"application/json")
BIG_RESPONSE = _response(b"x" * BIG_BODY_BYTES, b"application/octet-stream")


class Responder(asyncio.Protocol):
    """One connection: frame requests, answer each with a prebuilt response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.body_left = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only duck-typed ones.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Small answers must leave at once, not wait for Nagle's timer (RFC 896).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        buffer = self.buffer
        buffer += data
        position = 0
        answers: list[bytes] = []
        close_after = False
        while True:
            if self.body_left:
                taken = min(self.body_left, len(buffer) - position)
                position += taken
                self.body_left -= taken
                if self.body_left:
                    break
            end = buffer.find(b"\r\n\r\n", position)
            if end < 0:
                break
            head = bytes(buffer[position:end])
            position = end + 4
            lowered = head.lower()
            length_at = lowered.find(b"\ncontent-length:")
            if length_at >= 0:
                line_end = lowered.find(b"\r", length_at + 1)
                value = lowered[length_at + 16 : line_end if line_end >= 0 else None]
                self.body_left = int(value.strip() or b"0")
            path_at = head.find(b" ") + 1
            if head.startswith(b"/big", path_at):
                answers.append(BIG_RESPONSE)
            elif head.startswith(b"/json", path_at):
                answers.append(JSON_RESPONSE)
            else:
                answers.append(HELLO_RESPONSE)
            if b"\nconnection: close" in lowered:
                close_after = True
                break
        del buffer[:position]
        if answers:
            transport.write(answers[0] if len(answers) == 1 else b"".join(answers))
        if close_after or len(buffer) > MAX_HEAD_BYTES:
            transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Responder, host, port, backlog=2048, reuse_address=True)
    bound_port = server.sockets[0].getsockname()[1]
    print(f"PORT {bound_port}", flush=True)
    stop = asyncio.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--core", type=int, default=None, help="pin to this CPU core")
    parser.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop")
    args = parser.parse_args()
    if args.core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    use_uvloop = not args.no_uvloop
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            use_uvloop = False
    if use_uvloop:
        uvloop.run(serve(args.host, args.port))
    else:
        asyncio.run(serve(args.host, args.port))
    sys.exit(0)


if __name__ == "__main__":
    main()
