"""Exceptions carry their request and survive pickling.

Each test fails on the code as reviewed because of a real bug, and passes once it is fixed.
"""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest

import wirekit
from tests.support.handler_peer import Peer, response
from tests.support.scripted import ScriptedServer, close, expect, reset, send, sleep

PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"
BAD_GZIP = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello"


@pytest.mark.parametrize(
    "script",
    [
        [expect(), send(PARTIAL), sleep(0.1), reset()],  # ReadError while reading the body
        [expect(), send(PARTIAL), close()],  # RemoteProtocolError: body cut short
        [expect(), send(BAD_GZIP), close()],  # DecodingError: corrupt Content-Encoding
    ],
    ids=["reset-mid-body", "closed-mid-body", "corrupt-gzip"],
)
def test_body_phase_errors_carry_the_request(script: list[Any]) -> None:
    # errors.py: "``request`` is the request being handled when the error happened". Errors
    # raised while the head is read get it (client._drive), but errors raised while the body
    # is read (client.send -> response.read()) leave exc.request None.
    with ScriptedServer(script) as server:
        url = server.url + "/body"
        with pytest.raises(wirekit.WirekitError) as info:
            wirekit.get(url, retry=0)
    assert info.value.request is not None
    assert str(info.value.request.url) == url


def test_body_phase_error_carries_the_request_async() -> None:
    async def main() -> wirekit.TransportError:
        with ScriptedServer([expect(), send(PARTIAL), sleep(0.1), reset()]) as server:
            async with wirekit.AsyncClient(retry=0) as client:
                try:
                    await client.get(server.url + "/body")
                except wirekit.TransportError as exc:
                    return exc
        raise AssertionError("no error")

    error = asyncio.run(asyncio.wait_for(main(), 20))
    assert error.request is not None


def _status_error() -> wirekit.HTTPStatusError:
    with Peer(lambda seen, peer: response(404, body=b"missing", reason="Not Found")) as peer:
        result = wirekit.get(peer.url + "/nothing")
    with pytest.raises(wirekit.HTTPStatusError) as info:
        result.raise_for_status()
    return info.value


def test_http_status_error_pickles() -> None:
    # multiprocessing / ProcessPoolExecutor pickle a worker's exception. A real
    # HTTPStatusError cannot be pickled (its response keeps the connection's body stream,
    # which holds a lock) and, even without the response, cannot be unpickled: __init__
    # requires keyword-only request= and response=, which BaseException.__reduce__ omits
    # (a Pool's result thread dies on that and the caller waits forever).
    error = _status_error()
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is wirekit.HTTPStatusError
    assert str(copy) == str(error)
    assert copy.response.status_code == 404


def test_too_many_redirects_pickles() -> None:
    with Peer(lambda seen, peer: response(302, headers=[("Location", "/again")])) as peer:
        with pytest.raises(wirekit.TooManyRedirects) as info:
            wirekit.get(peer.url + "/", max_redirects=1)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is wirekit.TooManyRedirects
    assert str(copy) == str(info.value)


def test_remote_limit_exceeded_pickles() -> None:
    # A peer sending a huge head raises the parser's ProtocolLimitExceeded, whose __init__
    # requires keyword-only limit=, value=, status_code=: unpickling calls cls(message) and
    # fails with TypeError.
    head = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    with ScriptedServer([expect(), send(head), close()]) as server:
        with pytest.raises(wirekit.RemoteLimitExceeded) as info:
            wirekit.get(server.url + "/", retry=0)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value)
    assert str(copy) == str(info.value)
    assert copy.limit == info.value.limit


def test_connect_error_from_a_traced_client_pickles() -> None:
    # exc.request carries the client's internals in request.extensions (the trace callable,
    # the Deadline...), so with trace= set (a lambda, a bound method of a logger object)
    # a plain ConnectError cannot be sent back from a worker process.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with wirekit.Client(trace=lambda event, info: None, retry=0) as client:
        with pytest.raises(wirekit.ConnectError) as info:
            client.get(f"http://127.0.0.1:{port}/")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is wirekit.ConnectError
    assert str(copy) == str(info.value)
