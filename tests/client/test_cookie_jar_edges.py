"""The client's cookie jar at its edges (RFC 6265), found by a review: each test failed before
its fix. Real loopback servers."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

import wirekit
from tests.server.support import running
from tests.support.helpers import Clock
from wirekit import Cookies


async def _set_cookie_app(scope, receive, send):  # type: ignore[no-untyped-def]
    """Answers with one Set-Cookie per ``set=`` query value; echoes the Cookie header."""
    if scope["type"] != "http":
        return
    query = parse_qs(scope["query_string"].decode(), keep_blank_values=True)
    headers = [(b"content-type", b"text/plain")]
    headers += [(b"set-cookie", value.encode("latin-1")) for value in query.get("set", [])]
    cookie = b"; ".join(v for k, v in scope["headers"] if k == b"cookie") or b"<none>"
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": cookie})


@pytest.fixture
def site() -> Iterator[str]:
    with running(_set_cookie_app) as server:
        yield f"http://127.0.0.1:{server.port}"


def test_to_dict_after_a_cookie_expired(site: str) -> None:
    # A Max-Age cookie that has run out stays in the store until a request purges it;
    # to_dict() then looks it up with get(), which (rightly) finds nothing: KeyError.
    clock = Clock()
    jar = Cookies(clock=clock)
    with wirekit.Client(cookies=jar, retry=0, trust_env=False) as client:
        client.get(f"{site}/", params={"set": ["short=1; Max-Age=10", "long=2"]})
        assert client.cookies.to_dict() == {"short": "1", "long": "2"}
        clock.now += 60
        assert client.cookies.to_dict() == {"long": "2"}


_COUNT = itertools.count()


async def _new_cookie_each_time_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    header = f"c{next(_COUNT)}=v; Path=/".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"set-cookie", header)]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_to_dict_while_other_threads_refresh_the_jar() -> None:
    # Past 50 cookies per domain every response evicts the oldest; to_dict() collects the
    # names without the jar's lock and then looks each one up: an evicted name is a KeyError
    # in the reader's hands although the jar is consistent.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    errors: list[str] = []
    try:
        with (
            running(_new_cookie_each_time_app) as server,
            wirekit.Client(retry=0, trust_env=False) as client,
        ):
            url = f"http://127.0.0.1:{server.port}/"
            for _ in range(55):
                client.get(url)
            stop = threading.Event()

            def writer() -> None:
                for _ in range(300):
                    if stop.is_set():
                        return
                    client.get(url)

            threads = [threading.Thread(target=writer) for _ in range(3)]
            for thread in threads:
                thread.start()
            ends = time.monotonic() + 3
            try:
                while time.monotonic() < ends and any(t.is_alive() for t in threads):
                    try:
                        client.cookies.to_dict()
                    except KeyError as exc:
                        errors.append(repr(exc))
                        break
            finally:
                stop.set()
                for thread in threads:
                    thread.join(10)
    finally:
        sys.setswitchinterval(old)
    assert errors == []


def test_eviction_keeps_the_recently_refreshed_session_cookie(site: str) -> None:
    # RFC 6265 §5.3: among cookies of equal removal priority the user agent MUST evict the
    # one with the earliest last-access date. A session cookie the server just refreshed
    # (new last-access time; only its creation time is kept, step 11.3) is evicted here
    # because it was created first, logging the user out.
    clock = Clock()
    jar = Cookies(clock=clock, max_cookies_per_domain=5)
    with wirekit.Client(cookies=jar, retry=0, trust_env=False) as client:
        client.get(f"{site}/", params={"set": "sid=old; Path=/"})
        for index in range(4):
            clock.now += 1
            client.get(f"{site}/", params={"set": f"pref{index}=x; Path=/prefs"})
        clock.now += 1
        client.get(f"{site}/", params={"set": "sid=new; Path=/"})  # refreshed, used now
        clock.now += 1
        client.get(f"{site}/", params={"set": "pref4=x; Path=/prefs"})  # sixth cookie
        assert client.cookies.get("sid") == "new"
        assert client.get(f"{site}/app").text == "sid=new"


async def _utf8_cookie_app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    value = "é" * 1500  # 3000 bytes of UTF-8 on the wire
    headers = [(b"set-cookie", f"name={value}; Path=/".encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


def test_size_limit_counts_the_bytes_on_the_wire() -> None:
    # name + value is 3004 bytes as sent, under the documented 4096-byte limit, but the
    # header text (one char per byte) is re-encoded as UTF-8 before measuring: 6004 "bytes",
    # and the cookie is silently dropped.
    with running(_utf8_cookie_app) as server, wirekit.Client(retry=0, trust_env=False) as client:
        response = client.get(f"http://127.0.0.1:{server.port}/")
        (line,) = response.headers.get_list("set-cookie")
        assert len(line.partition(";")[0]) == 3005  # the wire bytes, one char each
        assert "name" in client.cookies
