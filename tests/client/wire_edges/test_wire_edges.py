"""What wirekit puts on the wire for what a user passes, against requests, httpx, the RFCs and
the WHATWG URL standard. (Found by a differential review of request building; each test
failed before its fix.)

Each test sends to a raw loopback peer (tests/client/wire_edges/_wire.py) that records the request
bytes, and where it helps sends the same input with requests or httpx to the same peer.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
import requests

import wirekit
from tests.client.wire_edges._wire import Peer, body, header_values, line
from wirekit.net import CachingResolver


def _client(**kwargs: Any) -> wirekit.Client:
    return wirekit.Client(trust_env=False, retry=0, timeout=10, **kwargs)


def _requests() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: straight to the loopback peer
    return session


# -- base_url joining --------------------------------------------------------------------


def test_base_url_path_with_colon_in_first_segment_stays_under_base(peer: Peer) -> None:
    """``client.get("/users:search")`` with ``base_url=".../api"``.

    User sees: ``InvalidURL: unsupported URL scheme 'users' in users:search``. The leading
    "/" the user wrote makes this a path, but ``_merge_url`` strips it
    (``str(target).lstrip("/")``) before joining, and "users:search" then parses as an
    absolute URL with scheme "users". httpx sends ``GET /api/users:search`` (checked here on
    the same peer). Paths like ``/v1/{name}:cancel`` / ``/users:search`` are the Google API
    (AIP-136) custom-method style, so this breaks real API clients.
    """
    with httpx.Client(base_url=peer.base + "/api", trust_env=False) as reference:
        reference.get("/users:search")
    assert line(peer.requests[-1]) == b"GET /api/users:search HTTP/1.1"

    with _client(base_url=peer.base + "/api") as client:
        client.get("/users:search")
    assert line(peer.requests[-1]) == b"GET /api/users:search HTTP/1.1"


def test_base_url_path_that_embeds_a_url_never_leaves_the_base_origin() -> None:
    """``client.get("/http://other-host/steal")`` with ``base_url`` and an Authorization
    default header.

    User sees: the request, with the client's ``Authorization: Bearer ...`` default, sent to
    *other-host*: the leading "/" is stripped before the join, so the path becomes the
    absolute URL ``http://other-host/steal``. A client that builds paths from data
    (``client.get(f"/{path}")``, a proxying endpoint) lets that data pick the host and get
    the credentials. httpx sends ``GET /api/http://127.0.0.1:<port>/steal`` to the base
    host (checked here), as does any RFC 3986 resolution of a path starting with "/".
    """
    with Peer() as good, Peer() as evil:
        path = f"/http://127.0.0.1:{evil.port}/steal"
        headers = {"Authorization": "Bearer s3cret"}
        with httpx.Client(base_url=good.base + "/api", headers=headers) as reference:
            reference.get(path)
        assert evil.requests == []
        assert line(good.requests[-1]) == b"GET /api" + path.encode() + b" HTTP/1.1"

        with _client(base_url=good.base + "/api", headers=headers) as client:
            client.get(path)
        assert evil.requests == [], f"sent to the other host: {evil.requests!r}"
        assert line(good.requests[-1]) == b"GET /api" + path.encode() + b" HTTP/1.1"


# -- params= -----------------------------------------------------------------------------


def test_client_default_params_do_not_replace_a_value_written_in_the_request_url(
    peer: Peer,
) -> None:
    """``Client(params={"page": "1"}).get(url + "?page=2")``.

    User sees ``GET /items?page=1``: the client-wide *default* silently replaces the value
    the user wrote in this request's URL (``copy_merge_params`` applies the defaults with
    "replace" semantics). A default should never override an explicit per-request value:
    per-request ``params=`` already wins over the default, but the URL's own query loses.
    requests keeps the explicit value (``?page=2&page=1``, checked here); every framework
    that reads the first value then sees page 2.
    """
    with _requests() as session:
        session.params = {"page": "1"}
        session.get(peer.base + "/items?page=2", timeout=10)
    assert b"page=2" in line(peer.requests[-1])

    with _client(params={"page": "1"}) as client:
        client.get(peer.base + "/items?page=2")
    assert b"page=2" in line(peer.requests[-1]), line(peer.requests[-1])


@pytest.mark.parametrize(
    "query",
    [
        "name=Jos%E9",  # a Latin-1 form value, as legacy servers expect it
        "info_hash=%124Vx%9A%BC%DE%F0",  # a BitTorrent tracker's binary info_hash
    ],
)
def test_params_string_is_added_as_written_not_re_decoded_as_utf8(peer: Peer, query: str) -> None:
    """``client.get(url, params="name=Jos%E9")``.

    User sees ``?name=Jos%EF%BF%BD``: the string is parsed with ``parse_qsl`` (decoded as
    UTF-8 with replacement) and encoded again, so every escape that is not UTF-8 becomes
    U+FFFD; a tracker's pre-encoded ``info_hash`` turns into garbage and the server answers
    "unknown torrent". docs/client.md says a string ``params=`` is "added to the URL's
    query, which is otherwise kept as written", and url.py itself keeps "%E9" as written
    for a URL's query and the copy_*_param helpers. requests sends the string as written
    (checked here).
    """
    with _requests() as session:
        session.get(peer.base + "/p", params=query, timeout=10)
    assert line(peer.requests[-1]) == f"GET /p?{query} HTTP/1.1".encode()

    with _client() as client:
        client.get(peer.base + "/p", params=query)
    assert line(peer.requests[-1]) == f"GET /p?{query} HTTP/1.1".encode()


# -- json= -------------------------------------------------------------------------------


def test_json_with_a_lone_surrogate_is_sent_as_a_json_escape(peer: Peer) -> None:
    """``client.post(url, json=data)`` where ``data`` holds a lone UTF-16 surrogate, as
    ``json.loads`` returns for the valid JSON text ``"\\ud83d"`` (JavaScript strings may
    hold one; ``JSON.stringify`` emits exactly that escape).

    User sees ``UnicodeEncodeError: 'utf-8' codec can't encode character '\\ud83d' ...
    surrogates not allowed`` (not even the documented ``ValueError("json= body cannot be
    encoded")``): wirekit dumps with ``ensure_ascii=False`` and then encodes to UTF-8.
    requests sends the valid JSON ``{"a": "\\ud83d"}`` (checked here), so relaying JSON
    received from elsewhere works there and fails here.
    """
    data = json.loads('{"a": "\\ud83d"}')
    with _requests() as session:
        session.post(peer.base + "/", json=data, timeout=10)
    assert json.loads(body(peer.requests[-1])) == data

    with _client() as client:
        client.post(peer.base + "/", json=data)
    assert json.loads(body(peer.requests[-1])) == data


# -- hosts ---------------------------------------------------------------------------------


def test_ipv6_zone_id_is_not_sent_in_the_host_header() -> None:
    """``client.get("http://[::1%251]:<port>/")`` (RFC 6874 zone id "1", written "%25" + "1").

    User sees ``Host: [::1%251]:<port>`` on the wire. RFC 6874 §4: "An HTTP client, proxy,
    or other intermediary MUST remove any ZoneID attached to an outgoing URI, as it has only
    local significance at the sending host"; the Host value must be ``[::1]:<port>``
    (RFC 9110 §7.2 uri-host is RFC 3986's IP-literal, which has no zone). requests/urllib3
    strips the zone from Host too. A server validating Host (Django ALLOWED_HOSTS, vhosts)
    rejects the zone-bearing value.
    """
    with Peer("::1") as peer:
        with _client() as client:
            client.get(f"http://[::1%251]:{peer.port}/")
        assert header_values(peer.requests[-1], b"host") == [f"[::1]:{peer.port}".encode()]


def test_ipv6_zone_id_is_percent_decoded_before_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    """``client.get("http://[::1%251]:<port>/")``: the zone is "1" (interface index 1,
    ``lo``); "%25" is how RFC 6874 writes the "%" inside a URL.

    User sees nothing on ::1 (the kernel ignores the scope of a non-link-local address),
    but the address handed to ``connect()`` is ``"::1%251"``, i.e. zone "251": the "%25"
    is never decoded (``literal_addresses`` passes the URL's host text through). For a
    link-local address, the real use of zone ids, ``http://[fe80::1%25eth0]/`` then fails
    (``getaddrinfo("fe80::1%25eth0")``: no interface "25eth0") or, with a numeric zone, goes
    out of the wrong interface. The zone the OS gets must be the decoded one.
    """
    real_connect = socket.socket.connect
    seen: list[Any] = []

    def recording_connect(self: socket.socket, address: Any) -> None:
        seen.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    with Peer("::1") as peer:
        with _client() as client:
            client.get(f"http://[::1%251]:{peer.port}/")
    assert seen, "no connect() call recorded"
    host = seen[-1][0]
    scope = socket.getaddrinfo(host, None, socket.AF_INET6, 0, 0, socket.AI_NUMERICHOST)[0][4][3]
    assert scope == 1, f"connect() got {seen[-1]!r}: zone {scope}, the URL says zone 1"


def test_percent_encoded_host_is_decoded_before_lookup_and_in_host_header(peer: Peer) -> None:
    """``client.get("http://ex%41mple.test:<port>/")``.

    User sees a DNS lookup of the literal text ``ex%41mple.test`` and ``Host:
    ex%41mple.test:<port>``. "%41" is the unreserved "A": RFC 3986 §6.2.2.2 makes
    ``ex%41mple.test`` the same name as ``example.test``, and both the WHATWG URL parser
    (browsers) and requests read it as ``example.test`` (requests' prepared URL is checked
    here). No resolver can find a name with "%" in it, so the request fails with a DNS
    error that names a host the user never meant.
    """
    reference = requests.Request("GET", f"http://ex%41mple.test:{peer.port}/").prepare().url
    assert reference == f"http://example.test:{peer.port}/"

    asked: list[str] = []

    def fake_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # type: ignore[no-untyped-def]
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    resolver = CachingResolver(getaddrinfo=fake_getaddrinfo)
    with _client(resolver=resolver) as client:
        client.get(f"http://ex%41mple.test:{peer.port}/")
    assert asked == ["example.test"]
    assert header_values(peer.requests[-1], b"host") == [f"example.test:{peer.port}".encode()]


# -- methods -------------------------------------------------------------------------------


def test_bytes_method_is_accepted_like_requests_and_httpx(peer: Peer) -> None:
    """``client.request(b"GET", url)``.

    User sees ``AttributeError: 'bytes' object has no attribute 'encode'`` from deep in the
    connection code, after a connection was opened. requests and httpx both send ``GET /``
    for a bytes method (checked here; httpx's signature is ``method: str | bytes``), so
    code ported from them breaks with an error that does not say what is wrong.
    """
    with _requests() as session:
        session.request(b"GET", peer.base + "/", timeout=10)  # type: ignore[arg-type]
    assert line(peer.requests[-1]) == b"GET / HTTP/1.1"
    with httpx.Client(trust_env=False) as reference:
        reference.request(b"GET", peer.base + "/")
    assert line(peer.requests[-1]) == b"GET / HTTP/1.1"

    with _client() as client:
        client.request(b"GET", peer.base + "/")  # type: ignore[arg-type]
    assert line(peer.requests[-1]) == b"GET / HTTP/1.1"


# -- URL API -------------------------------------------------------------------------------


def test_copy_with_query_holding_hash_does_not_silently_drop_the_rest(peer: Peer) -> None:
    """``url.copy_with(query="lang=C#&page=2")``: "#" cannot be in a query on the wire.

    User sees ``GET /p?lang=C HTTP/1.1``: copy_with composes the text and parses it again,
    so everything after "#" silently becomes the fragment (``page=2`` is lost, never
    sent). httpx refuses such a query with ``InvalidURL`` (checked here); wirekit itself
    percent-encodes a space in the same argument, so quietly cutting at "#" is neither
    "as on the wire" nor an error. Either the "#" is encoded (%23) or the call raises.
    """
    with pytest.raises(httpx.InvalidURL):
        httpx.URL(peer.base + "/p").copy_with(query=b"lang=C#&page=2")

    url = wirekit.URL(peer.base + "/p")
    try:
        changed = url.copy_with(query="lang=C#&page=2")
    except wirekit.InvalidURL:
        return  # a clear refusal is fine
    with _client() as client:
        client.get(changed)
    assert line(peer.requests[-1]) == b"GET /p?lang=C%23&page=2 HTTP/1.1"


def test_an_empty_path_through_a_forward_proxy_is_sent_as_slash(peer: Peer) -> None:
    """``client.get("http://origin:8080")`` (no path) through a plain HTTP proxy went out as
    ``GET http://origin:8080 HTTP/1.1``: legal absolute-form, but requests and httpx send
    the "/" (as the origin-form must have one), and some proxies forward an empty path."""
    with _client(proxy=peer.base) as client:
        client.get("http://127.0.0.1:9")
        client.get("http://127.0.0.1:9?x=1")
    assert line(peer.requests[-2]) == b"GET http://127.0.0.1:9/ HTTP/1.1"
    assert line(peer.requests[-1]) == b"GET http://127.0.0.1:9/?x=1 HTTP/1.1"
