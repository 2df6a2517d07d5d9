"""Review of request-body framing: bodies the caller's framing headers describe wrongly.

Each test failed on the code as reviewed; the peer is a raw loopback socket that frames the
request as a server would (tests/client/upload_edges/_rawpeer.py). (Found by a review of
request bodies against requests and httpx; fixed since: a framing header with no body ends
an empty chunked body or refuses the Content-Length before sending; the piece that completes
a streamed Content-Length is sent only once the source is known to end there.)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import wirekit
from tests.client.upload_edges._rawpeer import FramingPeer
from wirekit.errors import LocalProtocolError

# -- 1. a framing header with no body at all ---------------------------------------------------


@pytest.mark.parametrize("header", [("Content-Length", "5"), ("Transfer-Encoding", "chunked")])
def test_framing_header_without_a_body_does_not_hang(header: tuple[str, str]) -> None:
    """POST with a caller's framing header and no content=/data=/json=/files= at all.

    User sees: the call hangs until the client's timeout and ends with DeadlineExceeded
    "... ran out during waiting for the response", which points at the server; the server
    sits waiting for a body that never comes. With "Transfer-Encoding: chunked" (a client
    whose default headers say chunked, or one request of a chunked-upload helper with an
    empty batch) the request never ends; with "Content-Length: 5" the request can never be
    completed.
    httpx: chunked -> sends the terminating "0\\r\\n\\r\\n" and gets its 200 at once;
    Content-Length: 5 -> LocalProtocolError "Too little data for declared Content-Length"
    at once. requests hangs like wirekit in both (http.client), so the references differ,
    but a silent hang to the timeout is clearly the worse choice.
    Cause: wirekit/client/_sync/connection.py (and _async) ``handle_request``: for
    ``content is None`` it writes ``proto.send_request(..., body=None)`` and stops, although
    ``send_request`` (_proto/http1.py ``_framing``) honoured the caller's header and left
    the message in SEND_BODY. Fix: after that write, ``if proto.our_state is SEND_BODY``
    call ``proto.send_end_of_message()`` (ends a chunked body; raises LocalProtocolError for
    the missing Content-Length bytes) -- better, check before writing the head, so nothing
    is sent for the Content-Length case.
    """
    name, value = header
    with FramingPeer() as peer, wirekit.Client(timeout=4.0) as client:
        started = time.monotonic()
        try:
            response = client.post(peer.url + "/up", headers={name: value})
        except LocalProtocolError:
            outcome: Any = "refused"
        except wirekit.errors.WirekitError as exc:
            outcome = exc
        else:
            outcome = response.status_code
        elapsed = time.monotonic() - started
    expected = 200 if name == "Transfer-Encoding" else "refused"
    assert outcome == expected, f"{outcome!r} after {elapsed:.1f} s"
    assert elapsed < 2.0


@pytest.mark.anyio
async def test_chunked_header_without_a_body_does_not_hang_async() -> None:
    """Same as above for AsyncClient (same code in client/_async/connection.py)."""
    with FramingPeer() as peer:
        async with wirekit.AsyncClient(timeout=4.0) as client:
            started = time.monotonic()
            try:
                response = await client.post(
                    peer.url + "/up", headers={"Transfer-Encoding": "chunked"}
                )
                outcome: Any = response.status_code
            except wirekit.errors.WirekitError as exc:
                outcome = exc
            elapsed = time.monotonic() - started
    assert outcome == 200, f"{outcome!r} after {elapsed:.1f} s"


# -- 2. the server receives a complete request the client then calls an error -------------------


def _longer() -> Iterator[bytes]:
    yield b"0123456789"  # exactly the declared Content-Length...
    yield b"-and-the-rest-of-the-file"  # ...but the source goes on


def _failing() -> Iterator[bytes]:
    yield b"0123456789"  # exactly the declared Content-Length...
    raise OSError("source disk went away")  # ...then the source fails


async def _along(source: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in source:
        yield chunk


_SOURCES = [pytest.param(_longer, id="source-longer"), pytest.param(_failing, id="source-fails")]


def _assert_server_saw_no_complete_request(peer: FramingPeer) -> None:
    peer.wait_finished()
    # A head then a close (or a reset, which may come before the head is read): either
    # way, no complete request.
    assert not any(got.complete for got in peer.got), [
        (got.line, got.body, got.complete) for got in peer.got
    ]


@pytest.mark.parametrize("make", _SOURCES)
def test_body_the_client_rejects_never_reaches_the_server_complete(make: Any) -> None:
    """A streamed body with the caller's Content-Length (a proxied download, a generator of
    file pieces, as test_uploads_edges allows) whose source turns out longer than declared,
    or fails, right after exactly that many bytes.

    User sees: the call raises (LocalProtocolError "body is longer than its Content-Length
    of 10 bytes", or the source's OSError), so the caller believes the upload failed and
    may retry -- but the server already received a complete, well-framed request holding
    the first 10 bytes and acted on it (stored a truncated file, answered 200). The brief
    for this area: a length that does not match must be an error, never a request the
    server misreads.
    References: httpx (h11) has the same flaw; requests is worse (sends all the bytes, the
    rest is read as a next request). Not a case where wirekit chose differently, but a real
    hole the client can close cheaply.
    Cause: wirekit/client/_sync/connection.py ``handle_request`` (and _async) writes each
    chunk as soon as the source yields it; the chunk that completes the Content-Length goes
    out before the client knows whether the source ends there. Fix: with Content-Length
    framing, hold back the chunk that would bring ``_send_left`` to 0 and pull the source
    once more before writing it: write it only on StopIteration; on more data raise
    LocalProtocolError, on an error re-raise -- either way the server sees a short body and
    a closed connection, never a complete request.
    """
    with FramingPeer() as peer:  # checked while it listens: the connection is accepted
        with wirekit.Client(timeout=4.0) as client, pytest.raises((LocalProtocolError, OSError)):
            client.post(peer.url + "/up", content=make(), headers={"Content-Length": "10"})
        _assert_server_saw_no_complete_request(peer)


@pytest.mark.anyio
@pytest.mark.parametrize("make", _SOURCES)
async def test_body_the_client_rejects_never_reaches_the_server_complete_async(
    make: Any,
) -> None:
    """Same with AsyncClient and an async generator (client/_async/connection.py)."""
    with FramingPeer() as peer:
        async with wirekit.AsyncClient(timeout=4.0) as client:
            with pytest.raises((LocalProtocolError, OSError)):
                await client.post(
                    peer.url + "/up", content=_along(make()), headers={"Content-Length": "10"}
                )
        _assert_server_saw_no_complete_request(peer)
