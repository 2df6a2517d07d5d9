"""Proxies, TLS, auth and environment handling of Client / AsyncClient.

Each test failed before the fix of the bug it names (found by a review).
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import wirekit
from tests.support.handler_peer import Peer, Seen, _read_request, response
from tests.support.scripted import ScriptedServer, close, expect, hold, send


def _proxy_credentials(seen: Seen) -> bytes | None:
    value = seen.headers.get("proxy-authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(token)


@contextmanager
def _tls_forward_proxy(context: ssl.SSLContext) -> Iterator[dict]:
    """An HTTPS proxy (TLS to the proxy itself) answering absolute-form requests."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    state: dict = {"port": listener.getsockname()[1], "seen": [], "errors": []}
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            try:
                tls = context.wrap_socket(conn, server_side=True)
                seen = _read_request(tls)
                if seen is not None:
                    state["seen"].append(seen)
                    tls.sendall(response(200, body=b"via the TLS proxy"))
                tls.close()
            except (OSError, ssl.SSLError) as exc:
                state["errors"].append(repr(exc))
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(5)
        listener.close()


# -- 1. proxy credentials are percent-decoded twice ----------------------------------------


def test_proxy_password_with_percent_escape_is_decoded_once() -> None:
    # The password is literally "p%41ss" (its "%" written as "%25" in the URL, as required).
    with Peer(lambda req, peer: response(200, body=b"ok")) as proxy:
        url = f"http://us%40er:p%2541ss@127.0.0.1:{proxy.port}"
        with wirekit.Client(proxy=url, retry=0) as client:
            assert client.get("http://origin.invalid/x").status_code == 200
        assert _proxy_credentials(proxy.seen[0]) == b"us@er:p%41ss"


def test_proxy_password_from_environment_is_decoded_once(monkeypatch) -> None:
    with Peer(lambda req, peer: response(200, body=b"ok")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://user:100%2525@127.0.0.1:{proxy.port}")
        with wirekit.Client(retry=0) as client:
            assert client.get("http://origin.invalid/x").status_code == 200
        assert _proxy_credentials(proxy.seen[0]) == b"user:100%25"


@pytest.mark.anyio
async def test_async_proxy_password_with_percent_escape_is_decoded_once() -> None:
    with Peer(lambda req, peer: response(200, body=b"ok")) as proxy:
        url = f"http://user:a%252Fb@127.0.0.1:{proxy.port}"
        async with wirekit.AsyncClient(proxy=url, retry=0) as client:
            assert (await client.get("http://origin.invalid/x")).status_code == 200
        assert _proxy_credentials(proxy.seen[0]) == b"user:a%2Fb"


# -- 2. an https:// proxy is spoken to in plain text ----------------------------------------


def test_https_proxy_is_reached_over_tls(certs) -> None:
    with _tls_forward_proxy(certs.server_context()) as proxy:
        with wirekit.Client(
            proxy=f"https://127.0.0.1:{proxy['port']}",
            verify=str(certs.ca_file),
            retry=0,
            timeout=10,
        ) as client:
            response_ = client.get("http://origin.invalid/x")
        assert proxy["errors"] == []
        assert response_.text == "via the TLS proxy"
        assert proxy["seen"][0].target == "http://origin.invalid/x"


@pytest.mark.anyio
async def test_async_https_proxy_is_reached_over_tls(certs) -> None:
    with _tls_forward_proxy(certs.server_context()) as proxy:
        async with wirekit.AsyncClient(
            proxy=f"https://127.0.0.1:{proxy['port']}",
            verify=str(certs.ca_file),
            retry=0,
            timeout=10,
        ) as client:
            response_ = await client.get("http://origin.invalid/x")
        assert proxy["errors"] == []
        assert response_.text == "via the TLS proxy"


# -- 3. a proxy that closes or stalls during CONNECT -----------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        [expect(), close()],
        [expect(), send(b"HTTP/1.1 200 Conn"), close()],
        [expect(), send(b"HTTP/1.1 200 Connection established\r\nVia: x\r\n"), close()],
    ],
    ids=["closed-before-answer", "closed-in-status-line", "closed-in-headers"],
)
def test_proxy_closing_during_connect_is_a_proxy_error_naming_it(script) -> None:
    with ScriptedServer(script) as proxy:
        with wirekit.Client(proxy=f"http://127.0.0.1:{proxy.port}", retry=0, timeout=10) as c:
            with pytest.raises(wirekit.ProxyError) as caught:
                c.get("https://origin.invalid/")
    assert str(proxy.port) in str(caught.value)


@pytest.mark.anyio
async def test_async_proxy_closing_during_connect_is_a_proxy_error() -> None:
    with ScriptedServer([expect(), close()]) as proxy:
        async with wirekit.AsyncClient(
            proxy=f"http://127.0.0.1:{proxy.port}", retry=0, timeout=10
        ) as client:
            with pytest.raises(wirekit.ProxyError) as caught:
                await client.get("https://origin.invalid/")
    assert str(proxy.port) in str(caught.value)


def test_proxy_silent_during_connect_timeout_names_the_proxy() -> None:
    with ScriptedServer([expect(), hold()]) as proxy:
        with wirekit.Client(
            proxy=f"http://127.0.0.1:{proxy.port}", retry=0, timeout=wirekit.Timeout(10, read=0.5)
        ) as client:
            with pytest.raises(wirekit.ReadTimeout) as caught:
                client.get("https://origin.invalid/")
    # The silent peer is the proxy; the origin was never reached.
    assert str(proxy.port) in str(caught.value)
    assert "origin.invalid:443" not in str(caught.value).split(" while ")[0]


# -- 4. cert= is silently dropped when verify is an SSLContext --------------------------------


@contextmanager
def _one_tls_answer(server_context: ssl.SSLContext, body: bytes) -> Iterator[tuple[int, list]]:
    """A TLS server on 127.0.0.1 answering one request with 200 ``body``; yields its port
    and the client certificates it saw (one per handshake that completed)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(10)
    peers: list = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.settimeout(5)
        try:
            tls = server_context.wrap_socket(conn, server_side=True)
            peers.append(tls.getpeercert())
            _read_request(tls)
            tls.sendall(response(200, body=body))
            tls.close()
        except (OSError, ssl.SSLError):
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], peers
    finally:
        listener.close()
        thread.join(5)


def test_client_certificate_is_not_silently_ignored_with_an_ssl_context(certs) -> None:
    server_context = certs.server_context(require_client_cert=True)
    cert = (str(certs.client_cert_file), str(certs.client_key_file))
    with _one_tls_answer(server_context, b"mtls ok") as (port, peers):
        try:
            client = wirekit.Client(verify=certs.client_context(), cert=cert, retry=0, timeout=10)
        except (TypeError, ValueError):
            return  # refusing the combination loudly is a fix too
        with client:
            assert client.get(f"https://127.0.0.1:{port}/").text == "mtls ok"
        assert peers
        assert peers[0]


# -- 5. trust_env=False still trusts SSL_CERT_FILE ---------------------------------------------


def test_trust_env_false_ignores_ssl_cert_file(certs, monkeypatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca_file))
    with _one_tls_answer(certs.server_context(), b"trusted") as (port, _):
        with wirekit.Client(trust_env=False, retry=0, timeout=10) as client:
            with pytest.raises(wirekit.TLSError):
                client.get(f"https://127.0.0.1:{port}/")


# -- 6. userinfo of a redirect's Location goes on the wire to a forward proxy ---------------


def test_userinfo_in_a_redirect_location_is_not_sent_to_the_proxy() -> None:
    def handler(req: Seen, peer: Peer) -> bytes:
        if req.target.endswith("/start"):
            return response(302, [("Location", "http://bob:hunter2@other.invalid/next")])
        return response(200, body=b"landed")

    with Peer(handler) as proxy:
        with wirekit.Client(proxy=proxy.url, retry=0) as client:
            result = client.get("http://origin.invalid/start")
        assert result.text == "landed"
        targets = [seen.target for seen in proxy.seen]
    # RFC 9110 §4.2.4: a sender MUST NOT generate userinfo; the initial URL's is stripped.
    assert targets[-1] == "http://other.invalid/next", targets
    assert all("hunter2" not in target for target in targets)


@pytest.mark.anyio
async def test_async_userinfo_in_a_redirect_location_is_not_sent_to_the_proxy() -> None:
    def handler(req: Seen, peer: Peer) -> bytes:
        if req.target.endswith("/start"):
            return response(302, [("Location", "http://bob:hunter2@origin.invalid/next")])
        return response(200, body=b"landed")

    with Peer(handler) as proxy:
        async with wirekit.AsyncClient(proxy=proxy.url, retry=0) as client:
            result = await client.get("http://origin.invalid/start")
        assert result.text == "landed"
        assert all("hunter2" not in seen.target for seen in proxy.seen)


# -- 7. DigestAuth's cached challenge is replayed to other hosts and never renewed -------------


def _digest_server(realm: str, nonces: list[str], uses_per_nonce: int = 1000):
    """A Digest (MD5, qop=auth) origin; moves to the next nonce after ``uses_per_nonce``
    successes and, like many servers, then answers an old nonce without ``stale=true``."""
    import hashlib

    from wirekit.client.auth import parse_challenge

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    state = {"index": 0, "uses": 0}

    def handler(req: Seen, peer: Peer) -> bytes:
        nonce = nonces[min(state["index"], len(nonces) - 1)]
        challenge = [("WWW-Authenticate", f'Digest realm="{realm}", nonce="{nonce}", qop="auth"')]
        value = req.headers.get("authorization")
        if not value:
            return response(401, challenge)
        _, params = parse_challenge(value)
        if params.get("realm") != realm or params.get("nonce") != nonce:
            return response(401, challenge)
        ha1 = md5(f"user:{realm}:pass")
        ha2 = md5(f"{req.method}:{params['uri']}")
        expected = md5(f"{ha1}:{nonce}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        if expected != params["response"]:
            return response(403)
        state["uses"] += 1
        if state["uses"] >= uses_per_nonce:
            state["index"] += 1
            state["uses"] = 0
        return response(200, body=b"authenticated")

    return handler


def test_digest_auth_shared_by_two_hosts_answers_each_hosts_challenge() -> None:
    auth = wirekit.DigestAuth("user", "pass")
    with Peer(_digest_server("realm-a", ["na"])) as a, Peer(_digest_server("realm-b", ["nb"])) as b:
        with wirekit.Client(auth=auth, retry=0) as client:
            assert client.get(a.url + "/x").status_code == 200
            assert client.get(b.url + "/x").status_code == 200
            assert client.get(a.url + "/x").status_code == 200


def test_digest_auth_recovers_when_the_server_changes_its_nonce_without_stale() -> None:
    auth = wirekit.DigestAuth("user", "pass")
    with Peer(_digest_server("realm", ["n1", "n2", "n3"], uses_per_nonce=1)) as origin:
        with wirekit.Client(auth=auth, retry=0) as client:
            codes = [client.get(origin.url + "/x").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
