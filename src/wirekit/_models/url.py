"""URLs: parse, build, join and normalise per RFC 3986, plus an immutable view of the query.

``URL`` is on the client's hot path, so parsing is a handful of ``str.find``/``partition``
calls and linear character-class checks (no backtracking regex); decoded views are lazy.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeAlias
from urllib.parse import parse_qsl, quote, quote_from_bytes, unquote

import idna
from mypy_extensions import mypyc_attr

from wirekit._compiled import own_abc_registry
from wirekit.errors import InvalidURL, LimitExceeded, chained

__all__ = [
    "DEFAULT_PORTS",
    "MAX_URL_LENGTH",
    "URL",
    "Origin",
    "QueryParamTypes",
    "QueryParams",
    "host_for_header",
    "host_header",
]

#: Longest URL accepted, in characters. 65536 is well above what servers accept (nginx's
#: default request line buffer is 8 KiB) while stopping pathological input early.
MAX_URL_LENGTH = 65_536

#: Ports implied by a scheme when the URL names none (RFC 9110 §4.2, RFC 6455 §3).
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443, "ws": 80, "wss": 443}

PrimitiveValue: TypeAlias = str | bytes | int | float | bool | None
QueryParamTypes: TypeAlias = (
    "QueryParams | Mapping[str, PrimitiveValue | Sequence[PrimitiveValue]] | "
    "Sequence[tuple[str, PrimitiveValue]] | str | bytes | None"
)

# RFC 3986 §2.2-2.3 character classes. Every check below is a single linear pass.
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_SUB_DELIMS = "!$&'()*+,;="
# §3.3 pchar plus "/", and "%" kept so existing escapes survive untouched.
_PATH_SAFE = _UNRESERVED + _SUB_DELIMS + ":@/%"
# §3.4 / §3.5: query and fragment also allow "?" (and "/" already in the path set).
_QUERY_SAFE = _PATH_SAFE + "?"
# §3.2.1 userinfo: no "/", "?", "@" ("@" ends the userinfo, ":" separates the password).
_USERINFO_SAFE = _UNRESERVED + _SUB_DELIMS + ":%"
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.")
_ALPHA = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _already_encoded(safe: str) -> Any:
    """A matcher for text needing no quoting: safe characters and complete escapes. One
    character per step and disjoint first characters: linear time, no backtracking."""
    chars = re.escape(safe.replace("%", ""))
    return re.compile(f"(?:[{chars}]|%[0-9A-Fa-f]{{2}})*").fullmatch


_PATH_OK = _already_encoded(_PATH_SAFE)
_QUERY_OK = _already_encoded(_QUERY_SAFE)
_USERINFO_OK = _already_encoded(_USERINFO_SAFE)
# §3.2.2 reg-name (already lower-cased): unreserved / pct-encoded / sub-delims.
_REG_NAME_OK = re.compile(r"[a-z0-9\-._~!$&'()*+,;=%]*").fullmatch
# A "%" not starting a valid escape is sent as "%25" (what browsers and httpx do).
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# C0 controls, space and DEL must never reach a request line (CRLF injection, NUL tricks).
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


def redact(text: str) -> str:
    """Hide a password in URL text used for error messages (``user:***@host``)."""
    scheme_end = text.find("://")
    if scheme_end >= 0:
        start = scheme_end + 3
    else:
        start = 2 if text.startswith("//") else 0  # "//user:pw@host/": a network-path ref
    end = len(text)  # the authority ends at the first "/", "?" or "#", as _parse reads it
    for delimiter in "/?#":
        found = text.find(delimiter, start, end)
        if found >= 0:
            end = found
    # The last "@" ends the userinfo, as the parser has it: a password may contain "@".
    at = text.rfind("@", start, end)
    if at < 0:
        return text
    colon = text.find(":", start, at)
    return text if colon < 0 else f"{text[: colon + 1]}***{text[at:]}"


def _redact_malformed(text: str) -> str:
    """``redact()`` for URL text that failed to parse. A password holding an unencoded "/",
    "?" or "#" ends the authority early (the frequent slip that made the URL invalid), so
    here the userinfo runs to the last "@" anywhere after a ":"."""
    shown = redact(text)
    if shown != text:
        return shown
    scheme_end = text.find("://")
    start = scheme_end + 3 if scheme_end >= 0 else 0
    at = text.rfind("@", start)
    colon = text.find(":", start, at) if at >= 0 else -1
    return text if colon < 0 else f"{text[: colon + 1]}***{text[at:]}"


def _quote_part(value: str, safe: str, part: str) -> str:
    """Percent-encode what ``safe`` does not allow; keep valid escapes, fix lone "%"."""
    if "%" in value:
        value = _LONE_PERCENT.sub("%25", value)
    return _quote(value, safe, part)


#: Every printable ASCII character but space: what a URL part given as bytes keeps as is.
_WIRE_BYTES_SAFE = "".join(chr(code) for code in range(33, 127))


def _wire_text(query: bytes) -> str:
    """A URL part given as bytes (``params=b"a=1&b=2"``, as requests takes it, or a wire part
    of copy_with): its ASCII as written, other bytes (and spaces, controls) percent-encoded."""
    return quote_from_bytes(query, safe=_WIRE_BYTES_SAFE)


def _quote(value: str, safe: str, part: str) -> str:
    """``quote``, with a lone surrogate (not text: no UTF-8 for it) an InvalidURL naming the
    part of the URL (never its value: it may be a password)."""
    try:
        return quote(value, safe=safe)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise chained(
            InvalidURL(
                f"lone surrogate {bad!r} in the URL's {part}: not text, so it has no UTF-8 "
                "form to send"
            ),
            exc,
        ) from exc


@functools.lru_cache(maxsize=512)
def _normalize_host(host: str) -> str:
    """Lower-case and validate a host; IDNA-encode non-ASCII names (RFC 5891 via ``idna``).

    Cached: a client talks to few hosts, and IDNA encoding costs tens of microseconds.
    Raises ValueError saying which kind of host was bad.
    """
    if "%" in host:
        # Percent-encoded octets in a name (RFC 3986 §3.2.2): the name is what they spell,
        # as browsers (WHATWG) and requests read it; DNS and the Host header get that.
        if _LONE_PERCENT.search(host):
            raise ValueError("invalid host", "a '%' is not followed by two hex digits")
        try:
            host = unquote(host, errors="strict")
        except UnicodeDecodeError as exc:
            failure = ValueError("invalid host", "its escapes are not UTF-8")
            raise chained(failure, exc) from exc
        if "%" in host or not host:
            raise ValueError("invalid host")
    if host.isascii():
        host = host.lower()
        if _REG_NAME_OK(host) is None:
            raise ValueError("invalid host")
        if ".." in host or host[0] == "." or len(host) > 63:
            # RFC 1035 §2.3.4: labels of 1 to 63 octets (a trailing dot, the root, is fine).
            # Such a name can never resolve: an InvalidURL now, not a DNS error later.
            labels = host.split(".")
            if labels[-1] == "":
                labels.pop()
            if not labels or any(not 0 < len(label) <= 63 for label in labels):
                raise ValueError("invalid host", "a label is empty or over 63 characters")
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise chained(ValueError("invalid international host"), exc) from exc


def _encode_host(host: str, url: str) -> str:
    try:
        return _normalize_host(host)
    except ValueError as exc:
        what, *why = exc.args
        message = f"{what} {host!r} in URL {_redact_malformed(url)!r}"
        if why:
            message += f": {why[0]}"
        raise chained(InvalidURL(message), exc) from exc


#: Parsed URLs by their text. URLs are immutable, and a client sends to the same few URLs
#: again and again, so a repeat costs a dict lookup and eight attribute copies instead of a
#: parse (about 4x faster). Emptied when full: simple and bounded.
_PARSED: dict[str, URL] = {}
_PARSED_CACHE_SIZE = 1024


class Origin(NamedTuple):
    """The (scheme, host, port) triple of RFC 6454: equal origins may share secrets."""

    scheme: str
    host: str
    port: int | None


@mypyc_attr(allow_interpreted_subclasses=True)
class URL:
    """A parsed URL. Immutable; ``copy_*`` methods return new instances.

    >>> u = URL("HTTPS://user:pw@Example.COM/a%2Fb/c?q=1#top")
    >>> u.host, u.effective_port, u.path, u.raw_path
    ('example.com', 443, '/a/b/c', '/a%2Fb/c?q=1')
    >>> u
    URL('https://user:***@example.com/a%2Fb/c?q=1#top')
    """

    __slots__ = (
        "_fragment",
        "_has_authority",
        "_host",
        "_origin",
        "_params",
        "_path",
        "_port",
        "_query",
        "_scheme",
        "_string",
        "_userinfo",
    )

    _scheme: str
    _userinfo: str
    _host: str
    _port: int | None
    _path: str
    _query: str | None
    _fragment: str | None
    _has_authority: bool
    _string: str | None
    _params: QueryParams | None

    def __init__(
        self,
        url: str | URL = "",
        *,
        params: QueryParamTypes = None,
        max_length: int = MAX_URL_LENGTH,
    ) -> None:
        if isinstance(url, str):
            parsed = _PARSED.get(url)
            if parsed is not None and len(url) <= max_length:
                self._copy_from(parsed)
            else:
                self._parse(url, max_length)
                if params is None:  # with params, this instance changes below: not cached
                    if len(_PARSED) >= _PARSED_CACHE_SIZE:
                        _PARSED.clear()
                    _PARSED[url] = self
        elif isinstance(url, URL):
            self._copy_from(url)
        else:
            raise TypeError(f"URL() takes a str or URL, not {type(url).__name__}")
        self._params = None
        self._origin: Origin | None = None
        if params is not None:
            added = QueryParams(params)
            if added:
                # Chosen behaviour (as requests does): params are appended to any query the
                # URL already has, never silently replacing it.
                encoded = str(added)
                self._query = f"{self._query}&{encoded}" if self._query else encoded
                self._string = None

    def _copy_from(self, other: URL) -> None:
        self._scheme = other._scheme
        self._userinfo = other._userinfo
        self._host = other._host
        self._port = other._port
        self._path = other._path
        self._query = other._query
        self._fragment = other._fragment
        self._has_authority = other._has_authority
        self._string = other._string

    def _parse(self, url: str, max_length: int) -> None:
        if len(url) > max_length:
            raise LimitExceeded(
                f"URL of {len(url)} characters is over the max_url_length limit of "
                f"{max_length}: {_redact_malformed(url)[:60]!r}...",  # cut after redacting: no password
                limit="max_url_length",
                value=max_length,
            )
        if _FORBIDDEN.search(url) is not None:
            raise InvalidURL(
                f"control character (CR, LF, NUL...) in URL {_redact_malformed(url)!r}"
            )
        if url[:1] == " " or url[-1:] == " ":
            url = url.strip(" ")
        rest = url
        # §3.5 fragment first: "#" can appear nowhere else.
        fragment: str | None = None
        hash_at = rest.find("#")
        if hash_at >= 0:
            fragment = rest[hash_at + 1 :]
            rest = rest[:hash_at]
        query: str | None = None
        question = rest.find("?")
        if question >= 0:
            query = rest[question + 1 :]
            rest = rest[:question]
        # §3.1 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) then ":" before any "/".
        scheme = ""
        colon = rest.find(":")
        if colon > 0:
            candidate = rest[:colon]
            if candidate[0] in _ALPHA and _SCHEME_CHARS.issuperset(candidate):
                scheme = candidate.lower()
                rest = rest[colon + 1 :]
        userinfo = ""
        host = ""
        port: int | None = None
        has_authority = rest.startswith("//")
        if has_authority:
            slash = rest.find("/", 2)
            if slash < 0:
                authority, path = rest[2:], ""
            else:
                authority, path = rest[2:slash], rest[slash:]
            at = authority.rfind("@")
            if at >= 0:
                userinfo, authority = authority[:at], authority[at + 1 :]
                if _USERINFO_OK(userinfo) is None:
                    userinfo = _quote_part(userinfo, _USERINFO_SAFE, "userinfo")
            host, port = self._parse_host_port(authority, url)
        else:
            path = rest
        if path and _PATH_OK(path) is None:
            path = _quote_part(path, _PATH_SAFE, "path")
        if has_authority and "/." in path:
            # RFC 3986 §6.2.2.3: dot segments go even from an absolute URL's path, as
            # browsers, curl, requests and httpx send it ("/a/../b" is "/b").
            path = _remove_dot_segments(path)
        if query and _QUERY_OK(query) is None:
            query = _quote_part(query, _QUERY_SAFE, "query")
        if fragment and _QUERY_OK(fragment) is None:
            fragment = _quote_part(fragment, _QUERY_SAFE, "fragment")
        if has_authority and path and not path.startswith("/"):  # pragma: no cover
            raise InvalidURL(
                f"path must start with '/' after a host in URL {_redact_malformed(url)!r}"
            )
        if not has_authority and path.startswith("//"):
            # §3.3: without an authority the path cannot start with "//" (it would read
            # back as a host). Should only come from copy_with(); refuse it.
            raise InvalidURL(
                f"path {path!r} cannot start with '//' in URL {_redact_malformed(url)!r}"
            )
        self._scheme = scheme
        self._userinfo = userinfo
        self._host = host
        self._port = port
        self._path = path
        self._query = query
        self._fragment = fragment
        self._has_authority = has_authority
        self._string = None

    @staticmethod
    def _parse_host_port(authority: str, url: str) -> tuple[str, int | None]:
        port_text = ""
        if authority.startswith("["):
            # §3.2.2 IP-literal: "[" IPv6address "]"; kept without brackets in .host.
            close = authority.find("]")
            if close < 0:
                raise InvalidURL(f"unclosed '[' in host of URL {_redact_malformed(url)!r}")
            literal = authority[1:close]
            after = authority[close + 1 :]
            if after and not after.startswith(":"):
                raise InvalidURL(
                    f"unexpected {after!r} after IPv6 host in URL {_redact_malformed(url)!r}"
                )
            port_text = after[1:]
            try:
                host = ipaddress.IPv6Address(literal).compressed
            except ValueError as exc:
                raise chained(
                    InvalidURL(f"invalid IPv6 host {literal!r} in URL {_redact_malformed(url)!r}"),
                    exc,
                ) from exc
        else:
            host, has_colon, port_text = authority.rpartition(":")
            if not has_colon:
                host = port_text
                port_text = ""
            host = _encode_host(host, url) if host else ""
        if not port_text:
            return host, None  # §3.2.3: an empty port is the same as none
        if port_text.isdigit() and port_text.isascii():
            port = int(port_text)
            if port <= 65535:
                return host, port
        shown = _redact_malformed(url)
        if shown != redact(url):
            # The "port" is a piece of a password with an unencoded "/", "?" or "#".
            raise InvalidURL(
                f"invalid port in URL {shown!r} (a password holding '/', '?' or '#' must "
                "be percent-encoded)"
            )
        raise InvalidURL(f"invalid port {port_text!r} in URL {shown!r}")

    # -- components ----------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return self._scheme

    @property
    def userinfo(self) -> str:
        """``user:password`` as on the wire (percent-encoded)."""
        return self._userinfo

    @property
    def username(self) -> str:
        return unquote(self._userinfo.partition(":")[0])

    @property
    def password(self) -> str:
        return unquote(self._userinfo.partition(":")[2])

    @property
    def host(self) -> str:
        """Lower-cased, IDNA-encoded host; IPv6 without brackets. ``""`` when absent."""
        return self._host

    @property
    def port(self) -> int | None:
        """The port written in the URL, or ``None`` (see ``effective_port``)."""
        return self._port

    @property
    def effective_port(self) -> int | None:
        """The written port, else the scheme's default (80/443 for http(s) and ws(s))."""
        return self._port if self._port is not None else DEFAULT_PORTS.get(self._scheme)

    @property
    def netloc(self) -> str:
        """``host[:port]`` with IPv6 brackets, no userinfo: what a Host header carries."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return host if self._port is None else f"{host}:{self._port}"

    @property
    def path(self) -> str:
        """Decoded path (``%2F`` shows as ``/``: use ``raw_path`` for the wire)."""
        if not self._path and self._has_authority:
            return "/"
        return unquote(self._path)

    @property
    def raw_path(self) -> str:
        """Path and query exactly as a request line needs them (``/`` when empty)."""
        path = self._path or "/"
        return path if self._query is None else f"{path}?{self._query}"

    @property
    def query(self) -> str:
        """Raw (percent-encoded) query, without the "?"; ``""`` when absent."""
        return self._query or ""

    @property
    def fragment(self) -> str:
        return unquote(self._fragment) if self._fragment else ""

    @property
    def origin(self) -> Origin:
        origin = self._origin
        if origin is None:  # URLs do not change once built: worked out once (per request)
            origin = self._origin = Origin(self._scheme, self._host, self.effective_port)
        return origin

    @property
    def is_absolute(self) -> bool:
        """True when the URL has a scheme (RFC 3986 §4.3), so it needs no base."""
        return bool(self._scheme)

    @property
    def is_relative(self) -> bool:
        return not self._scheme

    @property
    def params(self) -> QueryParams:
        if self._params is None:
            # Not QueryParams(str): that strips a leading "?" typed by users, but here a
            # leading "?" is data (a key spelled "?").
            params = QueryParams()
            params._items = parse_qsl(self._query or "", keep_blank_values=True)
            self._params = params
        return self._params

    # -- building ------------------------------------------------------------------------
    def copy_with(self, **parts: Any) -> URL:
        """A copy with some parts replaced.

        Accepted keywords: ``scheme, username, password, userinfo, host, port, netloc, path,
        raw_path, query, fragment, params``. Values are given decoded except ``userinfo``,
        ``query`` and ``raw_path``, which are taken as on the wire.
        """
        allowed = {
            "scheme", "username", "password", "userinfo", "host", "port", "netloc",
            "path", "raw_path", "query", "fragment", "params",
        }  # fmt: skip
        unknown = set(parts) - allowed
        if unknown:
            raise TypeError(f"copy_with() got unknown URL parts: {', '.join(sorted(unknown))}")
        for name in ("username", "host", "netloc", "path", "raw_path"):
            if name in parts and parts[name] is None:
                parts[name] = ""  # None removes the part, as for the others
        for name in ("query", "raw_path", "userinfo", "netloc"):
            if isinstance(parts.get(name), bytes):
                parts[name] = _wire_text(parts[name])
        scheme = parts.get("scheme", self._scheme)
        if scheme:
            if not (scheme[0] in _ALPHA and _SCHEME_CHARS.issuperset(scheme)):
                # Its delimiters would otherwise become other parts ("http://evil/#").
                raise InvalidURL(f"scheme {scheme!r} for copy_with() is not a URL scheme")
            scheme = scheme.lower()
        userinfo = self._userinfo
        if "userinfo" in parts:
            userinfo = parts["userinfo"] or ""
            if userinfo and _USERINFO_OK(userinfo) is None:
                userinfo = _quote_part(userinfo, _USERINFO_SAFE, "userinfo")
        if "username" in parts or "password" in parts:
            user = parts.get("username", self.username)
            password = parts.get("password", self.password)
            userinfo = _quote(user, _UNRESERVED + _SUB_DELIMS.replace(":", ""), "userinfo")
            if password:
                userinfo += ":" + _quote(password, _UNRESERVED + _SUB_DELIMS, "userinfo")
        host = parts.get("host", self._host)
        port = parts.get("port", self._port)
        if "port" in parts and port is not None:
            port = _port_number(port)
        if "host" in parts:
            _check_host_part(host)
        if "netloc" in parts:
            netloc = parts["netloc"]
            probe = URL("//" + netloc)
            if (
                probe._userinfo
                or probe._path
                or probe._query is not None
                or probe._fragment is not None
            ):
                # Nothing but host[:port]: a "/", "?", "#" or "@" would otherwise be dropped.
                raise InvalidURL(f"netloc {netloc!r} for copy_with() is not host[:port]")
            host, port = probe._host, probe._port
        path = self._path
        query = self._query
        for name in ("raw_path", "query"):
            value = parts.get(name)
            if isinstance(value, str) and "#" in value:
                # Taken as on the wire, where "#" starts the fragment: the rest would be
                # dropped from the request without a word (httpx refuses it too).
                raise InvalidURL(
                    f"{name} {value!r} for copy_with() holds a '#': percent-encode it as %23"
                )
        if "raw_path" in parts:
            raw_path, mark, raw_query = parts["raw_path"].partition("?")
            path, query = raw_path, (raw_query if mark else None)
        if "path" in parts:
            path = _quote(parts["path"], _PATH_SAFE.replace("%", ""), "path")
        if "query" in parts:
            query = parts["query"]
        if "params" in parts:
            query = str(QueryParams(parts["params"])) or None
        fragment = self._fragment
        if "fragment" in parts:
            # None removes the fragment (as "" would leave a bare "#").
            given = parts["fragment"]
            fragment = (
                None if given is None else _quote(given, _QUERY_SAFE.replace("%", ""), "fragment")
            )
        has_authority = self._has_authority or bool(host)
        if has_authority and path and not path.startswith("/"):
            path = "/" + path
        # Not measured against max_url_length again: the parts were parsed (and measured)
        # already or come from code, and percent-encoding them must not push a URL that
        # was accepted as given over the limit once params or a base URL are added.
        return URL(
            _compose(scheme, userinfo, host, port, path, query, fragment, has_authority),
            max_length=sys.maxsize,
        )

    # The param helpers edit the query as written, pair by pair, as copy_merge_params does:
    # rebuilt from ``params`` (decoded), a legacy "%E9" would come back as "%EF%BF%BD".
    def copy_set_param(self, key: object, value: object = None) -> URL:
        """A copy with every ``key`` replaced by one ``value`` (at the first one's place)."""
        key = _param_key(key)
        pair = _encode_pairs([(key, _param_text(value))])
        pairs: list[str] = []
        placed = False
        for part in self._query_parts():
            if _query_key(part) != key:
                pairs.append(part)
            elif not placed:
                pairs.append(pair)
                placed = True
        if not placed:
            pairs.append(pair)
        return self.copy_with(query="&".join(pairs))

    def copy_add_param(self, key: object, value: object = None) -> URL:
        """A copy with ``key=value`` appended (any earlier ``key`` kept)."""
        pair = _encode_pairs([(_param_key(key), _param_text(value))])
        return self.copy_with(query="&".join([*self._query_parts(), pair]))

    def copy_remove_param(self, key: object) -> URL:
        """A copy without any ``key`` (and without "?" when no pair is left)."""
        name = _param_key(key)
        kept = [part for part in self._query_parts() if _query_key(part) != name]
        return self.copy_with(query="&".join(kept) or None)

    def _query_parts(self) -> list[str]:
        return self._query.split("&") if self._query else []

    def copy_merge_params(self, params: QueryParamTypes) -> URL:
        """A copy with ``params`` added to the query; a key given replaces that key's values.

        The rest of the query stays exactly as written (a legacy ``%E9``, a bare ``flag``):
        only the new pairs are encoded. A string is added as written too (as requests
        does): decoding and encoding it again would turn a Latin-1 ``%E9`` or a binary
        ``info_hash`` into U+FFFD."""
        if isinstance(params, bytes):
            params = _wire_text(params)
        if isinstance(params, str):
            given = [
                part.replace("#", "%23")  # in a query value, never the start of a fragment
                for part in params.removeprefix("?").split("&")
                if part
            ]
            if not given:
                return self
            replaced = {_query_key(part) for part in given}
            kept = [part for part in self._query_parts() if _query_key(part) not in replaced]
            return self.copy_with(query="&".join([*kept, *given]))
        added = QueryParams(params)
        if not added:
            return self
        query = self._query
        if query:
            replaced = {k for k, _ in added._items}
            kept = [part for part in query.split("&") if _query_key(part) not in replaced]
            return self.copy_with(query="&".join([*kept, str(added)]))
        return self.copy_with(params=added)

    def join(self, url: str | URL) -> URL:
        """Resolve ``url`` against this one (RFC 3986 §5.2.2, strict parser)."""
        ref = url if isinstance(url, URL) else URL(url)
        if ref._scheme:
            return URL(
                _compose(
                    ref._scheme, ref._userinfo, ref._host, ref._port,
                    _remove_dot_segments(ref._path), ref._query, ref._fragment,
                    ref._has_authority,
                )
            )  # fmt: skip
        scheme = self._scheme
        if ref._has_authority:
            userinfo, host, port = ref._userinfo, ref._host, ref._port
            path, query = _remove_dot_segments(ref._path), ref._query
        else:
            userinfo, host, port = self._userinfo, self._host, self._port
            if not ref._path:
                path = self._path
                query = ref._query if ref._query is not None else self._query
            else:
                if ref._path.startswith("/"):
                    path = _remove_dot_segments(ref._path)
                else:
                    path = _remove_dot_segments(self._merge(ref._path))
                query = ref._query
        has_authority = self._has_authority or ref._has_authority
        return URL(
            _compose(scheme, userinfo, host, port, path, query, ref._fragment, has_authority)
        )

    def _merge(self, ref_path: str) -> str:
        # §5.2.3: a base with an authority and an empty path merges as "/" + reference.
        if self._has_authority and not self._path:
            return "/" + ref_path
        slash = self._path.rfind("/")
        return self._path[: slash + 1] + ref_path

    def normalize(self) -> URL:
        """Syntax- and scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3).

        Lower-cases scheme and host (already done on parse), upper-cases percent-escape hex
        digits, decodes escapes of unreserved characters, removes dot segments, drops the
        scheme's default port and gives an empty http(s) path its "/".
        """

        def fix(text: str | None) -> str | None:
            if text is None or "%" not in text:
                return text
            return _PERCENT_ESCAPE.sub(_normalize_escape, text)

        path = _remove_dot_segments(fix(self._path) or "")
        if self._has_authority and not path:
            path = "/"
        port = None if self._port == DEFAULT_PORTS.get(self._scheme) else self._port
        return URL(
            _compose(
                self._scheme, fix(self._userinfo) or "", self._host, port, path,
                fix(self._query), fix(self._fragment), self._has_authority,
            )
        )  # fmt: skip

    # -- dunder --------------------------------------------------------------------------
    def __str__(self) -> str:
        if self._string is None:
            self._string = _compose(
                self._scheme, self._userinfo, self._host, self._port, self._path,
                self._query, self._fragment, self._has_authority,
            )  # fmt: skip
        return self._string

    def __repr__(self) -> str:
        if ":" in self._userinfo:
            shown = self.copy_with(userinfo=self._userinfo.partition(":")[0] + ":***")
            return f"URL({str(shown)!r})"
        return f"URL({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, URL):
            return str(self) == str(other)
        if isinstance(other, str):
            try:
                return str(self) == str(URL(other))
            except (InvalidURL, LimitExceeded):
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))


def _compose(
    scheme: str,
    userinfo: str,
    host: str,
    port: int | None,
    path: str,
    query: str | None,
    fragment: str | None,
    has_authority: bool,
) -> str:
    """RFC 3986 §5.3 recomposition."""
    parts: list[str] = []
    if scheme:
        parts.append(scheme + ":")
    if has_authority or host:
        parts.append("//")
        if userinfo:
            parts.append(userinfo + "@")
        parts.append(f"[{host}]" if ":" in host else host)
        if port is not None:
            parts.append(f":{port}")
    parts.append(path)
    if query is not None:
        parts.append("?" + query)
    if fragment is not None:
        parts.append("#" + fragment)
    return "".join(parts)


def _normalize_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, written over segments rather than the string buffer."""
    if "." not in path:
        return path
    segments = path.split("/")
    output: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(output) > 1 or (output and output[0] != ""):
                output.pop()
            continue
        output.append(segment)
    # A trailing "." or ".." leaves the path ending in "/" (§5.4.1: "." -> "http://a/b/c/").
    if segments[-1] in (".", ".."):
        output.append("")
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _check_host_part(host: object) -> None:
    """Refuse a copy_with() host holding a delimiter, which would turn part of it into a
    path, query, fragment or userinfo (``evil.example#.good.example`` is evil.example)."""
    if isinstance(host, str):
        # RFC 3986 §2.2 gen-delims but ":", which here means an IPv6 address (bracketed).
        for delimiter in "/?#[]@":
            if delimiter in host:
                raise InvalidURL(
                    f"host {host!r} for copy_with() contains {delimiter!r}: not a host"
                )


def merge_default_params(url: URL, defaults: QueryParamTypes, given: QueryParamTypes) -> URL:
    """``url`` with a client's default ``params`` for the keys that neither its own query
    nor the request's ``params`` name: a default never overrides an explicit value."""
    taken = {_query_key(part) for part in url._query_parts()}
    if given:
        taken.update(QueryParams(given))
    missing = [(k, v) for k, v in QueryParams(defaults).multi_items() if k not in taken]
    return url.copy_merge_params(missing) if missing else url


def _query_key(part: str) -> str:
    """The decoded key of one ``key=value`` pair of a query, as ``params`` reads it."""
    return unquote(part.partition("=")[0].replace("+", " "))


def _encode_pairs(items: list[tuple[str, str]]) -> str:
    """Query text for decoded pairs; lone surrogates (bytes values) go out as their octets."""
    # %20 for spaces (not "+"): unambiguous in a URL query, as RFC 3986 intends.
    # No ";": servers that also split a query on it (Rails 6, Go before 1.17) would read
    # "q=a;b" as two pairs. "!$'()*,:@/?" stay as they are (RFC 3986 allows them in a
    # query, and servers decode both spellings the same); requests, httpx and
    # URLSearchParams encode more of them.
    safe = _UNRESERVED + "!$'()*,:@/?"
    return "&".join(
        [
            f"{quote(k, safe=safe, errors='surrogateescape')}="
            f"{quote(v, safe=safe, errors='surrogateescape')}"
            for k, v in items
        ]
    )


def _port_number(port: object) -> int:
    """A port for copy_with(): an int, or a string of digits, from 0 to 65535."""
    if isinstance(port, str) and port.isascii() and port.isdigit():
        port = int(port)
    if type(port) is not int or not 0 <= port <= 65535:
        raise InvalidURL(f"port {port!r} for copy_with() is not a number from 0 to 65535")
    return port


def host_for_header(host: str) -> str:
    """A URL's host as a Host header (or a request target's authority) carries it: IPv6 in
    brackets, without its zone ("%25eth0" means something on this machine only: RFC 6874
    §4; urllib3 and curl leave it out too)."""
    return f"[{host.partition('%')[0]}]" if ":" in host else host


@functools.lru_cache(maxsize=256)
def host_header(host: str, port: int | None, scheme: str) -> bytes:
    """The Host header for a URL's host, written port and scheme (a client calls few hosts,
    hence the cache): the scheme's default port left out, as browsers, curl, requests and
    httpx send it."""
    value = host_for_header(host)
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        value = f"{value}:{port}"
    return value.encode("idna") if not value.isascii() else value.encode()


def _param_key(key: object) -> str:
    """A parameter name as QueryParams keeps it: bytes as their octets, others by str()."""
    return _param_text(key) if isinstance(key, bytes) else str(key)


def _param_text(value: object) -> str:
    # Chosen behaviour (as httpx does): None becomes an empty value ("key="), booleans are
    # spelled "true"/"false" as JSON and most web frameworks expect.
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, bytes):
        # Not its repr ("b'v'"). Bytes that are not UTF-8 (a BitTorrent info_hash) keep each
        # octet as a lone surrogate, which _encode_pairs sends as that octet ("%FF"), as
        # requests and our form encoder do.
        return value.decode("utf-8", "surrogateescape")
    return str(value)


@mypyc_attr(allow_interpreted_subclasses=True)
class QueryParams(Mapping[str, str]):
    """An immutable multi-dict of query parameters; ``str()`` gives the encoded query.

    >>> q = QueryParams("a=1&b=2&a=3")
    >>> q["a"], q.get_list("a"), str(q.add("c", None))
    ('1', ['1', '3'], 'a=1&b=2&a=3&c=')
    """

    __slots__ = ("_items",)

    _items: list[tuple[str, str]]

    def __init__(self, params: QueryParamTypes = None) -> None:
        items: list[tuple[str, str]] = []
        if params is None:
            pass
        elif isinstance(params, QueryParams):
            items = list(params._items)
        elif isinstance(params, (str, bytes)):
            text = params if isinstance(params, str) else _wire_text(params)
            text = text[1:] if text.startswith("?") else text
            items = parse_qsl(text, keep_blank_values=True)
        else:
            # Typed Any: values may be anything with a str() (UUID, Decimal, date) and
            # pairs may be lists; the compiled build would refuse what the hints do not name.
            pairs: Iterable[Any] = params.items() if isinstance(params, Mapping) else params
            for key, value in pairs:
                name = _param_text(key) if isinstance(key, bytes) else str(key)
                if isinstance(value, (list, tuple)):
                    items.extend((name, _param_text(v)) for v in value)
                else:
                    items.append((name, _param_text(value)))
        self._items = items

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def get_list(self, key: str) -> list[str]:
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._items))

    def __len__(self) -> int:
        return len({k for k, _ in self._items})

    def __bool__(self) -> bool:
        return bool(self._items)

    def set(self, key: object, value: object = None) -> QueryParams:
        """A copy with every ``key`` replaced by one ``value`` (at the first position)."""
        key = _param_key(key)
        result = QueryParams()
        placed = False
        for k, v in self._items:
            if k == key:
                if not placed:
                    result._items.append((key, _param_text(value)))
                    placed = True
            else:
                result._items.append((k, v))
        if not placed:
            result._items.append((key, _param_text(value)))
        return result

    def add(self, key: object, value: object = None) -> QueryParams:
        result = QueryParams(self)
        result._items.append((_param_key(key), _param_text(value)))
        return result

    def remove(self, key: object) -> QueryParams:
        name = _param_key(key)
        result = QueryParams()
        result._items = [(k, v) for k, v in self._items if k != name]
        return result

    def merge(self, params: QueryParamTypes) -> QueryParams:
        """A copy where keys in ``params`` replace ours (their repeats all kept)."""
        other = QueryParams(params)
        replaced = {k for k, _ in other._items}
        result = QueryParams()
        result._items = [(k, v) for k, v in self._items if k not in replaced] + other._items
        return result

    def __str__(self) -> str:
        return _encode_pairs(self._items)

    def __repr__(self) -> str:
        return f"QueryParams({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, QueryParams):
            return sorted(self._items) == sorted(other._items)
        if isinstance(other, (str, Mapping, list, tuple)):
            try:
                theirs = QueryParams(other)._items
            except (TypeError, ValueError):
                return False  # not parameters at all: unequal, as == must say, not raise
            return sorted(self._items) == sorted(theirs)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


own_abc_registry(QueryParams)  # see wirekit._compiled: for the compiled build
