"""The cookie jar against RFC 6265 (and 6265bis where stricter), with a fake clock."""

from __future__ import annotations

import calendar
import json
import os
import stat
from pathlib import Path

import pytest

from tests.support.helpers import FIXED_NOW as NOW
from tests.support.helpers import Clock
from wirekit._models.cookies import (
    MAX_COOKIE_SIZE,
    MAX_COOKIES,
    MAX_COOKIES_PER_DOMAIN,
    Cookie,
    Cookies,
    default_path,
    is_public_suffix,
    parse_cookie_date,
)
from wirekit._models.headers import Headers
from wirekit._models.url import URL
from wirekit.errors import LocalProtocolError


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jar(clock: Clock) -> Cookies:
    return Cookies(clock=clock)


def receive(jar: Cookies, url: str, *set_cookies: str) -> None:
    jar.extract_cookies(url, Headers([("Set-Cookie", value) for value in set_cookies]))


# (request URL, Set-Cookie, URL asked for, expected Cookie header)
SCENARIOS = [
    # host-only: no Domain attribute, sent back only to the exact host
    ("http://example.com/", "a=1", "http://example.com/", "a=1"),
    ("http://example.com/", "a=1", "http://www.example.com/", None),
    # Domain attribute: host and subdomains (leading dot ignored)
    ("http://www.example.com/", "a=1; Domain=example.com", "http://x.example.com/", "a=1"),
    ("http://www.example.com/", "a=1; Domain=.EXAMPLE.com", "http://example.com/", "a=1"),
    ("http://www.example.com/", "a=1; Domain=example.com", "http://badexample.com/", None),
    # a cookie for a different domain is rejected (§5.3 step 6)
    ("http://example.com/", "a=1; Domain=other.com", "http://other.com/", None),
    ("http://example.com/", "a=1; Domain=www.example.com", "http://www.example.com/", None),
    # public suffixes are refused unless they are the exact host (§5.3 step 5)
    ("http://example.com/", "a=1; Domain=com", "http://other.com/", None),
    ("http://x.example.co.uk/", "a=1; Domain=co.uk", "http://y.co.uk/", None),
    ("http://foo.github.io/", "a=1; Domain=github.io", "http://bar.github.io/", None),
    ("http://localhost/", "a=1; Domain=localhost", "http://localhost/", "a=1"),
    # IP addresses only match exactly
    ("http://127.0.0.1/", "a=1", "http://127.0.0.1/", "a=1"),
    ("http://127.0.0.1/", "a=1; Domain=0.0.1", "http://127.0.0.1/", None),
    # default path is the directory of the request path (§5.1.4)
    ("http://h.test/dir/page", "a=1", "http://h.test/dir/other", "a=1"),
    ("http://h.test/dir/page", "a=1", "http://h.test/", None),
    ("http://h.test/dir/page", "a=1", "http://h.test/directory", None),
    ("http://h.test/page", "a=1", "http://h.test/", "a=1"),
    ("http://h.test/x", "a=1; Path=/p", "http://h.test/p/q", "a=1"),
    ("http://h.test/x", "a=1; Path=/p", "http://h.test/pq", None),
    ("http://h.test/d/x", "a=1; Path=relative", "http://h.test/d/y", "a=1"),
    ("http://h.test/d/x", "a=1; Path=relative", "http://h.test/e", None),
    # Secure: only stored from, and sent to, secure contexts (loopback counts as secure)
    ("https://h.test/", "a=1; Secure", "https://h.test/", "a=1"),
    ("https://h.test/", "a=1; Secure", "http://h.test/", None),
    ("http://h.test/", "a=1; Secure", "https://h.test/", None),
    ("http://localhost:8000/", "a=1; Secure", "http://localhost:8000/", "a=1"),
    ("http://127.0.0.1:8000/", "a=1; Secure", "http://127.0.0.1:9000/", "a=1"),
    # prefixes
    ("https://h.test/", "__Secure-a=1; Secure", "https://h.test/", "__Secure-a=1"),
    ("https://h.test/", "__Secure-a=1", "https://h.test/", None),
    ("https://h.test/", "__Host-a=1; Secure; Path=/", "https://h.test/", "__Host-a=1"),
    ("https://h.test/", "__Host-a=1; Secure", "https://h.test/", "__Host-a=1"),
    ("https://h.test/d/x", "__Host-a=1; Secure", "https://h.test/d/", None),
    ("https://w.h.test/", "__Host-a=1; Secure; Path=/; Domain=h.test", "https://w.h.test/", None),
    ("https://h.test/", "__host-a=1; Path=/", "https://h.test/", None),
    # malformed pairs are ignored (§5.2), attributes are case-insensitive
    ("http://h.test/", "no-equals-sign", "http://h.test/", None),
    ("http://h.test/", "=value-without-name", "http://h.test/", None),
    ("http://h.test/", " a = spaced ; PATH=/", "http://h.test/", "a=spaced"),
    ("http://h.test/", "a=1\x01", "http://h.test/", None),
    ("http://h.test/", "a=", "http://h.test/", "a="),
]


@pytest.mark.parametrize(("origin", "set_cookie", "target", "expected"), SCENARIOS)
def test_rfc6265_scenarios(
    jar: Cookies, origin: str, set_cookie: str, target: str, expected: str | None
) -> None:
    receive(jar, origin, set_cookie)
    assert jar.cookie_header(target) == expected


def test_host_only_flag_and_record_fields(jar: Cookies) -> None:
    receive(
        jar,
        "https://www.example.com/a/b",
        "sid=xyz; Secure; HttpOnly; SameSite=lax; Max-Age=60",
        "wide=1; Domain=example.com",
    )
    records = {c.name: c for c in jar}
    sid, wide = records["sid"], records["wide"]
    assert (sid.domain, sid.host_only, sid.path) == ("www.example.com", True, "/a")
    assert (sid.secure, sid.http_only, sid.same_site) == (True, True, "Lax")
    assert sid.expires == NOW + 60
    assert sid.creation_time == NOW
    assert (wide.domain, wide.host_only, wide.expires) == ("example.com", False, None)
    assert "xyz" not in repr(sid)


def test_max_age_wins_over_expires_and_expiry_is_enforced(jar: Cookies, clock: Clock) -> None:
    receive(jar, "http://h.test/", "a=1; Expires=Wed, 01 Jan 2098 00:00:00 GMT; Max-Age=10")
    assert jar.cookie_header("http://h.test/") == "a=1"
    clock.now += 11
    assert jar.cookie_header("http://h.test/") is None
    assert len(jar) == 0  # expired cookies are purged


def test_expires_in_the_past_or_max_age_zero_deletes(jar: Cookies) -> None:
    receive(jar, "http://h.test/", "a=1", "b=2")
    receive(jar, "http://h.test/", "a=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    receive(jar, "http://h.test/", "b=gone; Max-Age=0")
    assert jar.cookie_header("http://h.test/") is None


def test_bad_max_age_is_ignored_and_lifetime_is_capped(jar: Cookies) -> None:
    receive(jar, "http://h.test/", "a=1; Max-Age=12x", "b=1; Max-Age=999999999999")
    records = {c.name: c for c in jar}
    assert records["a"].expires is None
    assert records["b"].expires == NOW + 400 * 24 * 3600


def test_replacement_keeps_creation_time_and_ordering(jar: Cookies, clock: Clock) -> None:
    receive(jar, "http://h.test/", "first=1")
    clock.now += 1
    receive(jar, "http://h.test/", "second=2")
    clock.now += 1
    receive(jar, "http://h.test/a/b", "deep=3; Path=/a")
    receive(jar, "http://h.test/", "first=updated")
    # §5.4: longer paths first, then older creation first (replacement keeps the old time)
    assert jar.cookie_header("http://h.test/a/x") == "deep=3; first=updated; second=2"


def test_http_cannot_overwrite_a_secure_cookie(jar: Cookies) -> None:
    receive(jar, "https://h.test/", "sid=secure; Secure")
    receive(jar, "http://h.test/", "sid=attacker")
    assert jar.cookie_header("https://h.test/") == "sid=secure"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 09 Jun 2021 10:18:14 GMT", 1623233894.0),
        ("Wednesday, 09-Jun-21 10:18:14 GMT", 1623233894.0),
        ("Wed Jun  9 10:18:14 2021", 1623233894.0),
        ("09 Jun 69 10:18:14", float(calendar.timegm((2069, 6, 9, 10, 18, 14)))),
        ("09 Jun 70 10:18:14", float(calendar.timegm((1970, 6, 9, 10, 18, 14)))),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("31 Feb 2021 00:00:00", None),
        ("Wed, 09 Jun 2021", None),
        ("nonsense", None),
        ("09 Jun 1600 10:18:14", None),
        ("09 Jun 2021 24:00:00", None),
    ],
)
def test_cookie_date_parsing(text: str, expected: float | None) -> None:
    assert parse_cookie_date(text) == expected


def test_default_path_rules() -> None:
    assert default_path("") == "/"
    assert default_path("/") == "/"
    assert default_path("/a") == "/"
    assert default_path("/a/b") == "/a"
    assert default_path("/a/b/") == "/a/b"


def test_public_suffix_list() -> None:
    assert is_public_suffix("com")
    assert is_public_suffix("co.uk")
    assert is_public_suffix(".github.io")
    assert not is_public_suffix("example.com")
    assert not is_public_suffix("example.co.uk")


def test_manual_set_get_delete_clear(jar: Cookies) -> None:
    jar.set("everywhere", "1")
    jar.set("scoped", "2", domain="example.com", path="/api")
    jar["mapping"] = "3"
    assert jar.cookie_header("http://any.test/") == "everywhere=1; mapping=3"
    assert jar.cookie_header("http://sub.example.com/api/v1") == (
        "scoped=2; everywhere=1; mapping=3"
    )
    assert jar.get("scoped") == "2"
    assert jar.get("scoped", domain="other.test") is None
    assert jar.get("missing", "fallback") == "fallback"
    assert jar["mapping"] == "3"
    assert "scoped" in jar
    assert jar.to_dict() == {"everywhere": "1", "scoped": "2", "mapping": "3"}
    jar.delete("scoped", domain="other.test")
    assert "scoped" in jar
    del jar["scoped"]
    assert "scoped" not in jar
    with pytest.raises(KeyError):
        del jar["scoped"]
    with pytest.raises(KeyError):
        jar["scoped"]
    jar.set("x", "1", domain="a.test")
    jar.clear("a.test")
    assert jar.get("x") is None
    jar.clear()
    assert len(jar) == 0
    assert not jar


def test_get_prefers_the_most_specific_cookie(jar: Cookies, clock: Clock) -> None:
    jar.set("a", "root", domain="h.test", path="/")
    clock.now += 1
    jar.set("a", "deep", domain="h.test", path="/x/y")
    assert jar.get("a") == "deep"
    assert jar.get("a", path="/") == "root"


@pytest.mark.parametrize(("name", "value"), [("a;b", "1"), ("a", "x;y"), ("", "1"), ("a", "\r\n")])
def test_invalid_manual_cookie_is_refused(jar: Cookies, name: str, value: str) -> None:
    with pytest.raises(LocalProtocolError):
        jar.set(name, value)


def test_from_dict_and_copy(clock: Clock) -> None:
    jar = Cookies.from_dict({"a": "1", "b": "2"}, clock=clock, max_cookies=7)
    assert jar.cookie_header(URL("http://anywhere.test/deep/path")) == "a=1; b=2"
    assert jar.items() == [("a", "1"), ("b", "2")]
    copy = Cookies(jar)
    copy.set("c", "3")
    assert "c" not in jar
    assert copy.max_cookies == 7  # options are inherited by a copy
    assert next(c for c in copy if c.name == "c").creation_time == NOW  # and the clock


def test_limit_max_cookie_size(jar: Cookies) -> None:
    assert MAX_COOKIE_SIZE == 4096
    # name + value: 3 + 4094 = 4097 bytes (dropped), 2 + 4094 = 4096 (kept)
    receive(jar, "http://h.test/", "big=" + "x" * 4094, "ok=" + "x" * 4094)
    assert [c.name for c in jar] == ["ok"]
    small = Cookies(max_cookie_size=10)
    receive(small, "http://h.test/", "a=1234567890", "b=123456789")
    assert [c.name for c in small] == ["b"]


def test_limit_per_domain_drops_the_oldest(jar: Cookies, clock: Clock) -> None:
    assert MAX_COOKIES_PER_DOMAIN == 50
    for i in range(MAX_COOKIES_PER_DOMAIN + 5):
        clock.now += 1
        receive(jar, "http://h.test/", f"c{i}=v")
    receive(jar, "http://other.test/", "kept=v")
    names = [c.name for c in jar if c.domain == "h.test"]
    assert len(names) == MAX_COOKIES_PER_DOMAIN
    assert "c0" not in names
    assert "c4" not in names
    assert "c5" in names
    assert "c54" in names
    assert jar.get("kept") == "v"


def test_limit_total_cookies(clock: Clock) -> None:
    assert MAX_COOKIES == 3000
    jar = Cookies(clock=clock, max_cookies=10, max_cookies_per_domain=3)
    for i in range(12):
        clock.now += 1
        receive(jar, f"http://d{i}.test/", f"c{i}=v")
    assert len(jar) == 10
    assert {c.name for c in jar} == {f"c{i}" for i in range(2, 12)}


def test_save_and_load_round_trip(tmp_path: Path, jar: Cookies, clock: Clock) -> None:
    receive(
        jar,
        "https://www.example.com/app/page",
        "sid=1; Secure; HttpOnly; SameSite=Strict; Max-Age=3600",
        "wide=2; Domain=example.com; Path=/; Expires=Wed, 01 Jan 2098 00:00:00 GMT",
        "session=3",
    )
    file = tmp_path / "cookies.json"
    jar.save(file)
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    document = json.loads(file.read_text())
    assert document["format"] == "wirekit-cookies"
    assert document["version"] == 1
    assert sorted(c["name"] for c in document["cookies"]) == ["sid", "wide"]
    assert not [p for p in tmp_path.iterdir() if p.name != "cookies.json"]  # no temp left

    loaded = Cookies(clock=clock)
    loaded.load(file)
    assert sorted(loaded, key=lambda c: c.name) == sorted(
        (c for c in jar if c.name != "session"), key=lambda c: c.name
    )
    assert loaded.cookie_header("https://www.example.com/app/x") == "sid=1; wide=2"

    jar.save(file, include_session=True)
    everything = Cookies(clock=clock)
    everything.load(file)
    assert {c.name for c in everything} == {"sid", "wide", "session"}

    clock.now += 7200  # sid has expired by now: not loaded
    later = Cookies(clock=clock)
    later.load(file)
    assert {c.name for c in later} == {"wide", "session"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ('{"format": "other", "version": 1}', "not a wirekit-cookies version 1 file"),
        ('{"format": "wirekit-cookies", "version": 1, "cookies": [{"nam": 1}]}', "bad record"),
    ],
)
def test_load_rejects_bad_files(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "bad.json"
    file.write_text(content)
    with pytest.raises(ValueError, match=message):
        Cookies().load(file)


def test_cookie_record_defaults() -> None:
    cookie = Cookie("a", "1", creation_time=5.0)
    assert not cookie.persistent
    assert not cookie.is_expired(10**12)
