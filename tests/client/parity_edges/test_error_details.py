"""Client vs AsyncClient: the same failure, different error details (cause, message).

(Found by a sync/async parity review; fixed since.)
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import wirekit
from tests.client.parity_edges._support import TLSScriptedServer, norm
from tests.support.scripted import ScriptedServer, expect, reset


def _chunks() -> Any:
    for _ in range(64):
        yield b"y" * 65536


async def _achunks() -> Any:
    for _ in range(64):
        yield b"y" * 65536


def _sync_post(url: str, **options: Any) -> BaseException:
    with wirekit.Client(trust_env=False, retry=0, **options) as client:
        try:
            client.post(url, content=_chunks())
        except wirekit.errors.WirekitError as exc:
            return exc
    raise AssertionError("no error")


def _async_post(url: str, **options: Any) -> BaseException:
    async def main() -> BaseException:
        async with wirekit.AsyncClient(trust_env=False, retry=0, **options) as client:
            try:
                await client.post(url, content=_achunks())
            except wirekit.errors.WirekitError as exc:
                return exc
        raise AssertionError("no error")

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_write_error_keeps_the_os_error_as_its_cause() -> None:
    """Plain TCP: the server resets the connection right after the request head, while a
    streamed body (64 x 64 KiB) is being sent.

    Client: WriteError "sending to ... failed: connection reset by ...", ``__cause__`` the
    ConnectionResetError.
    AsyncClient: WriteError with ``__cause__`` None (``AsyncIOStream.write`` raises
    ``write_failure(...)`` without ``from``), and about every other run the message is only
    "sending to ... failed: the connection is closed" (the transport is closing before
    ``connection_lost`` has stored the error).
    Right: the Client. errors.py promises the original exception stays on ``__cause__``
    (users read ``exc.__cause__.errno``, and httpx chains it too); both clients already do
    so for reads.
    """
    results = {}
    for kind, post in (("sync", _sync_post), ("async", _async_post)):
        with ScriptedServer([expect(), reset()]) as server:
            results[kind] = post(server.url + "/upload")
    for kind, exc in results.items():
        assert type(exc) is wirekit.errors.WriteError, (kind, exc)
    assert isinstance(results["sync"].__cause__, ConnectionResetError)
    assert isinstance(results["async"].__cause__, ConnectionResetError), (
        f"async cause: {results['async'].__cause__!r}"
    )


def test_tls_reset_read_error_cause_is_the_reset(certs: Any) -> None:
    """TLS: the server reads the request and resets the connection (RST) before answering.

    Both clients raise ReadError "receiving from ... failed: connection reset by ...".
    Client: ``__cause__`` is ``ssl.SSLEOFError`` (SyncStream.read builds the
    ConnectionResetError for the message but chains the SSL error instead).
    AsyncClient: ``__cause__`` is ConnectionResetError, as both clients give over plain
    TCP for the same reset.
    Right: the AsyncClient (the cause should be the reset the message names; code written
    as ``isinstance(exc.__cause__, ConnectionResetError)`` works over http:// and with
    AsyncClient, but not with Client over https://).
    """
    causes = {}
    for kind in ("sync", "async"):
        with TLSScriptedServer(certs.server_context(), [expect(), reset()]) as server:
            options = {"verify": str(certs.ca_file), "trust_env": False, "retry": 0}
            if kind == "sync":
                with wirekit.Client(**options) as client:
                    try:
                        client.get(server.url)
                    except wirekit.errors.ReadError as exc:
                        causes[kind] = (norm(str(exc)), exc.__cause__)
            else:

                async def main(url: str = server.url, options: dict = options) -> None:
                    async with wirekit.AsyncClient(**options) as client:
                        try:
                            await client.get(url)
                        except wirekit.errors.ReadError as exc:
                            causes["async"] = (norm(str(exc)), exc.__cause__)

                asyncio.run(asyncio.wait_for(main(), 30))
    assert causes["sync"][0] == causes["async"][0]
    assert isinstance(causes["async"][1], ConnectionResetError)
    assert isinstance(causes["sync"][1], ConnectionResetError), repr(causes["sync"][1])


def test_unix_socket_with_full_accept_queue_message(tmp_path: Path) -> None:
    """``uds=`` pointing at a listener whose accept queue is full (backlog 0, one pending
    connection), with a connect timeout.

    Client: ConnectError "Resource temporarily unavailable (Unix socket ...)" (EAGAIN, what
    connect(2) returned; cause BlockingIOError).
    AsyncClient: ConnectError "Transport endpoint is not connected (Unix socket ...)"
    (the ENOTCONN of the ``getpeername()`` it uses to detect the failure; cause a bare
    OSError), which reads like a client bug rather than "the server is overloaded".
    Right: the Client (curl reports the EAGAIN as well); the messages should match.
    """
    path = str(tmp_path / "full.sock")
    listener = socket.socket(socket.AF_UNIX)
    fillers = []
    try:
        listener.bind(path)
        listener.listen(0)
        for _ in range(8):
            filler = socket.socket(socket.AF_UNIX)
            filler.setblocking(False)
            fillers.append(filler)
            try:
                filler.connect(path)
            except BlockingIOError:
                break
        options = {
            "uds": path,
            "trust_env": False,
            "retry": 0,
            "timeout": wirekit.Timeout(connect=0.5, read=1),
        }
        results = {}
        with wirekit.Client(**options) as client:
            try:
                client.get("http://uds.invalid/")
            except wirekit.errors.WirekitError as exc:
                results["sync"] = exc

        async def main() -> None:
            async with wirekit.AsyncClient(**options) as client:
                try:
                    await client.get("http://uds.invalid/")
                except wirekit.errors.WirekitError as exc:
                    results["async"] = exc

        asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
        if os.path.exists(path):
            os.unlink(path)
    assert type(results["sync"]) is type(results["async"]) is wirekit.errors.ConnectError
    assert "Resource temporarily unavailable" in str(results["sync"])
    assert str(results["async"]) == str(results["sync"])
