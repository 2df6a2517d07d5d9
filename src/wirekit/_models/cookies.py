"""An RFC 6265 cookie jar: store ``Set-Cookie`` answers, build ``Cookie`` request headers.

Sans-IO and clock-injectable: the client feeds it URLs and headers. Where RFC 6265bis
(the browsers' current practice) is stricter than RFC 6265, the stricter rule is followed
and the comment says so.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import idna

from wirekit._forks import renew_lock_at_fork
from wirekit._models.headers import Headers
from wirekit._models.url import URL
from wirekit.errors import LocalProtocolError

if TYPE_CHECKING:
    import http.cookiejar

__all__ = [
    "MAX_COOKIES",
    "MAX_COOKIES_PER_DOMAIN",
    "MAX_COOKIE_AGE",
    "MAX_COOKIE_SIZE",
    "Cookie",
    "Cookies",
    "is_public_suffix",
]

#: Cookies kept per domain: RFC 6265 §6.1 asks for at least 50, as browsers keep.
MAX_COOKIES_PER_DOMAIN = 50
#: Cookies kept in all: RFC 6265 §6.1 asks for at least 3000.
MAX_COOKIES = 3000
#: Largest name + value, in bytes: RFC 6265 §6.1's 4096; bigger cookies are dropped whole.
MAX_COOKIE_SIZE = 4096
#: Longest lifetime honoured, in seconds: RFC 6265bis §5.5 caps Expires/Max-Age at 400 days.
MAX_COOKIE_AGE = 400 * 24 * 3600

_FILE_FORMAT = "wirekit-cookies"
_FILE_VERSION = 1

# A small built-in public suffix list (no package, no network): every single-label name
# (a TLD, like the PSL's "*" rule) plus the common multi-label suffixes and hosting
# platforms below. A full list (publicsuffix.org) would catch more; this covers the
# registrations that matter most for cookie scoping mistakes.
_SUFFIX_TEXT = """
    co.uk org.uk ac.uk gov.uk ltd.uk plc.uk me.uk net.uk sch.uk nhs.uk police.uk
    com.au net.au org.au edu.au gov.au id.au co.nz org.nz net.nz govt.nz ac.nz
    co.jp ne.jp or.jp ac.jp go.jp gr.jp ed.jp co.kr or.kr ne.kr go.kr ac.kr
    com.cn net.cn org.cn gov.cn edu.cn ac.cn com.tw net.tw org.tw edu.tw gov.tw idv.tw
    com.hk net.hk org.hk edu.hk gov.hk com.sg net.sg org.sg edu.sg gov.sg
    co.in net.in org.in gen.in firm.in ind.in ac.in gov.in com.br net.br org.br gov.br
    com.mx org.mx gob.mx com.ar org.ar gob.ar com.tr org.tr gov.tr co.za org.za gov.za
    co.il org.il ac.il com.ru org.ru net.ru com.ua org.ua kiev.ua com.pl net.pl org.pl
    co.id or.id ac.id go.id com.my org.my gov.my com.ph org.ph gov.ph com.vn gov.vn
    co.th or.th ac.th go.th com.pk org.pk com.eg com.sa com.ng co.ke
    github.io gitlab.io herokuapp.com herokussl.com blogspot.com appspot.com
    cloudfront.net azurewebsites.net azureedge.net cloudapp.net netlify.app vercel.app
    pages.dev workers.dev web.app firebaseapp.com s3.amazonaws.com elasticbeanstalk.com
    fly.dev onrender.com glitch.me repl.co ngrok.io ngrok.app readthedocs.io
"""
_MULTI_LABEL_SUFFIXES = frozenset(_SUFFIX_TEXT.split())

# RFC 6265bis §5.6: names and values with control characters (other than tab) are refused.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# RFC 6265 §5.1.1 date parsing: delimiters and the four kinds of token.
_DATE_DELIMITERS = re.compile(r"[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
_TIME = re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\D|$)")
_DAY = re.compile(r"(\d{1,2})(?:\D|$)")
_YEAR = re.compile(r"(\d{2,4})(?:\D|$)")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def is_public_suffix(domain: str) -> bool:
    """True when no one may set cookies for all of ``domain`` (``com``, ``co.uk``...)."""
    domain = domain.strip(".").lower()
    return "." not in domain or domain in _MULTI_LABEL_SUFFIXES


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def domain_match(host: str, domain: str) -> bool:
    """RFC 6265 §5.1.3: ``host`` equals ``domain`` or is a name under it (never an IP)."""
    if host == domain:
        return True
    return host.endswith("." + domain) and not _is_ip(host)


def path_match(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 §5.1.4."""
    if request_path == cookie_path:
        return True
    if not request_path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"


def default_path(request_path: str) -> str:
    """RFC 6265 §5.1.4: the request path up to (not including) its last "/"."""
    if not request_path.startswith("/") or request_path.count("/") == 1:
        return "/"
    return request_path[: request_path.rfind("/")]


def is_secure_context(url: URL) -> bool:
    """https/wss, or a loopback host: chosen behaviour, as browsers treat
    ``http://localhost`` and ``http://127.0.0.1`` as potentially trustworthy origins
    (W3C Secure Contexts §3.2), so Secure cookies work against local development servers."""
    if url.scheme in ("https", "wss"):
        return True
    host = url.host
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_cookie_date(text: str) -> float | None:
    """RFC 6265 §5.1.1: a cookie date as a UTC timestamp, or None when it does not parse."""
    found_time: tuple[int, int, int] | None = None
    day: int | None = None
    month: int | None = None
    year: int | None = None
    for token in _DATE_DELIMITERS.split(text):
        if not token:
            continue
        if found_time is None and (match := _TIME.match(token)):
            found_time = (int(match[1]), int(match[2]), int(match[3]))
        elif day is None and (match := _DAY.match(token)):
            day = int(match[1])
        elif month is None and token[:3].lower() in _MONTHS:
            month = _MONTHS.index(token[:3].lower()) + 1
        elif year is None and (match := _YEAR.match(token)):
            year = int(match[1])
    if found_time is None or day is None or month is None or year is None:
        return None
    if 70 <= year <= 99:
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    hour, minute, second = found_time
    if not 1 <= day <= 31 or year < 1601 or hour > 23 or minute > 59 or second > 59:
        return None
    import calendar  # on demand: only cookies with Expires need it

    if day > calendar.monthrange(year, month)[1]:
        return None
    return float(calendar.timegm((year, month, day, hour, minute, second)))


@dataclass(slots=True)
class Cookie:
    """One stored cookie (RFC 6265 §5.3's record). ``expires`` is a UTC timestamp, or None
    for a session cookie; ``domain`` ``""`` means a cookie set by the user for every host."""

    name: str
    value: str
    domain: str = ""
    path: str = "/"
    expires: float | None = None
    secure: bool = False
    http_only: bool = False
    same_site: str | None = None
    host_only: bool = False
    creation_time: float = field(default_factory=time.time)
    #: When the cookie was last stored or sent (RFC 6265 §5.3's last-access-time): the
    #: least recently used go first when a limit is reached. Not written to cookie files.
    last_access: float = field(default=0.0, compare=False)

    def __post_init__(self) -> None:
        if not self.last_access:
            self.last_access = self.creation_time

    @property
    def persistent(self) -> bool:
        return self.expires is not None

    def is_expired(self, now: float) -> bool:
        return self.expires is not None and self.expires <= now

    def __repr__(self) -> str:
        # Values are often session secrets: keep them out of logs and tracebacks.
        where = f"{self.domain or '*'}{self.path}"
        return f"<Cookie {self.name}=[hidden] for {where}>"


def _wire_length(text: str) -> int:
    """Bytes ``text`` takes in a header: header text is latin-1 (a character per byte); a
    value set by hand outside it goes out as UTF-8."""
    try:
        return len(text.encode("latin-1"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8"))


def _check_stored(name: str, value: str) -> None:
    """What a jar file may hold: anything a Set-Cookie line gives (``_parse_set_cookie``)
    and ``save()`` writes, so a saved jar always loads back (a name may hold a space)."""
    if not name or _CONTROL.search(name) or "=" in name or ";" in name:
        raise LocalProtocolError(f"invalid cookie name {name!r}")
    if _CONTROL.search(value) or ";" in value:
        raise LocalProtocolError(f"invalid value for cookie {name!r}: no ';' or control characters")


def is_stdlib_jar(value: object) -> bool:
    """``value`` is an ``http.cookiejar.CookieJar`` (requests' jar is one), without importing
    that module (30 ms): whoever made such a jar has imported it."""
    stdlib = sys.modules.get("http.cookiejar")
    return stdlib is not None and isinstance(value, stdlib.CookieJar)


def _from_stdlib(cookie: http.cookiejar.Cookie, now: float) -> Cookie:
    """A stdlib cookie (requests' jar, http.cookiejar) as a record of this jar."""
    value = cookie.value or ""
    _check_name_value(cookie.name, value)
    http_only = any(key.lower() == "httponly" for key in getattr(cookie, "_rest", {}))
    same_site = cookie.get_nonstandard_attr("SameSite") or cookie.get_nonstandard_attr("samesite")
    domain = cookie.domain.lstrip(".").lower()
    return Cookie(
        cookie.name,
        value,
        domain=domain,
        path=cookie.path or "/",
        expires=None if cookie.expires is None else float(cookie.expires),
        secure=bool(cookie.secure),
        http_only=http_only,
        same_site=same_site,
        # Set by a server without a Domain attribute: that host alone (RFC 6265 §5.3).
        host_only=bool(domain) and not cookie.domain_specified,
        creation_time=now,
    )


def _check_name_value(name: str, value: str) -> None:
    """What ``set()`` takes: a stored cookie's rules, and no space or tab in the name."""
    if " " in name or "\t" in name:
        raise LocalProtocolError(f"invalid cookie name {name!r}")
    _check_stored(name, value)


#: What a jar, and ``cookies=``, is built from.
CookieTypes: TypeAlias = (
    "Cookies | Mapping[str, str] | http.cookiejar.CookieJar | Iterable[Cookie]"
    " | Iterable[tuple[str, str]] | None"
)


class Cookies:
    """A cookie jar. Iterating gives :class:`Cookie` records; ``jar["name"]`` a value.

    >>> jar = Cookies({"theme": "dark"})
    >>> jar.extract_cookies("https://example.com/a/b", Headers({"set-cookie": "sid=1; Secure"}))
    >>> jar.cookie_header("https://example.com/a/x")
    'sid=1; theme=dark'
    >>> jar.cookie_header("http://example.com/a/x")  # Secure: not over plain http
    'theme=dark'

    Limits (excess is dropped, oldest first, as RFC 6265 §5.3 step 12 suggests):
    ``max_cookies_per_domain`` (50), ``max_cookies`` (3000), ``max_cookie_size`` (4096 bytes
    of name + value: bigger cookies are ignored on arrival).
    """

    def __init__(
        self,
        cookies: CookieTypes = None,
        *,
        clock: Callable[[], float] | None = None,
        max_cookies: int | None = None,
        max_cookies_per_domain: int | None = None,
        max_cookie_size: int | None = None,
    ) -> None:
        # Options not given are inherited when copying a jar (Cookies(other_jar)), else the
        # documented defaults apply.
        template = cookies if isinstance(cookies, Cookies) else None
        self._clock: Callable[[], float] = clock or (
            template._clock if template is not None else time.time
        )
        self.max_cookies: int = max_cookies or (
            template.max_cookies if template is not None else MAX_COOKIES
        )
        self.max_cookies_per_domain: int = max_cookies_per_domain or (
            template.max_cookies_per_domain if template is not None else MAX_COOKIES_PER_DOMAIN
        )
        self.max_cookie_size: int = max_cookie_size or (
            template.max_cookie_size if template is not None else MAX_COOKIE_SIZE
        )
        # Keyed by RFC 6265 §5.3 step 11's identity: (domain, path, name).
        self._store: dict[tuple[str, str, str], Cookie] = {}
        # A Client's jar is shared by its threads: every change of the store, and every
        # walk over it that may meet one, holds this (reentrant: _add inside load...).
        self._lock = threading.RLock()
        renew_lock_at_fork(self, threading.RLock)
        if cookies is None:
            return
        if isinstance(cookies, Mapping) and not is_stdlib_jar(cookies):
            for name, value in cookies.items():
                self.set(name, value)
            return
        # Cookie records (another jar's), a stdlib CookieJar (requests' jar, a
        # MozillaCookieJar loaded from a file: each cookie keeps its scope), or (name, value)
        # pairs as ``cookies=`` takes them on a request.
        stdlib = sys.modules.get("http.cookiejar")  # imported by whoever made such a jar
        for item in cookies:
            if isinstance(item, Cookie):
                self._store[(item.domain, item.path, item.name)] = replace(item)
            elif stdlib is not None and isinstance(item, stdlib.Cookie):
                self._add(_from_stdlib(item, self._clock()))
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                self.set(*item)
            else:
                raise TypeError(
                    "cookies= takes a dict, a Cookies jar, an http.cookiejar.CookieJar or "
                    f"(name, value) pairs, not a sequence of {type(item).__name__}"
                )

    @classmethod
    def from_dict(cls, cookies: Mapping[str, str], **options: Any) -> Cookies:
        """A jar holding ``name: value`` pairs sent to every host (domain ``""``, path "/")."""
        return cls(cookies, **options)

    # -- direct access -------------------------------------------------------------------
    def set(
        self, name: str, value: str, *, domain: str = "", path: str = "/", host_only: bool = False
    ) -> None:
        """Store a cookie by hand. ``domain=""`` (the default) sends it to every host;
        a named domain sends it to that host and its subdomains, or with ``host_only=True``
        to that host alone."""
        _check_name_value(name, value)
        domain = domain.lstrip(".").lower()
        cookie = Cookie(
            name,
            value,
            domain=domain,
            path=path,
            host_only=host_only and bool(domain),
            creation_time=self._clock(),
        )
        self._add(cookie)

    def __getstate__(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in self.__dict__ if name != "_lock"}
        state["_store"] = dict(self._store)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        renew_lock_at_fork(self, threading.RLock)

    def _matching(self, name: str, domain: str | None, path: str | None) -> list[Cookie]:
        if domain is not None:
            domain = domain.lstrip(".").lower()
        return [
            c
            for c in list(self._store.values())
            if c.name == name
            and (domain is None or c.domain == domain)
            and (path is None or c.path == path)
        ]

    def get(
        self,
        name: str,
        default: str | None = None,
        *,
        domain: str | None = None,
        path: str | None = None,
    ) -> str | None:
        """The value of cookie ``name``; when several match, the one with the longest path,
        then the newest (the one a request would list first)."""
        now = self._clock()
        with self._lock:
            found = [c for c in self._matching(name, domain, path) if not c.is_expired(now)]
        if not found:
            return default
        found.sort(key=lambda c: (-len(c.path), -c.creation_time))
        return found[0].value

    def delete(self, name: str, *, domain: str | None = None, path: str | None = None) -> None:
        """Remove every cookie called ``name`` (narrowed by domain/path when given)."""
        with self._lock:
            for cookie in self._matching(name, domain, path):
                del self._store[(cookie.domain, cookie.path, cookie.name)]

    def clear(self, domain: str | None = None) -> None:
        """Remove all cookies, or only those stored for ``domain``."""
        with self._lock:
            if domain is None:
                self._store.clear()
                return
            domain = domain.lstrip(".").lower()
            self._store = {k: c for k, c in list(self._store.items()) if c.domain != domain}

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        if not self._matching(name, None, None):
            raise KeyError(name)
        self.delete(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def stored(self) -> int:
        """Cookies held, expired ones not yet purged included: a test that costs no clock
        read and no copy (``bool(jar)``, which leaves expired ones out, costs both)."""
        return len(self._store)

    def _live(self) -> list[Cookie]:
        now = self._clock()
        with self._lock:
            return [c for c in self._store.values() if not c.is_expired(now)]

    def __iter__(self) -> Iterator[Cookie]:
        return iter(self._live())

    def __len__(self) -> int:
        return len(self._live())

    def __bool__(self) -> bool:
        return bool(self._live())

    def items(self) -> list[tuple[str, str]]:
        """``(name, value)`` of every live cookie, as stored (a name may repeat)."""
        now = self._clock()
        return [(c.name, c.value) for c in list(self._store.values()) if not c.is_expired(now)]

    def to_dict(self) -> dict[str, str]:
        """``name: value`` of every live cookie (for one name, the one ``get`` returns)."""
        # One pass over a snapshot: looking each name up again could miss a cookie that
        # expired, or that another thread's response evicted, in between (KeyError).
        best: dict[str, Cookie] = {}
        for cookie in self._live():
            kept = best.get(cookie.name)
            if kept is None or (len(cookie.path), cookie.creation_time) > (
                len(kept.path),
                kept.creation_time,
            ):
                best[cookie.name] = cookie
        return {name: cookie.value for name, cookie in best.items()}

    def __repr__(self) -> str:
        names = ", ".join(f"{c.name}@{c.domain or '*'}{c.path}" for c in list(self._store.values()))
        return f"<Cookies [{names}]>"

    # -- storing (RFC 6265 §5.3) ---------------------------------------------------------
    def _add(self, cookie: Cookie) -> None:
        with self._lock:
            self._add_locked(cookie)

    def _add_locked(self, cookie: Cookie) -> None:
        key = (cookie.domain, cookie.path, cookie.name)
        store = self._store
        old = store.get(key)
        now = self._clock()
        if old is not None and not old.is_expired(now):
            # §5.3 step 11.3. (An expired one is gone already, §5.3: its time is not kept.)
            cookie.creation_time = old.creation_time
        cookie.last_access = now  # §5.3 step 2 (a refreshed cookie is in use)
        if cookie.is_expired(now):
            # An expiry in the past deletes (§5.3 step 11.4 and the Max-Age=0 idiom).
            store.pop(key, None)
            return
        # Replaced in place: readers that do not lock (get, in) never find it missing, as
        # they did between a pop and the new insert.
        store[key] = cookie
        self._evict(cookie.domain)

    def _evict(self, domain: str) -> None:
        now = self._clock()
        same_domain = [c for c in list(self._store.values()) if c.domain == domain]
        if len(same_domain) > self.max_cookies_per_domain:
            self._drop(same_domain, len(same_domain) - self.max_cookies_per_domain, now)
        if len(self._store) > self.max_cookies:
            self._drop(list(self._store.values()), len(self._store) - self.max_cookies, now)

    def _drop(self, candidates: list[Cookie], count: int, now: float) -> None:
        # Expired cookies go first, then the least recently used (§5.3 step 12).
        candidates.sort(key=lambda c: (not c.is_expired(now), c.last_access))
        for cookie in candidates[:count]:
            del self._store[(cookie.domain, cookie.path, cookie.name)]

    def extract_cookies(
        self,
        request_url: URL | str,
        response_headers: Headers | Any,
        *,
        known_names_only: bool = False,
    ) -> None:
        """Store every acceptable ``Set-Cookie`` of a response to ``request_url``.

        ``known_names_only``: only cookies whose name the jar holds already (a request's
        own ``cookies=`` jar follows what the server rotates or deletes, nothing more)."""
        url = request_url if isinstance(request_url, URL) else URL(request_url)
        headers = (
            response_headers if isinstance(response_headers, Headers) else Headers(response_headers)
        )
        known: set[str] | None = None
        if known_names_only:
            with self._lock:
                known = {stored.name for stored in self._store.values()}
        for line in headers.get_list("set-cookie"):
            cookie = self._parse_set_cookie(line, url)
            if cookie is not None and (known is None or cookie.name in known):
                self._add(cookie)

    def _parse_set_cookie(self, line: str, url: URL) -> Cookie | None:
        """RFC 6265 §5.2 parsing and §5.3 storage checks; None means "ignore it"."""
        now = self._clock()
        pair, *attributes = line.split(";")
        if "=" not in pair:
            return None  # §5.2 step 2 (RFC 6265): no "=", no cookie
        name, _, value = pair.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not name or _CONTROL.search(name) or _CONTROL.search(value):
            return None
        if _wire_length(name) + _wire_length(value) > self.max_cookie_size:
            return None  # limit max_cookie_size: dropped whole, as browsers do
        expires: float | None = None
        max_age: float | None = None
        domain_attribute: str | None = None
        path: str | None = None
        secure = http_only = False
        same_site: str | None = None
        for attribute in attributes:
            key, _, attribute_value = attribute.partition("=")
            key, attribute_value = key.strip(" \t").lower(), attribute_value.strip(" \t")
            if key == "expires":
                parsed = parse_cookie_date(attribute_value)
                if parsed is not None:
                    expires = parsed
            elif key == "max-age":
                # §5.2.2: an optional "-" then digits; anything else ignores the attribute.
                digits = attribute_value[1:] if attribute_value.startswith("-") else attribute_value
                if digits.isascii() and digits.isdigit():
                    seconds = int(attribute_value)
                    max_age = now + min(seconds, MAX_COOKIE_AGE) if seconds > 0 else 0.0
            elif key == "domain":
                if attribute_value:
                    domain_attribute = attribute_value.lstrip(".").lower()
            elif key == "path":
                path = attribute_value if attribute_value.startswith("/") else None
            elif key == "secure":
                secure = True
            elif key == "httponly":
                http_only = True
            elif key == "samesite":
                lowered = attribute_value.lower()
                if lowered in ("strict", "lax", "none"):
                    same_site = lowered.capitalize()
        if max_age is not None:
            expires = max_age  # §5.3 step 3: Max-Age wins over Expires
        elif expires is not None:
            expires = min(expires, now + MAX_COOKIE_AGE)

        host = url.host
        if domain_attribute is not None and not domain_attribute.isascii():
            try:
                domain_attribute = idna.encode(domain_attribute, uts46=True).decode("ascii")
            except idna.IDNAError:
                return None
        if domain_attribute is not None and is_public_suffix(domain_attribute):
            # §5.3 step 5: a public suffix is only allowed as the exact host (host-only).
            if domain_attribute != host:
                return None
            domain_attribute = None
        if domain_attribute is not None:
            if not domain_match(host, domain_attribute):
                return None  # §5.3 step 6: a cookie for some other site
            domain, host_only = domain_attribute, False
        else:
            domain, host_only = host, True
        request_path = url.raw_path.partition("?")[0]
        path = path or default_path(request_path)

        secure_origin = is_secure_context(url)
        if secure and not secure_origin:
            return None  # RFC 6265bis §5.6 step 8: Secure only from a secure origin
        # RFC 6265bis §4.1.3 prefixes, compared case-insensitively as bis requires.
        lowered_name = name.lower()
        if lowered_name.startswith("__secure-") and not secure:
            return None
        if lowered_name.startswith("__host-") and (not secure or not host_only or path != "/"):
            return None
        if not secure_origin and self._shadows_secure(name, domain, path):
            return None  # RFC 6265bis §5.6 step 16: http may not overwrite a Secure cookie
        return Cookie(
            name,
            value,
            domain=domain,
            path=path,
            expires=expires,
            secure=secure,
            http_only=http_only,
            same_site=same_site,
            host_only=host_only,
            creation_time=now,
        )

    def _shadows_secure(self, name: str, domain: str, path: str) -> bool:
        now = self._clock()
        return any(
            c.secure
            and not c.is_expired(now)  # §5.3: an expired cookie is gone already
            and c.name == name
            and (domain_match(domain, c.domain) or domain_match(c.domain, domain))
            and path_match(path, c.path)
            for c in list(self._store.values())
        )

    # -- sending (RFC 6265 §5.4) ---------------------------------------------------------
    def cookie_header(self, request_url: URL | str, *, extra: Cookies | None = None) -> str | None:
        """The ``Cookie`` header value for a request to ``request_url``, or None.

        ``extra``: a second jar (a request's own ``cookies=``) whose matching cookies are
        sent too, each in place of this jar's cookie of the same name."""
        url = request_url if isinstance(request_url, URL) else URL(request_url)
        with self._lock:
            chosen = self._chosen(url)
        if extra is not None:
            added = extra._chosen(url)
            if added:
                names = {c.name for c in added}
                chosen = [c for c in chosen if c.name not in names] + added
        if not chosen:
            return None
        # §5.4 step 2: longer paths first, then earlier creation times.
        chosen.sort(key=lambda c: (-len(c.path), c.creation_time))
        return "; ".join(f"{c.name}={c.value}" for c in chosen)

    def _chosen(self, url: URL) -> list[Cookie]:
        """The unexpired cookies to send to ``url`` (RFC 6265 §5.4 step 1)."""
        now = self._clock()
        expired = [k for k, c in list(self._store.items()) if c.is_expired(now)]
        for key in expired:
            del self._store[key]
        host = url.host
        request_path = url.raw_path.partition("?")[0]
        secure_origin = is_secure_context(url)
        chosen = [
            c
            for c in list(self._store.values())
            if (
                c.domain == ""
                or (c.host_only and host == c.domain)
                or (not c.host_only and domain_match(host, c.domain))
            )
            and path_match(request_path, c.path)
            and (not c.secure or secure_origin)
        ]
        for cookie in chosen:
            cookie.last_access = now  # §5.4 step 3
        return chosen

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, include_session: bool = False) -> None:
        """Write the jar to a JSON file, atomically (temp file + rename), mode 0600.

        Session cookies (no expiry) are left out unless ``include_session=True``, as a
        browser forgets them when it closes. Format::

            {"format": "wirekit-cookies", "version": 1,
             "cookies": [{"name": ..., "value": ..., "domain": ..., "path": ...,
                          "expires": 1767225600.0 | null, "secure": bool, "http_only": bool,
                          "same_site": "Lax" | null, "host_only": bool,
                          "creation_time": 1763780000.0}, ...]}
        """
        now = self._clock()
        with self._lock:
            records = [
                asdict(c)
                for c in list(self._store.values())
                if not c.is_expired(now) and (include_session or c.persistent)
            ]
        for record in records:
            del record["last_access"]  # in-memory bookkeeping: the file format stays as it was
        document = {"format": _FILE_FORMAT, "version": _FILE_VERSION, "cookies": records}
        target = Path(path)
        import tempfile

        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)  # readers see the old file or the new, never half
        except BaseException:
            os.unlink(temporary)
            raise

    def load(self, path: str | os.PathLike[str]) -> None:
        """Add the cookies of a file written by :meth:`save` (expired ones are skipped)."""
        try:
            with open(path, encoding="utf-8") as file:
                document = json.load(file)
        except json.JSONDecodeError as exc:
            raise ValueError(f"cookie file {os.fspath(path)!r} is not JSON: {exc}") from exc
        if (
            not isinstance(document, dict)
            or document.get("format") != _FILE_FORMAT
            or document.get("version") != _FILE_VERSION
        ):
            raise ValueError(
                f"cookie file {os.fspath(path)!r} is not a wirekit-cookies version 1 file"
            )
        now = self._clock()
        loaded: list[Cookie] = []
        for record in document.get("cookies", []):
            try:
                cookie = Cookie(**record)
                _check_stored(cookie.name, cookie.value)
            except (TypeError, LocalProtocolError) as exc:
                raise ValueError(f"cookie file {os.fspath(path)!r}: bad record: {exc}") from exc
            if not cookie.is_expired(now):
                loaded.append(cookie)
        # Stored once every record passed: a bad one leaves the jar as it was.
        with self._lock:
            for cookie in loaded:
                self._store[(cookie.domain, cookie.path, cookie.name)] = cookie
                self._evict(cookie.domain)
