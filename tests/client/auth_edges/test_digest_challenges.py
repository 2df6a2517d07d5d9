"""Digest (RFC 7616) challenges that wirekit reads wrongly.
(Found by a differential review of client auth; fixed since.)

RFC 9110 §11.6.1 lets one WWW-Authenticate field carry several challenges
(``Basic realm="a", Digest realm="b", nonce="..."``), and RFC 7616 §3.7 tells servers that
support several algorithms to send one Digest challenge per algorithm, in order of
preference, and clients to use the first one they support. RFC 7616 §3.4.4 says a user
name that cannot be sent as is goes in ``username*`` (RFC 5987 encoding, UTF-8).
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.auth_edges._peers import digest_server

PASSWORD = "pass"


def _get(url: str, auth: wirekit.Auth) -> wirekit.Response:
    with wirekit.Client(trust_env=False, timeout=10.0) as client:
        return client.get(url + "/private?x=1", auth=auth)


async def _aget(url: str, auth: wirekit.Auth) -> wirekit.Response:
    async with wirekit.AsyncClient(trust_env=False, timeout=10.0) as client:
        return await client.get(url + "/private?x=1", auth=auth)


BASIC_THEN_DIGEST = ['Basic realm="area", Digest realm="area", nonce="n-1", qop="auth"']
DIGEST_THEN_BASIC = ['Digest realm="area", nonce="n-1", qop="auth", Basic realm="other"']


def test_digest_offered_after_basic_in_one_header_sync() -> None:
    """A server offering ``WWW-Authenticate: Basic realm="area", Digest realm="area",
    nonce=...`` (two challenges in one field, RFC 9110 §11.6.1) gets no Digest answer:
    the user sees the 401, after one request. wirekit only looks for a Digest challenge
    at the start of a field value. requests answers it and gets 200 (checked against the
    same kind of server)."""
    with digest_server(BASIC_THEN_DIGEST) as site:
        response = _get(site.url, wirekit.DigestAuth("user", PASSWORD))
    assert len(site.authorizations) == 2, "the Digest challenge was never answered"
    assert response.status_code == 200


@pytest.mark.anyio
async def test_digest_offered_after_basic_in_one_header_async() -> None:
    """AsyncClient twin of test_digest_offered_after_basic_in_one_header_sync."""
    with digest_server(BASIC_THEN_DIGEST) as site:
        response = await _aget(site.url, wirekit.DigestAuth("user", PASSWORD))
    assert len(site.authorizations) == 2, "the Digest challenge was never answered"
    assert response.status_code == 200


def test_digest_realm_not_taken_from_a_following_basic_challenge_sync() -> None:
    """``WWW-Authenticate: Digest realm="area", nonce=..., qop="auth", Basic
    realm="other"``: wirekit's parameter scan runs past the Digest challenge into the
    Basic one, so its answer names ``realm="other"`` and hashes that realm; the server
    refuses it and the user sees 401 with right credentials. requests and httpx answer
    with realm "area" and get 200 from the same server."""
    with digest_server(DIGEST_THEN_BASIC) as site:
        response = _get(site.url, wirekit.DigestAuth("user", PASSWORD))
    answer = site.authorizations[-1] or b""
    assert b'realm="other"' not in answer
    assert response.status_code == 200


@pytest.mark.anyio
async def test_digest_realm_not_taken_from_a_following_basic_challenge_async() -> None:
    """AsyncClient twin of test_digest_realm_not_taken_from_a_following_basic_challenge_sync."""
    with digest_server(DIGEST_THEN_BASIC) as site:
        response = await _aget(site.url, wirekit.DigestAuth("user", PASSWORD))
    answer = site.authorizations[-1] or b""
    assert b'realm="other"' not in answer
    assert response.status_code == 200


# RFC 7616 §3.7: one challenge per algorithm, the server's preferred first.
UNKNOWN_ALGORITHM_FIRST = [
    'Digest realm="area", nonce="n-1", qop="auth", algorithm=SHA-3-FUTURE',
    'Digest realm="area", nonce="n-1", qop="auth", algorithm=SHA-256',
    'Digest realm="area", nonce="n-1", qop="auth", algorithm=MD5',
]


def test_digest_uses_first_supported_algorithm_sync() -> None:
    """A server sends three Digest challenges (an algorithm wirekit does not know, then
    SHA-256, then MD5), as RFC 7616 §3.7 describes. The client SHOULD use the first one
    it supports; wirekit takes only the first challenge and raises RemoteProtocolError
    ("unsupported Digest algorithm"), so the user cannot log in at all. requests gets 200
    from the same server (it merges the fields and answers with the MD5 one)."""
    with digest_server(UNKNOWN_ALGORITHM_FIRST) as site:
        response = _get(site.url, wirekit.DigestAuth("user", PASSWORD))
    assert response.status_code == 200
    assert b"algorithm=SHA-256" in (site.authorizations[-1] or b"")


@pytest.mark.anyio
async def test_digest_uses_first_supported_algorithm_async() -> None:
    """AsyncClient twin of test_digest_uses_first_supported_algorithm_sync."""
    with digest_server(UNKNOWN_ALGORITHM_FIRST) as site:
        response = await _aget(site.url, wirekit.DigestAuth("user", PASSWORD))
    assert response.status_code == 200
    assert b"algorithm=SHA-256" in (site.authorizations[-1] or b"")


UTF8_CHALLENGE = ['Digest realm="area", nonce="n-1", qop="auth", charset=UTF-8']
NON_ASCII_USER = "jürgen"


def _username_consistent(answer: bytes) -> bool:
    """The user name the answer names is the one it hashed (UTF-8): either as
    ``username*=UTF-8''j%C3%BCrgen`` (RFC 7616 §3.4.4) or as UTF-8 octets."""
    return b"username*=UTF-8''j%C3%BCrgen" in answer or b'username="j\xc3\xbcrgen"' in answer


def test_digest_non_ascii_username_sync() -> None:
    """``DigestAuth("jürgen", ...)`` against a server announcing ``charset=UTF-8``:
    wirekit hashes the UTF-8 bytes of the name but sends ``username="j\\xfcrgen"``
    (latin-1 on the wire), a name the server does not know, so the user sees 401. RFC
    7616 §3.4.4 sends such a name as ``username*=UTF-8''j%C3%BCrgen``; httpx refuses
    to send the header at all (UnicodeEncodeError) rather than send a mismatch."""
    with digest_server(
        UTF8_CHALLENGE, username=NON_ASCII_USER.encode("utf-8"), accept_username_star=True
    ) as site:
        response = _get(site.url, wirekit.DigestAuth(NON_ASCII_USER, PASSWORD))
    assert _username_consistent(site.authorizations[-1] or b"")
    assert response.status_code == 200


@pytest.mark.anyio
async def test_digest_non_ascii_username_async() -> None:
    """AsyncClient twin of test_digest_non_ascii_username_sync."""
    with digest_server(
        UTF8_CHALLENGE, username=NON_ASCII_USER.encode("utf-8"), accept_username_star=True
    ) as site:
        response = await _aget(site.url, wirekit.DigestAuth(NON_ASCII_USER, PASSWORD))
    assert _username_consistent(site.authorizations[-1] or b"")
    assert response.status_code == 200
