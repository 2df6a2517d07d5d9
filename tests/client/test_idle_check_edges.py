"""The idle check before each reuse of a keep-alive connection, however short the pause:
bytes a server sent after its answer (a late extra response, a 408 before it closes, a body
after a HEAD answer) must not be read as the next request's answer. A review found all of
these broken by a version that skipped the check for connections idle under 50 ms."""

from __future__ import annotations

import time

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, close, expect, hold, send, sleep

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
_RIGHT = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nright"
_STRAY = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"
_408 = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"

#: Between the first response and the second request: long enough for bytes the server
#: sent 5 ms after its response to be here, and a short pause all the same.
PAUSE = 0.025


def _scripts(after_first: bytes) -> tuple[list, list]:
    first = [expect(), send(_OK), sleep(0.005), send(after_first), expect(), hold()]
    return first, [expect(), send(_RIGHT)]


# -- a stray response that came late ---------------------------------------------------
def test_sync_stray_bytes_after_a_response_are_not_the_next_answer() -> None:
    with ScriptedServer(*_scripts(_STRAY)) as server:
        with wirekit.Client(retry=0) as client:
            assert client.get(server.url + "/one").content == b"ok"
            time.sleep(PAUSE)
            second = client.get(server.url + "/two")
    assert second.content == b"right"  # not b"stray": bytes sent before /two was asked


@pytest.mark.anyio
async def test_async_stray_bytes_after_a_response_are_not_the_next_answer() -> None:
    with ScriptedServer(*_scripts(_STRAY)) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            assert (await client.get(server.url + "/one")).content == b"ok"
            time.sleep(PAUSE)  # blocks the loop on purpose: the bytes come meanwhile
            second = await client.get(server.url + "/two")
    assert second.content == b"right"


# -- a 408 the server sent on its own, then closed ------------------------------------
@pytest.mark.parametrize("retry", [0, None], ids=["retry0", "default-retry"])
def test_sync_unsolicited_408_then_close_is_not_the_next_answer(retry: int | None) -> None:
    with ScriptedServer(
        [expect(), send(_OK), sleep(0.005), send(_408), close()], [expect(), send(_RIGHT)]
    ) as server:
        options = {} if retry is None else {"retry": retry}
        with wirekit.Client(**options) as client:
            assert client.get(server.url + "/one").content == b"ok"
            time.sleep(PAUSE)
            second = client.get(server.url + "/two")
    assert (second.status_code, second.content) == (200, b"right")


@pytest.mark.anyio
async def test_async_unsolicited_408_then_close_is_not_the_next_answer() -> None:
    with ScriptedServer(
        [expect(), send(_OK), sleep(0.005), send(_408), close()], [expect(), send(_RIGHT)]
    ) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            assert (await client.get(server.url + "/one")).content == b"ok"
            time.sleep(PAUSE)
            second = await client.get(server.url + "/two")
    assert (second.status_code, second.content) == (200, b"right")


# -- a HEAD answered with a body (a common server bug) -------------------------------
def test_sync_get_right_after_a_head_answered_with_a_body() -> None:
    head_script = [expect(), send(_HEAD), sleep(0.005), send(b"hello"), expect(), hold()]
    with ScriptedServer(head_script, [expect(), send(_RIGHT)]) as server:
        with wirekit.Client(retry=0) as client:
            assert client.head(server.url + "/one").status_code == 200
            time.sleep(PAUSE)
            second = client.get(server.url + "/two")  # not a RemoteProtocolError
    assert second.content == b"right"


@pytest.mark.anyio
async def test_async_get_right_after_a_head_answered_with_a_body() -> None:
    head_script = [expect(), send(_HEAD), sleep(0.005), send(b"hello"), expect(), hold()]
    with ScriptedServer(head_script, [expect(), send(_RIGHT)]) as server:
        async with wirekit.AsyncClient(retry=0) as client:
            assert (await client.head(server.url + "/one")).status_code == 200
            time.sleep(PAUSE)
            second = await client.get(server.url + "/two")
    assert second.content == b"right"
