"""A streamed response closed by the program while another task (or thread) waits for the
next chunk: docs/client.md says a response closed before its body ended raises
``StreamClosed`` on the next step of any iterator. The reader must see that, not an error
that blames the server ("response body ended after N of M bytes").
(Found by the session-16 review of streaming; fixed since: a step that fails after the
program closed the response raises StreamClosed, and the sync stream's close shuts the
socket down first, so a reader blocked in another thread wakes at once.)"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, hold, send
from wirekit.errors import StreamClosed

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\naaaa"


@pytest.mark.anyio
async def test_aclose_from_another_task_gives_the_waiting_reader_stream_closed_async() -> None:
    with ScriptedServer([expect(), send(HEAD), hold()]) as server:
        url = f"http://127.0.0.1:{server.port}/"
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            async with client.stream("GET", url) as response:
                iterator = response.aiter_bytes()
                assert await iterator.__anext__() == b"aaaa"
                waiting = asyncio.ensure_future(iterator.__anext__())
                await asyncio.sleep(0.1)  # the reader now waits for the rest of the body
                assert not waiting.done()
                await response.aclose()
                with pytest.raises(StreamClosed):
                    await asyncio.wait_for(waiting, 3)


def test_close_from_another_thread_gives_the_waiting_reader_stream_closed_sync() -> None:
    # A watchdog thread gives up on a stalled download. The reader must learn at once that
    # the response was closed, not wait out the deadline and then blame the server.
    with ScriptedServer([expect(), send(HEAD), hold()]) as server:
        url = f"http://127.0.0.1:{server.port}/"
        with wirekit.Client(retry=0, timeout=3) as client:
            with client.stream("GET", url) as response:
                iterator = response.iter_bytes()
                assert next(iterator) == b"aaaa"
                outcome: list[BaseException | bytes] = []

                def reader() -> None:
                    try:
                        outcome.append(next(iterator))
                    except BaseException as exc:  # handed to the test
                        outcome.append(exc)

                thread = threading.Thread(target=reader)
                thread.start()
                time.sleep(0.1)  # the reader now waits for the rest of the body
                started = time.monotonic()
                response.close()
                thread.join(5)
                assert not thread.is_alive()
                waited = time.monotonic() - started
                assert len(outcome) == 1
                assert isinstance(outcome[0], StreamClosed), repr(outcome[0])
                assert waited < 1.0, f"the reader was held {waited:.1f} s after close()"


# (Suspected by the same review; fixed since: a chunk_size that is no int is refused at the
# first step, before the body is taken, naming its type.)


@pytest.mark.parametrize("chunk_size", [1024.0, "10", True])
def test_a_chunk_size_that_is_no_int_is_refused_and_the_body_stays_readable(
    chunk_size: object,
) -> None:
    body = b"x" * 100
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    with ScriptedServer([expect(), send(head + body)]) as server:
        with wirekit.Client(timeout=5.0) as client, client.stream("GET", server.url) as response:
            # (The compiled build checks the annotation itself: "int or None object
            # expected; got float".)
            with pytest.raises(
                TypeError, match=r"chunk_size must be an int number of bytes|int or None object"
            ):
                list(response.iter_bytes(chunk_size))  # type: ignore[arg-type]
            assert response.read() == body
