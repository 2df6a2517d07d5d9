"""The ``wirekit.http`` debug log: request heads "as sent".

Real peer: a raw scripted socket on loopback that records the bytes it received.

(Found by a differential review of fetch, tracing, the debug log and responses; fixed
since.)
"""

from __future__ import annotations

import asyncio
import logging

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, send

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _logged_request_lines(records: list[logging.LogRecord]) -> list[str]:
    lines: list[str] = []
    for record in records:
        if record.name == "wirekit.http":
            lines += [line for line in record.getMessage().splitlines() if line.startswith(">")]
    return lines


def _wire_lines(received: bytes) -> list[str]:
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return ["> " + line for line in head.split("\r\n")]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_debug_log_shows_the_request_head_as_sent_for_a_bodyless_post(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``client.post(url)`` with no body (a common "trigger" call: POST /jobs/42/run).

    User sees: the wire carries ``Content-Length: 0`` (added by the HTTP/1.1 writer, RFC
    9110 §8.6), but the DEBUG log of the request head does not show it: the log is the head
    *before* framing, not the head sent.
    Reference: docs/client.md: "The ``wirekit.http`` logger at DEBUG prints request and
    response heads as sent and received". (http.client's debuglevel, which requests users
    read, prints the exact bytes sent; httpx's trace exposes the headers sent by h11.)
    Why it matters: this log is what one reads to debug framing problems (a 411 Length
    Required, a proxy that hangs waiting for a body); a log that differs from the wire
    misleads exactly there.
    """
    caplog.set_level(logging.DEBUG, logger="wirekit.http")
    with ScriptedServer([expect(), send(_OK)]) as server:
        url = server.url + "/jobs/42/run"
        if flavour == "sync":
            with wirekit.Client(retry=0) as client:
                client.post(url)
        else:

            async def main() -> None:
                async with wirekit.AsyncClient(retry=0) as client:
                    await client.post(url)

            asyncio.run(main())
        wire = _wire_lines(server.received[0])
    assert "> Content-Length: 0" in wire  # what was sent
    assert _logged_request_lines(caplog.records) == wire
