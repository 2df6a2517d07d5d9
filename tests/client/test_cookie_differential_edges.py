"""The cookie jar against http.cookiejar and RFC 6265: edge cases found by a differential
review (each failed before its fix)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import wirekit
from tests.server.support import running
from tests.support.helpers import Clock
from wirekit import Cookies
from wirekit._models.headers import Headers


async def _scripted_app(scope, receive, send):  # type: ignore[no-untyped-def]
    """``/set``: answers with a Set-Cookie whose name has an inner space (accepted by
    http.cookiejar and by browsers, and by wirekit's own parser)."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain")]
    if scope["path"] == "/set":
        headers += [
            (b"set-cookie", b"my pref=dark; Max-Age=3600"),
            (b"set-cookie", b"sid=abc; Max-Age=3600"),
        ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def site() -> Iterator[str]:
    with running(_scripted_app) as server:
        yield f"http://127.0.0.1:{server.port}"


def test_saved_jar_loads_back_when_a_server_cookie_name_has_a_space(
    site: str, tmp_path: Path
) -> None:
    # The jar stores "my pref" from a real response, save() writes it, and load() then
    # refuses the whole file ("bad record: invalid cookie name"): every cookie is lost.
    target = tmp_path / "cookies.json"
    with wirekit.Client(retry=0, trust_env=False) as client:
        client.get(f"{site}/set")
        stored = sorted((c.name, c.value) for c in client.cookies)
        assert ("sid", "abc") in stored
        client.cookies.save(target)
    restored = Cookies()
    restored.load(target)
    assert sorted((c.name, c.value) for c in restored) == stored


def test_http_redirect_cannot_replace_a_secure_cookie_via_request_cookies() -> None:
    # RFC 6265bis §5.7: a Set-Cookie over plain http may not shadow a Secure cookie. The
    # client jar obeys, but a request with cookies= copies every Set-Cookie into its own
    # jar too, and that jar's cookie wins by name on the next hop: the https page gets the
    # value a network attacker injected over http instead of the real Secure session.
    seen: list[tuple[str, str | None]] = []

    def handler(request: wirekit.Request) -> wirekit.Response:
        seen.append((str(request.url), request.headers.get("cookie")))
        url = str(request.url)
        if url == "https://bank.test/login":
            return wirekit.Response(200, headers=[("Set-Cookie", "sid=real; Secure; Path=/")])
        if url == "http://bank.test/":
            return wirekit.Response(
                302,
                headers=[
                    ("Location", "https://bank.test/account"),
                    ("Set-Cookie", "sid=attacker; Path=/"),
                ],
            )
        return wirekit.Response(200)

    transport = wirekit.MockTransport(handler)
    with wirekit.Client(transport=transport, retry=0, trust_env=False) as client:
        client.get("https://bank.test/login")
        seen.clear()
        client.get("http://bank.test/", cookies={"lang": "en"})
    assert seen[-1][0] == "https://bank.test/account"
    cookie = seen[-1][1] or ""
    assert "sid=attacker" not in cookie
    assert "sid=real" in cookie


def test_an_expired_secure_cookie_does_not_block_a_new_plain_cookie() -> None:
    # RFC 6265 §5.3: expired cookies are gone. The jar keeps them until a Cookie header is
    # built, and meanwhile the 6265bis "http may not shadow a Secure cookie" check still
    # counts them: a plain cookie of the same name is silently dropped.
    clock = Clock()
    jar = Cookies(clock=clock)
    jar.extract_cookies("https://h.test/", Headers({"set-cookie": "pref=1; Secure; Max-Age=10"}))
    clock.now += 60
    jar.extract_cookies("http://h.test/", Headers({"set-cookie": "pref=2"}))
    assert jar.cookie_header("http://h.test/") == "pref=2"
