"""Request sequencing on one connection, as a table: body framing x what follows x how the
bytes arrive x how the connection ends, against the real server (WSGI and ASGI).

Each case sends its requests on one raw socket and asserts the exact answers a client sees,
in order, and that nothing else arrives. The apps answer ``METHOD /path`` (hello: the body
is never read, so the server reads and drops it) or ``METHOD /path:body`` (echo).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from tests.server import apps
from tests.server.support import (
    RunningServer,
    read_head,
    read_response,
    read_until_closed,
    running,
)

# -- the dimensions ----------------------------------------------------------------------

#: name -> (app, reads the body)
APPS: dict[str, tuple[Any, bool]] = {
    "wsgi-echo": (apps.wsgi_echo_path, True),
    "asgi-echo": (apps.asgi_echo_path, True),
    "wsgi-hello": (apps.wsgi_hello_path, False),
    "asgi-hello": (apps.asgi_hello_path, False),
}

BIG = bytes(range(256)) * 1024  # 256 KiB, a multiple of the 16 KiB chunks below

#: name -> (framing header lines, body bytes on the wire, decoded body)
BODIES: dict[str, tuple[bytes, bytes, bytes]] = {
    "nobody": (b"", b"", b""),
    "length": (b"Content-Length: 11\r\n", b"hello world", b"hello world"),
    "chunked": (
        b"Transfer-Encoding: chunked\r\n",
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"hello world",
    ),
    "trailers": (
        b"Transfer-Encoding: chunked\r\n",
        b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\nX-Other: y\r\n\r\n",
        b"hello world",
    ),
    # Bigger than the read buffers: the server pauses and resumes reading mid-body.
    "big": (b"Content-Length: %d\r\n" % len(BIG), BIG, BIG),
    "bigchunked": (
        b"Transfer-Encoding: chunked\r\n",
        b"".join(b"4000\r\n%s\r\n" % BIG[n : n + 0x4000] for n in range(0, len(BIG), 0x4000))
        + b"0\r\nX-Checksum: 42\r\n\r\n",
        BIG,
    ),
}

#: name -> the requests after the first one: (method, path, framing, wire body, body)
FOLLOWS: dict[str, list[tuple[bytes, bytes, bytes, bytes, bytes]]] = {
    "alone": [],
    "get": [(b"GET", b"/two", b"", b"", b"")],
    "2gets": [(b"GET", b"/two", b"", b"", b""), (b"GET", b"/three", b"", b"", b"")],
    "post": [(b"POST", b"/four", b"Content-Length: 4\r\n", b"more", b"more")],
    "2posts": [
        (b"POST", b"/four", b"Content-Length: 4\r\n", b"more", b"more"),
        (b"POST", b"/five", b"Transfer-Encoding: chunked\r\n", b"3\r\nend\r\n0\r\n\r\n", b"end"),
    ],
    "many": [(b"GET", b"/n%d" % n, b"", b"", b"") for n in range(12)],
}

#: How the bytes arrive. "bytewise": one byte per send() up to a little past the first
#: request, then the rest at once; "bytewise-all": every byte (up to BYTEWISE_LIMIT) alone.
#: The next ones only for hello apps (they answer without the body): "tail-*" send only the
#: first head, wait for its answer, then the body and the rest (in one send, or bytewise);
#: "chain" sends each head alone, waits for its answer, then its body with the next head.
DELIVERIES = [
    "one-send",
    "bytewise",
    "bytewise-all",
    "split-head",
    "after-answer",
    "tail-after-answer",
    "tail-bytewise",
    "chain",
]
NEEDS_EARLY_ANSWER = ("tail-after-answer", "tail-bytewise", "chain")

#: keep-alive: the connection must stay usable (a later request on it is answered);
#: close: ``Connection: close`` on the last request; half-close: shutdown(SHUT_WR) after
#: the last byte. The last two: the server must answer everything, then close.
ENDINGS = ["keep-alive", "close", "half-close"]

#: "bytewise" sends one byte per send() up to this many bytes past the first request (or
#: at most BYTEWISE_LIMIT bytes, for the big bodies).
BYTEWISE_EXTRA = 12
BYTEWISE_LIMIT = 400


@dataclass(frozen=True)
class Case:
    app: str
    body: str
    follow: str
    delivery: str
    ending: str


def known_bug(case: Case) -> str | None:
    """The reason a case is expected to fail because of a server bug (None: must pass)."""
    return None


def _cases() -> Iterator[Any]:
    for app in APPS:
        for body in BODIES:
            for follow in FOLLOWS:
                for delivery in DELIVERIES:
                    if delivery in NEEDS_EARLY_ANSWER and APPS[app][1]:
                        continue  # echo apps wait for the body before answering
                    if delivery in ("tail-after-answer", "tail-bytewise") and body == "nobody":
                        continue  # no body: the same as after-answer
                    for ending in ENDINGS:
                        case = Case(app, body, follow, delivery, ending)
                        reason = known_bug(case)
                        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                        yield pytest.param(
                            case, id=f"{app}-{body}-{follow}-{delivery}-{ending}", marks=marks
                        )


# -- building and checking ---------------------------------------------------------------


def _request(
    method: bytes, path: bytes, framing: bytes, wire_body: bytes, *, close: bool
) -> tuple[bytes, bytes]:
    """(head, wire body) of one request."""
    connection = b"Connection: close\r\n" if close else b""
    head = b"%s %s HTTP/1.1\r\nHost: x\r\n%s%s\r\n" % (method, path, framing, connection)
    return head, wire_body


def _expected(reads_body: bool, method: bytes, path: bytes, body: bytes) -> bytes:
    return method + b" " + path + (b":" + body if reads_body else b"")


@pytest.fixture(scope="module")
def servers() -> Iterator[Callable[[str], RunningServer]]:
    """One server per app for the whole module (each case uses its own connection)."""
    with ExitStack() as stack:
        started: dict[str, RunningServer] = {}

        def get(name: str) -> RunningServer:
            if name not in started:
                started[name] = stack.enter_context(running(APPS[name][0]))
            return started[name]

        yield get


class Sender:
    """Sends on a raw socket. With ``may_be_closed``, a peer that already closed is allowed
    (the client asked for close and the app answered before reading the body: the server
    may close without reading the rest, RFC 9112 §9.6); later sends are then skipped."""

    def __init__(self, sock: socket.socket, *, may_be_closed: bool) -> None:
        self.sock = sock
        self.may_be_closed = may_be_closed
        self.closed = False

    def send(self, data: bytes) -> None:
        if self.closed or not data:
            return
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if not self.may_be_closed:
                raise
            self.closed = True


def _send_bytewise(sender: Sender, data: bytes, first_end: int | None = None) -> None:
    """One byte per send() up to a little past ``first_end`` (default: all, up to the limit),
    then the rest at once."""
    split = min(len(data), BYTEWISE_LIMIT)
    if first_end is not None:
        split = min(split, first_end + BYTEWISE_EXTRA)
    for index in range(split):
        sender.send(data[index : index + 1])
    sender.send(data[split:])


def _take_interim(sock: socket.socket, buffer: bytearray) -> int | None:
    """Waits for the next response head; if it is a 1xx, removes it from ``buffer`` and
    returns its status (None: a final answer is next, left in ``buffer``)."""
    head, rest = read_head(sock, buffer)
    status = int(head.split(b" ", 2)[1])
    if status >= 200:
        return None
    buffer[:] = rest
    return status


def _read_answers(
    sock: socket.socket, buffer: bytearray, count: int
) -> list[tuple[int, dict[str, str], bytes]]:
    return [read_response(sock, buffer) for _ in range(count)]


def _finish(
    sock: socket.socket,
    buffer: bytearray,
    ending: str,
    reads_body: bool,
    answers: list[tuple[int, dict[str, str], bytes]],
) -> None:
    """After the expected answers: keep-alive must leave the connection usable; close and
    half-close must end it. Either way nothing else may arrive."""
    if ending == "keep-alive":
        assert all(headers.get("connection") != "close" for _, headers, _ in answers)
        sock.sendall(b"GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buffer += read_until_closed(sock)
        status, _, answer = read_response(sock, buffer)
        assert (status, answer) == (200, _expected(reads_body, b"GET", b"/end", b""))
    else:
        if ending == "close":
            assert answers[-1][1].get("connection") == "close"
        buffer += read_until_closed(sock)
    # The server closed the connection, and nothing arrived besides the answers.
    assert bytes(buffer) == b""


def _statuses_and_bodies(
    answers: list[tuple[int, dict[str, str], bytes]],
) -> list[tuple[int, bytes]]:
    return [(status, body) for status, _, body in answers]


@pytest.mark.parametrize("case", list(_cases()))
def test_sequencing(servers: Callable[[str], RunningServer], case: Case) -> None:
    server = servers(case.app)
    reads_body = APPS[case.app][1]
    framing, wire_body, body = BODIES[case.body]
    first_method = b"GET" if case.body == "nobody" else b"POST"
    follows = FOLLOWS[case.follow]
    close_last = case.ending == "close"

    first_head, first_body = _request(
        first_method, b"/one", framing, wire_body, close=close_last and not follows
    )
    requests = [
        _request(method, path, f, w, close=close_last and index == len(follows) - 1)
        for index, (method, path, f, w, _) in enumerate(follows)
    ]
    rest = b"".join(head + request_body for head, request_body in requests)
    expected = [_expected(reads_body, first_method, b"/one", body)] + [
        _expected(reads_body, method, path, b) for method, path, _, _, b in follows
    ]

    answers: list[tuple[int, dict[str, str], bytes]] = []
    buffer = bytearray()
    with server.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        last_has_body = bool(follows[-1][3] if follows else wire_body)
        sender = Sender(sock, may_be_closed=close_last and not reads_body and last_has_body)
        if case.delivery == "one-send":
            sender.send(first_head + first_body + rest)
        elif case.delivery == "bytewise":
            _send_bytewise(sender, first_head + first_body + rest, len(first_head + first_body))
        elif case.delivery == "bytewise-all":
            _send_bytewise(sender, first_head + first_body + rest)
        elif case.delivery == "chain":
            pending = b""
            for head, request_body in [(first_head, first_body), *requests]:
                sender.send(pending + head)
                answers += _read_answers(sock, buffer, 1)
                pending = request_body
            sender.send(pending)
        elif case.delivery == "split-head":
            sender.send(first_head)
            sender.send(first_body + rest)
        elif case.delivery == "after-answer":
            sender.send(first_head + first_body)
            answers += _read_answers(sock, buffer, 1)
            sender.send(rest)
        else:
            sender.send(first_head)
            answers += _read_answers(sock, buffer, 1)
            if case.delivery == "tail-bytewise":
                _send_bytewise(sender, first_body + rest, len(first_body))
            else:
                sender.send(first_body + rest)
        if case.ending == "half-close":
            sock.shutdown(socket.SHUT_WR)

        answers += _read_answers(sock, buffer, len(expected) - len(answers))
        assert _statuses_and_bodies(answers) == [(200, answer) for answer in expected]
        _finish(sock, buffer, case.ending, reads_body, answers)


# -- Connection: close in the middle of a pipeline -----------------------------------------


@pytest.mark.parametrize("app", list(APPS))
@pytest.mark.parametrize("body", ["nobody", "length", "chunked"])
@pytest.mark.parametrize("delivery", ["one-send", "bytewise"])
def test_requests_after_connection_close_are_not_answered(
    servers: Callable[[str], RunningServer], app: str, body: str, delivery: str
) -> None:
    # RFC 9112 §9.6: after answering a request with "close", the server closes; the
    # requests pipelined behind it are never answered.
    server = servers(app)
    reads_body = APPS[app][1]
    framing, wire_body, decoded = BODIES[body]
    method = b"GET" if body == "nobody" else b"POST"
    data = (
        b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"".join(_request(method, b"/two", framing, wire_body, close=True))
        + b"GET /three HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    buffer = bytearray()
    with server.connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The server may close before reading all of this (it never answers /three).
        sender = Sender(sock, may_be_closed=True)
        if delivery == "one-send":
            sender.send(data)
        else:
            _send_bytewise(sender, data, len(data) - BYTEWISE_EXTRA)
        answers = _read_answers(sock, buffer, 2)
        assert _statuses_and_bodies(answers) == [
            (200, _expected(reads_body, b"GET", b"/one", b"")),
            (200, _expected(reads_body, method, b"/two", decoded)),
        ]
        _finish(sock, buffer, "close", reads_body, answers)


# -- 100-continue ------------------------------------------------------------------------


@pytest.mark.parametrize("app", list(APPS))
@pytest.mark.parametrize("position", ["first", "second"])
@pytest.mark.parametrize("follow", ["alone", "get", "post"])
@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("wait", ["waits", "no-wait"])
def test_expect_100_continue_in_a_sequence(
    servers: Callable[[str], RunningServer],
    app: str,
    position: str,
    follow: str,
    ending: str,
    wait: str,
) -> None:
    # The client sends the head with "Expect: 100-continue" (after a GET when "second").
    # "waits": it waits for 100 or a final answer (hello apps answer without reading: no
    # 100), then sends the body and the pipelined rest. "no-wait": all at once; the server
    # may then omit the 100 (RFC 9110 §10.1.1), but only echo apps may get one at all.
    server = servers(app)
    reads_body = APPS[app][1]
    follows = FOLLOWS[follow]
    close_last = ending == "close"
    before = b"GET /zero HTTP/1.1\r\nHost: x\r\n\r\n" if position == "second" else b""
    connection = b"Connection: close\r\n" if close_last and not follows else b""
    head = (
        b"POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n"
        b"Expect: 100-continue\r\n%s\r\n" % connection
    )
    rest = b"".join(
        b"".join(_request(method, path, f, w, close=close_last and index == len(follows) - 1))
        for index, (method, path, f, w, _) in enumerate(follows)
    )
    expected = ([_expected(reads_body, b"GET", b"/zero", b"")] if before else []) + [
        _expected(reads_body, b"POST", b"/one", b"hello world"),
        *(_expected(reads_body, method, path, b) for method, path, _, _, b in follows),
    ]
    buffer = bytearray()
    with server.connect() as sock:
        last_has_body = bool(follows[-1][3]) if follows else True
        sender = Sender(sock, may_be_closed=close_last and not reads_body and last_has_body)
        if wait == "waits":
            sender.send(before + head)
            answers = _read_answers(sock, buffer, 1 if before else 0)
            if reads_body:
                assert _take_interim(sock, buffer) == 100
            else:
                assert _take_interim(sock, buffer) is None
                answers += _read_answers(sock, buffer, 1)
            sender.send(b"hello world" + rest)
        else:
            sender.send(before + head + b"hello world" + rest)
            answers = _read_answers(sock, buffer, 1 if before else 0)
            interim = _take_interim(sock, buffer)
            assert interim in ((None, 100) if reads_body else (None,))
        if ending == "half-close":
            sock.shutdown(socket.SHUT_WR)
        answers += _read_answers(sock, buffer, len(expected) - len(answers))
        assert _statuses_and_bodies(answers) == [(200, answer) for answer in expected]
        _finish(sock, buffer, ending, reads_body, answers)
