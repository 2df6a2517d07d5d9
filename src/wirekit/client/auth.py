"""Authentication as sans-IO flows: Basic, Digest (RFC 7616), Bearer, netrc, and custom.

An auth object turns one request into a short conversation: ``auth_flow(request)`` is a
generator that yields requests and receives their responses (Digest answers a 401
challenge). The same flow serves the sync and the async client. Credentials are only ever
sent to the origin they were given for: the redirect flow drops ``auth`` when the origin
changes (see ``flows.py``).
"""

from __future__ import annotations

import hashlib
import netrc
import os
import re
import secrets
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import quote

from wirekit._forks import renew_lock_at_fork
from wirekit._models.messages import Request, Response
from wirekit.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "Auth",
    "AuthFlow",
    "BasicAuth",
    "BearerAuth",
    "DigestAuth",
    "FunctionAuth",
    "NetrcAuth",
    "NetrcLookup",
    "coerce_auth",
    "netrc_credentials",
    "netrc_path",
]

AuthFlow = Generator[Request, Response, None]


class Auth:
    """Base class of authentication schemes; subclass and override ``auth_flow``.

    ``auth_flow(request)`` yields a request to send and receives its response; it may yield
    again (for a challenge). The last response received is the one the caller sees.

    >>> class HeaderAuth(Auth):
    ...     def auth_flow(self, request):
    ...         request.headers["X-Token"] = "s3cret"
    ...         yield request
    """

    #: Set when the flow must read the response body before deciding (the client reads it).
    requires_response_body = False

    def auth_flow(self, request: Request) -> AuthFlow:
        yield request

    def sign_again(self, request: Request) -> None:
        """Called before a request this auth signed is sent once more (a retry after a 503):
        a scheme whose credentials may be used only once signs it anew. Nothing by default."""
        return None


class FunctionAuth(Auth):
    """Wraps ``fn(request) -> request``: the simplest custom hook."""

    def __init__(self, fn: Callable[[Request], Request]) -> None:
        self._fn = fn

    def auth_flow(self, request: Request) -> AuthFlow:
        yield self._fn(request)


def _basic_value(username: str | bytes, password: str | bytes) -> str:
    user = username.encode("utf-8") if isinstance(username, str) else username
    pw = password.encode("utf-8") if isinstance(password, str) else password
    if b":" in user:
        # RFC 7617 §2: the user-id cannot contain a colon; refuse rather than mis-send.
        raise LocalProtocolError("Basic auth user name must not contain ':'")
    return "Basic " + b64encode(user + b":" + pw).decode("ascii")


class BasicAuth(Auth):
    """RFC 7617 Basic authentication (UTF-8 credentials), sent on the first request."""

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        self._value = _basic_value(username, password)

    def auth_flow(self, request: Request) -> AuthFlow:
        request.headers["Authorization"] = self._value
        yield request


class BearerAuth(Auth):
    """RFC 6750 Bearer token."""

    def __init__(self, token: str) -> None:
        if any(c in token for c in "\r\n\0"):
            raise LocalProtocolError("bearer token contains a line break or NUL")
        self._value = f"Bearer {token}"

    def auth_flow(self, request: Request) -> AuthFlow:
        request.headers["Authorization"] = self._value
        yield request


class NetrcAuth(Auth):
    """Basic credentials looked up in a netrc file for the request's host.

    ``file`` defaults to ``$NETRC`` or ``~/.netrc``. A host with no entry is sent without
    credentials.
    """

    def __init__(self, file: str | os.PathLike[str] | None = None) -> None:
        self._file = file

    def credentials_for(self, host: str) -> tuple[str, str] | None:
        return netrc_credentials(host, self._file)

    def auth_flow(self, request: Request) -> AuthFlow:
        found = self.credentials_for(request.url.host)
        if found is not None:
            request.headers["Authorization"] = _basic_value(*found)
        yield request


def netrc_path(file: str | os.PathLike[str] | None = None) -> str:
    """The netrc file to read: ``file``, else ``$NETRC``, else ``~/.netrc``."""
    if file is not None:
        return os.fspath(file)
    return os.environ.get("NETRC") or os.path.expanduser("~/.netrc")


class NetrcLookup:
    """Credentials from one netrc file, parsed once and re-read only when it changes.

    The client asks on every request, so the file's modification time is checked at most
    once a second (a stat per request cost more than the rest of a keep-alive GET).
    """

    __slots__ = ("__weakref__", "_checked_at", "_entries", "_lock", "_mtime", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._checked_at = -1.0
        self._mtime: int | None = None
        self._entries: netrc.netrc | None = None
        # One thread reads the file; the others (a client's first requests, all at once)
        # wait for its entries instead of going on without credentials.
        self._lock = threading.Lock()
        renew_lock_at_fork(self, threading.Lock)

    def credentials_for(self, host: str) -> tuple[str, str] | None:
        now = time.monotonic()
        if now - self._checked_at >= 1.0:
            with self._lock:
                if now - self._checked_at >= 1.0:  # not refreshed while we waited
                    self._refresh()
                    self._checked_at = now  # once the entries are in place
        entries = self._entries
        if entries is None:
            return None
        found = entries.authenticators(host)
        if found is None:
            return None
        login, _account, password = found
        return (login or "", password or "")

    def _refresh(self) -> None:
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError:
            self._mtime, self._entries = None, None
            return
        if mtime == self._mtime:
            return
        try:
            self._entries = netrc.netrc(self.path)
        except (OSError, netrc.NetrcParseError, UnicodeDecodeError):
            # A broken file (or one not in the locale's encoding) is ignored as if absent:
            # it must not fail requests to hosts it does not even list.
            self._entries = None
        self._mtime = mtime


def netrc_credentials(
    host: str, file: str | os.PathLike[str] | None = None
) -> tuple[str, str] | None:
    """(login, password) for ``host`` from a netrc file, or None."""
    return NetrcLookup(netrc_path(file)).credentials_for(host)


# RFC 7616 §3.3: the challenge is a list of auth-params, values tokens or quoted strings.
# One item of a WWW-Authenticate value (RFC 9110 §11.6.1): a token, then "=" and a token or
# quoted-string for a parameter; a token without "=" starts the next challenge (several may
# share one header, "Basic realm=x, Digest realm=y, ...").
_ITEM = re.compile(
    r'[\s,]*([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)(?:\s*(=)\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?'
)
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "MD5-SESS": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-256-SESS": hashlib.sha256,
    "SHA-512-256": lambda data: hashlib.new("sha512_256", data),
    "SHA-512-256-SESS": lambda data: hashlib.new("sha512_256", data),
}


def parse_challenges(header: str) -> list[tuple[str, dict[str, str]]]:
    """Every challenge of a ``WWW-Authenticate`` value: (lower-cased scheme, parameters with
    lower-cased names), in order."""
    challenges: list[tuple[str, dict[str, str]]] = []
    params: dict[str, str] | None = None
    pos = 0
    while True:
        match = _ITEM.match(header, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        name, equals, value = match.groups()
        if equals is None:
            params = {}
            challenges.append((name.lower(), params))
        elif params is not None:
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[name.lower()] = value
    return challenges


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """The first challenge of a ``WWW-Authenticate`` value: scheme and parameters."""
    challenges = parse_challenges(header)
    return challenges[0] if challenges else ("", {})


def _supported(challenge: dict[str, str]) -> bool:
    qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    return challenge.get("algorithm", "MD5").upper() in _HASHES and (not qops or "auth" in qops)


def _digest_challenge(response: Response) -> dict[str, str] | None:
    """The Digest challenge to answer: the first one we support (RFC 7616 §3.7), else the
    first one (whose answer then says what is unsupported), else None."""
    offered = [
        params
        for value in response.headers.get_list("www-authenticate")
        for scheme, params in parse_challenges(value)
        if scheme == "digest"
    ]
    return next((params for params in offered if _supported(params)), None) or next(
        iter(offered), None
    )


#: Nonce counts DigestAuth keeps per origin for nonces the server has replaced.
_NONCES_KEPT = 16


class DigestAuth(Auth):
    """RFC 7616 Digest authentication (qop=auth; MD5, SHA-256, SHA-512-256, -sess).

    The first request goes without credentials; a 401 with a Digest challenge is answered
    once. The challenge is remembered per origin, so later requests there through the same
    ``DigestAuth`` carry credentials at once (with a growing nonce count); a refusal that
    brings a new nonce (``stale=true`` or not) is answered once more with it.
    """

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self._lock = threading.Lock()
        renew_lock_at_fork(self, threading.Lock)
        # Per origin: each server has its own realm and nonces (one host's must never be
        # replayed to another).
        self._challenges: dict[Any, dict[str, str]] = {}
        # Per (origin, nonce): a nonce count is never sent twice for one nonce (RFC 7616
        # §3.4: servers may refuse a repeated nc as a replay), even when several threads
        # answer the same challenge at once.
        self._nonce_counts: dict[tuple[Any, str], int] = {}

    def auth_flow(self, request: Request) -> AuthFlow:
        origin = request.url.origin
        with self._lock:
            challenge = self._challenges.get(origin)
        if challenge is not None:
            request.headers["Authorization"] = self._authorization(request, challenge)
        response = yield request
        if response.status_code != 401:
            return
        digest = _digest_challenge(response)
        if digest is None:
            return
        if (
            challenge is not None
            and digest.get("stale", "").lower() != "true"
            and digest.get("nonce") == challenge.get("nonce")
        ):
            return  # refused with the very challenge we answered: wrong credentials, stop
        if "nonce" not in digest or "realm" not in digest:
            raise RemoteProtocolError(
                f"Digest challenge from {request.url.host} lacks realm or nonce"
            )
        with self._lock:
            known = self._challenges.get(origin)
            if known is None or known.get("nonce") != digest["nonce"]:
                self._challenges[origin] = digest
                # Counts of the nonces this origin no longer uses are dropped, but not the
                # last few: another thread may still sign with one it read before (from
                # 0 again, it would send an nc the server saw already).
                kept = [key for key in self._nonce_counts if key[0] == origin]
                for key in kept[: max(0, len(kept) - _NONCES_KEPT)]:
                    del self._nonce_counts[key]
        request.headers["Authorization"] = self._authorization(request, digest)
        yield request

    def sign_again(self, request: Request) -> None:
        # The server saw this nonce count: a retry sending it again looks like a replay.
        if not request.headers.get("authorization", "").startswith("Digest "):
            return
        with self._lock:
            challenge = self._challenges.get(request.url.origin)
        if challenge is not None:
            request.headers["Authorization"] = self._authorization(request, challenge)

    def _authorization(self, request: Request, challenge: dict[str, str]) -> str:
        algorithm = challenge.get("algorithm", "MD5").upper()
        hasher = _HASHES.get(algorithm)
        if hasher is None:
            raise RemoteProtocolError(f"unsupported Digest algorithm {algorithm!r}")

        def digest(data: str) -> str:
            return str(hasher(data.encode("utf-8")).hexdigest())

        realm, nonce = challenge["realm"], challenge["nonce"]
        qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
        if qops and "auth" not in qops:
            raise RemoteProtocolError(f"Digest qop {challenge['qop']!r} not supported (only auth)")
        origin = request.url.origin
        with self._lock:
            key = (origin, nonce)
            count = self._nonce_counts.get(key, 0) + 1
            self._nonce_counts[key] = count
            nc = f"{count:08x}"
        cnonce = secrets.token_hex(16)
        a1 = digest(f"{self._username}:{realm}:{self._password}")
        if algorithm.endswith("-SESS"):
            a1 = digest(f"{a1}:{nonce}:{cnonce}")
        uri = request.url.raw_path
        ha2 = digest(f"{request.method}:{uri}")
        if qops:
            response = digest(f"{a1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        else:  # RFC 2069 compatibility
            response = digest(f"{a1}:{nonce}:{ha2}")
        if self._username.isascii():
            user = f'username="{_quote(self._username)}"'
        else:
            # RFC 7616 §3.4.4: a name beyond ASCII goes as username*, in UTF-8 (RFC 8187),
            # the bytes it is hashed with.
            user = "username*=UTF-8''" + quote(self._username.encode("utf-8"), safe="")
        parts = [
            user,
            f'realm="{_quote(realm)}"',
            f'nonce="{_quote(nonce)}"',
            f'uri="{_quote(uri)}"',
            f'response="{response}"',
            f"algorithm={algorithm}",
        ]
        if "opaque" in challenge:
            parts.append(f'opaque="{_quote(challenge["opaque"])}"')
        if qops:
            parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        return "Digest " + ", ".join(parts)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


AuthTypes = Auth | tuple[str, str] | Callable[[Request], Request] | None


def coerce_auth(auth: Any) -> Auth | None:
    """``(user, password)`` is Basic; a callable is a :class:`FunctionAuth`."""
    if auth is None or isinstance(auth, Auth):
        return auth
    if isinstance(auth, tuple) and len(auth) == 2:
        return BasicAuth(auth[0], auth[1])
    if callable(auth):
        return FunctionAuth(auth)
    raise TypeError(f"auth must be an Auth, a (user, password) tuple or a callable, not {auth!r}")
