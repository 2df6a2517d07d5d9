"""A malformed answer on a reused connection is no stale connection (found by fuzzing).

A reused keep-alive connection whose answer is a malformed response is treated as "stale"
(closed while idle): the request is silently sent a second time on a new connection, even
with ``retry=0``, and the caller gets the answer to that second execution. The pool's own
comment says the resend is only for errors "before any response byte arrived".
"""

from __future__ import annotations

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, close, expect, send

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
_AGAIN = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain"
# The server did answer /two: with a status line llhttp refuses.
_GARBAGE = b"HTTP/1.1 2x0 OK\r\n\r\n"
# The server did answer /two: a head cut short by the close.
_CUT = b"HTTP/1.1 200 OK\r\nContent-Le"


@pytest.mark.parametrize("answer", [_GARBAGE, _CUT], ids=["bad-status-line", "cut-head"])
def test_sync_client_does_not_resend_after_a_malformed_answer(answer: bytes) -> None:
    with ScriptedServer(
        [expect(), send(_OK), expect(), send(answer), close()],
        [expect(), send(_AGAIN)],
    ) as server:
        with wirekit.Client(retry=0, trust_env=False, timeout=5) as client:
            assert client.get(server.url + "/one").content == b"ok"
            with pytest.raises(wirekit.RemoteProtocolError):
                client.get(server.url + "/two")
        # /two reached the server once: no second connection carrying it again.
        assert len(server.connections) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("answer", [_GARBAGE, _CUT], ids=["bad-status-line", "cut-head"])
async def test_async_client_does_not_resend_after_a_malformed_answer(answer: bytes) -> None:
    with ScriptedServer(
        [expect(), send(_OK), expect(), send(answer), close()],
        [expect(), send(_AGAIN)],
    ) as server:
        async with wirekit.AsyncClient(retry=0, trust_env=False, timeout=5) as client:
            assert (await client.get(server.url + "/one")).content == b"ok"
            with pytest.raises(wirekit.RemoteProtocolError):
                await client.get(server.url + "/two")
        assert len(server.connections) == 1
