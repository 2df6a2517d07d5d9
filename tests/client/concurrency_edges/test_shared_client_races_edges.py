"""One `wirekit.Client` shared by threads: state a thread changes, or reads, while another
is inside a request must come out whole (the old value or the new, never a mix, never lost).

Each race is made certain by holding one thread, for a fraction of a second, at the point
where the OS scheduler could deschedule it anyway (a slow header value, a big netrc file,
a lock taken late, a URL string whose hashing is slow, a hand-over that is slow to return).
The async client is not affected: these sections never await, so a task cannot interleave.
(Found by the session-16 review of a shared client; fixed since: Headers keeps its wire form
tagged with the item list it encodes, and a change replaces the list; the base_url setter
replaces the URL cache; the netrc file is read under a lock; DigestAuth keeps the counts of
the last 16 replaced nonces; a response body is claimed once, under a lock, by whichever
thread finishes it.)
"""

from __future__ import annotations

import http.server
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest

import wirekit
from tests.support.keepalive import KeepAliveServer
from tests.support.stdlib_server import serving
from wirekit.client._primitives import Signal
from wirekit.client._sync import pool as sync_pool

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _ok(handler: http.server.BaseHTTPRequestHandler, status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", "2")
    handler.end_headers()
    handler.wfile.write(b"ok")


# -- default headers edited in place ------------------------------------------------------


class _NotesToken(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tokens: ClassVar[list[str | None]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.tokens.append(self.headers.get("X-Token"))
        _ok(self)


class _SlowToEncode(str):
    """A header value whose encoding takes a while, once armed (a thread descheduled while
    the client encodes its default headers)."""

    armed = threading.Event()

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        if _SlowToEncode.armed.is_set():
            _SlowToEncode.armed.clear()
            time.sleep(0.5)
        return str.encode(str(self), *args, **kwargs)


def test_a_default_header_changed_while_a_request_is_built_is_sent_from_then_on() -> None:
    # A request copies client.headers and encodes them (Headers._wire) into the source's
    # cache. client.headers["X-Token"] = "new" meanwhile replaces the items and drops the
    # cache, and then the request thread stores its encoding of the OLD items as the cache.
    # From then on every request copies that stale wire form: request.headers says "new",
    # the server gets "old", for good.
    _NotesToken.tokens = []
    with serving(_NotesToken) as port, wirekit.Client(timeout=10, trust_env=False) as client:
        url = f"http://127.0.0.1:{port}/"
        client.headers["X-Slow"] = _SlowToEncode("s")
        client.headers["X-Token"] = "old"
        _SlowToEncode.armed.set()
        sender = threading.Thread(target=client.get, args=(url,))
        sender.start()
        time.sleep(0.2)  # the sender is encoding the default headers now
        client.headers["X-Token"] = "new"
        sender.join(10)
        response = client.get(url)
    assert response.request.headers["X-Token"] == "new"
    assert _NotesToken.tokens[-1] == "new", _NotesToken.tokens


# -- base_url changed while a request joins a relative URL ----------------------------------


class _SlowToStore(str):
    """A relative URL whose storing in the client's URL cache is slow (the thread
    descheduled between joining it to the base URL and caching the result)."""

    stores = 0

    def __hash__(self) -> int:
        if sys._getframe(1).f_code.co_name == "_merge_url":
            _SlowToStore.stores += 1
            if _SlowToStore.stores == 2:  # the first is the look-up, the second the store
                time.sleep(0.5)
        return str.__hash__(self)


def test_a_new_base_url_is_not_undone_by_a_request_joining_with_the_old_one() -> None:
    # base_url's setter empties the URL cache, but a thread that joined "/ping" to the old
    # base just before stores that join after the clear: client.get("/ping") then goes to
    # the old host for good (until 256 other URLs fill the cache).
    hosts: list[str] = []

    def handler(request: wirekit.Request) -> wirekit.Response:
        hosts.append(request.url.host)
        return wirekit.Response(200, content=b"ok")

    transport = wirekit.MockTransport(handler)
    with wirekit.Client(transport=transport, base_url="http://old.test") as client:
        sender = threading.Thread(target=client.get, args=(_SlowToStore("/ping"),))
        sender.start()
        time.sleep(0.2)  # the sender joined "/ping" to http://old.test and is storing it
        client.base_url = "http://new.test"
        sender.join(10)
        response = client.get("/ping")
    assert response.url.host == "new.test", hosts


# -- netrc read by threads starting together ------------------------------------------------


class _NeedsBasic(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        good = self.headers.get("Authorization", "").startswith("Basic ")
        _ok(self, 200 if good else 401)


def test_threads_starting_together_all_get_the_netrc_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NetrcLookup marks the file checked before it has parsed it: threads asking during
    # the parse (here a big netrc, a few tenths of a second) find no entries yet and send
    # their requests without the credentials netrc has for the host (401s).
    _no_proxy_environment(monkeypatch)
    netrc = tmp_path / "netrc"
    lines = [f"machine h{n}.example login u{n} password p{n}\n" for n in range(20000)]
    netrc.write_text("".join(lines) + "machine 127.0.0.1 login user password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    statuses: Counter[object] = Counter()
    with serving(_NeedsBasic) as port, wirekit.Client(timeout=10, retry=0) as client:
        url = f"http://127.0.0.1:{port}/"
        start = threading.Barrier(16)

        def work() -> None:
            start.wait(10)
            try:
                statuses[client.get(url).status_code] += 1
            except Exception as exc:  # collected for the assert
                statuses[repr(exc)] += 1

        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    assert statuses == Counter({200: 16})


# -- Digest nonce counts while the server changes its nonce ---------------------------------


class _DigestServer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    nonce = "n1"
    seen: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        header = self.headers.get("Authorization", "")
        nonce = re.search(r'nonce="([^"]*)"', header)
        nc = re.search(r"nc=([0-9a-f]{8})", header)
        if nonce and nc:
            self.seen.append((nonce.group(1), nc.group(1)))
        if nonce and nonce.group(1) == type(self).nonce:
            _ok(self)
            return
        self.send_response(401)
        stale = "true" if nonce else "false"
        self.send_header(
            "WWW-Authenticate",
            f'Digest realm="r", nonce="{type(self).nonce}", qop="auth", stale={stale}',
        )
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no")


class _LateCountLock:
    """DigestAuth's lock, taken late by one thread the second time (when it counts the
    nonce use): that thread was descheduled after reading the challenge."""

    def __init__(self, late: threading.Thread) -> None:
        self._lock = threading.Lock()
        self._late = late
        self._entries = 0

    def __enter__(self) -> bool:
        if threading.current_thread() is self._late:
            self._entries += 1
            if self._entries == 2:
                time.sleep(0.5)
        return self._lock.__enter__()

    def __exit__(self, *args: Any) -> None:
        self._lock.__exit__(*args)


def test_digest_never_sends_a_nonce_count_twice_when_the_nonce_changes_meanwhile() -> None:
    # Thread T reads the remembered challenge (nonce n1, nc 1 already used). Meanwhile the
    # server moves to n2: another request's 401 makes DigestAuth remember n2 and drop the
    # counts of n1. T then counts its use of n1 from zero and sends nc=00000001 with n1
    # again: a replay to a server that checks nc (RFC 7616 §3.4).
    _DigestServer.nonce = "n1"
    _DigestServer.seen = []
    auth = wirekit.DigestAuth("u", "p")
    with (
        serving(_DigestServer) as port,
        wirekit.Client(timeout=10, trust_env=False, retry=0, auth=auth) as client,
    ):
        url = f"http://127.0.0.1:{port}/"
        assert client.get(url).status_code == 200  # challenge n1 known, nc 1 used
        results: list[object] = []
        late = threading.Thread(target=lambda: results.append(client.get(url).status_code))
        auth._lock = _LateCountLock(late)  # type: ignore[assignment]
        late.start()
        time.sleep(0.2)  # the late thread has read the n1 challenge
        _DigestServer.nonce = "n2"
        assert client.get(url).status_code == 200
        late.join(10)
    assert results == [200]
    repeated = [pair for pair, n in Counter(_DigestServer.seen).items() if n > 1]
    assert repeated == [], _DigestServer.seen


# -- a streamed response closed by one thread as another reads its end ----------------------


def test_closing_a_response_another_thread_just_finished_reading_keeps_the_pool_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Thread A reads a streamed response to its end: its connection goes back to the pool
    # and is handed to the request W queued for it (max_connections=1); the body is marked
    # done only after. The main thread closes the response in between (a watchdog giving
    # up on the stream): it finds the body not done, so it discards the connection too.
    # The slot is given back twice: W's request fails with a bare KeyError(Origin) from the
    # pool's books, the open count goes to -1, and max_connections no longer holds.
    reader: list[threading.Thread] = []

    class _SlowHandOver(Signal):
        __slots__ = ()

        def set(self) -> None:
            super().set()
            if reader and threading.current_thread() is reader[0]:
                time.sleep(0.5)  # A descheduled as it hands the connection over

    monkeypatch.setattr(sync_pool, "Signal", _SlowHandOver)
    outcome: dict[str, object] = {}
    with KeepAliveServer(b"hello") as server:
        url = server.url + "/"
        limits = wirekit.Limits(max_connections=1)
        with wirekit.Client(timeout=5, trust_env=False, retry=0, limits=limits) as client:
            response = client.send(client.build_request("GET", url), stream=True)

            def queued() -> None:
                try:
                    outcome["queued"] = client.get(url).text
                except Exception as exc:  # collected for the assert
                    outcome["queued"] = repr(exc)

            def read() -> None:
                try:
                    outcome["read"] = response.read()
                except Exception as exc:  # collected for the assert
                    outcome["read"] = repr(exc)

            waiter = threading.Thread(target=queued)
            waiter.start()
            time.sleep(0.2)  # W waits in the pool's queue
            reader.append(threading.Thread(target=read))
            reader[0].start()
            time.sleep(0.2)  # A is handing the connection to W
            response.close()
            reader[0].join(10)
            waiter.join(10)
            transport = client.transport
            assert isinstance(transport, wirekit.HTTPTransport)
            counts = transport.connection_counts()
    assert outcome == {"read": b"hello", "queued": "hello"}
    assert counts == {"open": 1, "idle": 1}
