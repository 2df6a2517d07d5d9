"""Client vs AsyncClient over TLS while a request body is being uploaded.

Root cause shared by most tests here: over TLS the async backend hands a body written in
one piece (``content=bytes``) to asyncio's SSL protocol, which encrypts all of it at once
and moves it into the TCP transport's buffer without ever pausing the application
(``_control_app_writing`` only counts the SSL layer's own buffers). ``AsyncIOStream.write``
therefore returns at once: the write timeout never runs, "request_sent" is recorded while
megabytes are still queued, and a failure of the upload surfaces later as a *read* failure.
The blocking backend (``SSLSocket.send`` with a timeout) sees each of these as a write.
Over plain TCP both clients agree on every case below (checked with the same peers).

(Found by a sync/async parity review; fixed since.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import wirekit
from tests.client.parity_edges._support import TLSScriptedServer
from tests.support.scripted import expect, hold, reset, send

BIG = b"x" * (16 * 1024 * 1024)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
EARLY_413 = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!"


def _sync(certs: Any, scripts: list[Any], body: Any, **options: Any) -> Any:
    options.setdefault("retry", 0)
    with TLSScriptedServer(certs.server_context(), *scripts) as server:
        with wirekit.Client(verify=str(certs.ca_file), trust_env=False, **options) as client:
            return body(client, server.url)


def _async(certs: Any, scripts: list[Any], body: Any, **options: Any) -> Any:
    options.setdefault("retry", 0)

    async def main(url: str) -> Any:
        async with wirekit.AsyncClient(
            verify=str(certs.ca_file), trust_env=False, **options
        ) as client:
            return await body(client, url)

    with TLSScriptedServer(certs.server_context(), *scripts) as server:
        return asyncio.run(asyncio.wait_for(main(server.url), 60))


def _outcome(call: Any) -> Any:
    try:
        return call()
    except wirekit.errors.WirekitError as exc:
        return exc


def _post_both(certs: Any, scripts: list[Any], content: Any, **options: Any) -> tuple[Any, Any]:
    """POST ``content`` with each client; what each returned or raised."""

    async def async_body(client: Any, url: str) -> Any:
        try:
            return await client.post(url, content=content)
        except wirekit.errors.WirekitError as exc:
            return exc

    sync_result = _sync(
        certs, scripts, lambda c, u: _outcome(lambda: c.post(u, content=content)), **options
    )
    return sync_result, _async(certs, scripts, async_body, **options)


def test_tls_write_timeout_fires_for_a_stalled_upload(certs: Any) -> None:
    """A TLS server reads the request head and then stops reading; the client uploads
    16 MiB with ``Timeout(write=0.5, read=3)``.

    Client: WriteTimeout after ~0.5 s ("write to ... timed out"), as over plain TCP.
    AsyncClient: the write "completes" at once (asyncio's SSL protocol buffers everything),
    so it waits out the *read* timeout and raises ReadTimeout "no data ... while waiting
    for the response".
    Right: the Client. The write timeout is documented to bound sending (httpx/httpcore
    raise WriteTimeout here too); the async client both blames the wrong phase (a user
    tunes ``read=`` for a slow server, not a stuck upload) and ignores ``write=`` entirely
    over https, keeping 16 MiB of ciphertext in memory meanwhile.
    """
    scripts = [[expect(), hold()]]
    timeout = wirekit.Timeout(write=0.5, read=3)
    sync_result, async_result = _post_both(certs, scripts, BIG, timeout=timeout)
    assert type(sync_result) is wirekit.errors.WriteTimeout
    assert type(async_result) is type(sync_result), (
        f"sync: {sync_result!r}; async: {async_result!r}"
    )


def test_tls_deadline_during_upload_names_the_sending_phase(certs: Any) -> None:
    """Same stalled TLS upload, with only a total deadline ``Timeout(1.0)``.

    Client: DeadlineExceeded "... ran out during sending the request (127.0.0.1:port)".
    AsyncClient: DeadlineExceeded "... ran out during waiting for the response", and
    ``response.timings``-wise it believes the request was sent.
    Right: the Client (the upload never finished; the phase in the message is what the
    docs promise to name, and what a user acts on: server not reading vs. not answering).
    """
    scripts = [[expect(), hold()]]
    sync_result, async_result = _post_both(certs, scripts, BIG, timeout=wirekit.Timeout(1.0))
    assert isinstance(sync_result, wirekit.errors.DeadlineExceeded)
    assert "during sending the request" in str(sync_result)
    assert isinstance(async_result, wirekit.errors.DeadlineExceeded)
    assert "during sending the request" in str(async_result), str(async_result)


def test_tls_reset_during_upload_is_a_write_error(certs: Any) -> None:
    """A TLS server reads the request head and resets the connection while the client is
    still uploading 16 MiB.

    Client: WriteError "sending to ... failed" (as both clients say over plain TCP).
    AsyncClient: ReadError "receiving from ... failed: connection reset".
    Right: the Client: the connection broke while sending. The class matters: code that
    decides whether the server may have acted on the request (retry logic, idempotency
    keys) tells "never fully sent" (WriteError) from "sent, answer lost" (ReadError); the
    two clients disagree on the same failure.
    """
    scripts = [[expect(), reset()]]
    sync_result, async_result = _post_both(certs, scripts, BIG)
    assert type(sync_result) is wirekit.errors.WriteError
    assert type(async_result) is type(sync_result), (
        f"sync: {sync_result!r}; async: {async_result!r}"
    )


def test_tls_early_413_does_not_leave_a_half_sent_connection_in_the_pool(certs: Any) -> None:
    """The TLS server answers 413 (keep-alive, no ``Connection: close``) as soon as the head
    arrives and stops reading the 16 MiB body; then the client sends a plain GET.

    Client: the write stalls, times out (write=1), the early 413 is returned, and the
    connection is closed (its request was never fully sent); the GET goes out on a new
    connection and gets 200.
    AsyncClient: returns the 413 too, but puts the connection back in the pool as idle
    (``connection_counts() == {"open": 1, "idle": 1}``) with megabytes of the old body
    still queued in front of anything written next: the GET is written behind them and
    hangs until ReadTimeout.
    Right: the Client (RFC 9112 §9.6/§9.3: a connection whose request was not completely
    sent cannot carry another request; httpcore/urllib3 close it). A user sees a stray
    ReadTimeout on an unrelated later request.
    """
    scripts = [[expect(), send(EARLY_413), hold()], [expect(), send(OK), hold()]]
    timeout = wirekit.Timeout(write=1, read=2)

    def sync_body(client: Any, url: str) -> Any:
        first = client.post(url, content=BIG)
        counts = client.transport.connection_counts()
        second = _outcome(lambda: client.get(url + "/next"))
        return first.status_code, counts, second

    async def async_body(client: Any, url: str) -> Any:
        first = await client.post(url, content=BIG)
        counts = client.transport.connection_counts()
        try:
            second: Any = await client.get(url + "/next")
        except wirekit.errors.WirekitError as exc:
            second = exc
        return first.status_code, counts, second

    s_status, s_counts, s_second = _sync(certs, scripts, sync_body, timeout=timeout)
    a_status, a_counts, a_second = _async(certs, scripts, async_body, timeout=timeout)
    assert (s_status, s_counts) == (413, {"open": 0, "idle": 0})
    assert isinstance(s_second, wirekit.Response)
    assert s_second.status_code == 200
    assert (a_status, a_counts) == (s_status, s_counts)
    assert isinstance(a_second, wirekit.Response), repr(a_second)
    assert a_second.status_code == 200


def test_tls_streamed_upload_stops_when_the_peer_is_gone(certs: Any) -> None:
    """A streamed upload (a generator of 64 KiB chunks) to a TLS server that resets the
    connection right after the request head.

    Client: the first failing write raises WriteError; the generator has been asked for
    the few chunks the socket buffers took before the reset.
    AsyncClient (before the fix): kept pulling *every* chunk (all of the source, e.g. a
    file) and writing it into the dead connection, and asyncio logged "socket.send()
    raised exception." about 250 times, before a ReadError was raised. The async stream only
    checks ``transport.is_closing()``, which asyncio's SSL app transport never sets when
    the TCP transport under it fails, and no write ever awaits, so ``connection_lost`` is
    never delivered.
    Right: the Client (httpx stops at the first failed write; reading a multi-GB upload
    source to /dev/null and flooding the log is a real cost).
    """
    # 64 MiB, far more than the loopback socket buffers hold (about 10 MiB): a client that
    # goes on after the reset pulls them all; one that stops pulls what the buffers took
    # before the reset arrived (timing: 1 to about 40 chunks seen).
    chunks = 1024
    pulled = {"sync": 0, "async": 0}

    def source() -> Any:
        for _ in range(chunks):
            pulled["sync"] += 1
            yield b"y" * 65536

    async def async_source() -> Any:
        for _ in range(chunks):
            pulled["async"] += 1
            yield b"y" * 65536

    logged: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append(record.getMessage())

    scripts = [[expect(), reset()]]
    handler = Collect()
    logging.getLogger("asyncio").addHandler(handler)
    try:
        sync_result = _sync(
            certs, scripts, lambda c, u: _outcome(lambda: c.post(u, content=source()))
        )

        async def async_body(client: Any, url: str) -> Any:
            try:
                return await client.post(url, content=async_source())
            except wirekit.errors.WirekitError as exc:
                return exc

        async_result = _async(certs, scripts, async_body)
    finally:
        logging.getLogger("asyncio").removeHandler(handler)
    assert isinstance(sync_result, wirekit.errors.WriteError)
    assert pulled["sync"] < chunks // 4
    assert pulled["async"] < chunks // 4, f"async pulled {pulled['async']} of {chunks} chunks"
    assert not [m for m in logged if "socket.send() raised" in m], len(logged)
    assert type(async_result) is type(sync_result), repr(async_result)


def test_tls_request_sent_timing_only_after_the_body_was_sent(certs: Any) -> None:
    """A TLS server answers an early 413 and closes while a 16 MiB body is uploading.

    Client: ``response.timings`` has no "request_sent" (the request never finished).
    AsyncClient: records "request_sent" (the write returned with 16 MiB still queued).
    Right: the Client; docs/client.md defines each timing as the moment the phase ended,
    and an upload that never finished has no "request_sent".
    """
    closing_413 = EARLY_413.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    scripts = [[expect(), send(closing_413), hold()]]
    timeout = wirekit.Timeout(write=1, read=3)

    def sync_body(client: Any, url: str) -> Any:
        return client.post(url, content=BIG)

    async def async_body(client: Any, url: str) -> Any:
        return await client.post(url, content=BIG)

    started = time.monotonic()
    sync_response = _sync(certs, scripts, sync_body, timeout=timeout)
    async_response = _async(certs, scripts, async_body, timeout=timeout)
    assert time.monotonic() - started < 30
    assert sync_response.status_code == async_response.status_code == 413
    assert "request_sent" not in sync_response.timings
    assert sorted(async_response.timings) == sorted(sync_response.timings)
