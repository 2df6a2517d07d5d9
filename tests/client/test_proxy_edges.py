"""Proxy edges found by a differential review of wirekit.Client / AsyncClient.

Each test failed before its fix and shows a bug a user would hit; the docstrings say what
the user saw and what requests / httpx / curl do instead.
Real loopback peers only (127.0.0.0/8, Unix sockets, microsocks from tests/support).
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wirekit
from tests.client.conftest import HashingServer
from tests.support.handler_peer import Peer, Seen, response
from tests.support.helpers import secrets_in_frame_locals
from tests.support.scripted import ScriptedServer, close, expect, send
from wirekit.net import CachingResolver

# -- helpers -------------------------------------------------------------------------------


def _proxy_answer(req: Seen, peer: Peer) -> bytes:
    """A forward proxy that answers by itself: the body says the request came through it."""
    return response(200, body=b"via the proxy")


class _Recorder:
    """An HTTP server on a listening socket (TCP or Unix): records each request head,
    answers 200 "ok" and closes."""

    def __init__(self, sock: socket.socket) -> None:
        self.heads: list[bytes] = []
        self.path = ""  # a Unix socket's
        self._sock = sock
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        ends = time.monotonic() + 30
        while not self._stop.is_set() and time.monotonic() < ends:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data and len(data) < 65536:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self.heads.append(data.partition(b"\r\n\r\n")[0])
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    )
                except OSError:
                    pass

    def __enter__(self) -> _Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


@contextlib.contextmanager
def _unix_recorder() -> Iterator[_Recorder]:
    """A recorder on a Unix socket (its ``path``)."""
    # A short directory: a Unix socket path is limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="wkrp") as directory:
        path = str(Path(directory) / "s.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        with _Recorder(sock) as server:
            server.path = path
            yield server


# -- 1. uds= plus a proxy in the environment ---------------------------------------------------

_ENV_PROXY = "http://puser:psecret@127.0.0.1:9"


def _assert_plain_origin_request(heads: list[bytes]) -> None:
    assert heads, "the Unix socket server saw no request"
    head = heads[0]
    request_line = head.split(b"\r\n", 1)[0]
    assert request_line == b"GET /v1/info HTTP/1.1", request_line
    assert b"proxy-authorization" not in head.lower(), head


def test_uds_request_ignores_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Client(uds=...) with HTTP_PROXY set in the environment (common on corporate machines,
    e.g. talking to /var/run/docker.sock): wirekit speaks to the Unix socket as if it were
    the proxy. It sends the absolute-form target "GET http://localhost/v1/info" and the
    proxy's credentials (Proxy-Authorization: Basic puser:psecret) to the Unix socket server.
    curl --unix-socket (proxies "have no effect" there) and httpx (HTTPTransport(uds=...))
    send "GET /v1/info" and no proxy credentials."""
    monkeypatch.setenv("HTTP_PROXY", _ENV_PROXY)
    monkeypatch.setenv("http_proxy", _ENV_PROXY)
    with _unix_recorder() as server:
        with wirekit.Client(uds=server.path, retry=0, timeout=10) as client:
            assert client.get("http://localhost/v1/info").text == "ok"
    _assert_plain_origin_request(server.heads)


@pytest.mark.anyio
async def test_async_uds_request_ignores_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AsyncClient twin of test_uds_request_ignores_environment_proxy: the proxy's request
    form and credentials go to the Unix socket server."""
    monkeypatch.setenv("HTTP_PROXY", _ENV_PROXY)
    monkeypatch.setenv("http_proxy", _ENV_PROXY)
    with _unix_recorder() as server:
        async with wirekit.AsyncClient(uds=server.path, retry=0, timeout=10) as client:
            assert (await client.get("http://localhost/v1/info")).text == "ok"
    _assert_plain_origin_request(server.heads)


# -- 2. proxy={"no_proxy": "a,b"}: the string is read character by character ------------------

NO_PROXY_CASES = [
    # (no_proxy value, whether a request to 127.0.0.1 must go through the proxy)
    pytest.param("127.0.0.1,localhost", False, id="listed-host-still-proxied"),
    pytest.param("*.internal.example", True, id="star-in-a-pattern-bypasses-everything"),
]


def _mapping(proxy_url: str, no_proxy: str) -> dict[str, str]:
    return {"http": proxy_url, "no_proxy": no_proxy}


@pytest.mark.parametrize(("no_proxy", "proxied"), NO_PROXY_CASES)
def test_no_proxy_string_in_proxy_mapping(no_proxy: str, proxied: bool) -> None:
    """proxy={"http": P, "no_proxy": "127.0.0.1,localhost"} (explicit_proxies reads a
    "no_proxy" key; a string in NO_PROXY format is the natural value) is turned into the
    tuple of its characters ("1", "2", "7", ".", ...): the listed host still goes through
    the proxy, and a value with a "*" anywhere ("*.internal.example") makes every request
    skip the proxy and go direct, silently. Expected: the comma-separated list honoured as
    NO_PROXY is (or the string refused with TypeError/ValueError). requests, given the same
    dict, sends both requests through the proxy (it never bypasses an explicit proxy)."""
    with Peer(_proxy_answer) as proxy, HashingServer() as origin:
        try:
            client = wirekit.Client(proxy=_mapping(proxy.url, no_proxy), retry=0, timeout=10)
        except (TypeError, ValueError):
            return  # refusing the string form outright is acceptable
        with client:
            text = client.get(origin.url + "/np").text
    assert (text == "via the proxy") is proxied, text


@pytest.mark.anyio
@pytest.mark.parametrize(("no_proxy", "proxied"), NO_PROXY_CASES)
async def test_async_no_proxy_string_in_proxy_mapping(no_proxy: str, proxied: bool) -> None:
    """AsyncClient twin of test_no_proxy_string_in_proxy_mapping."""
    with Peer(_proxy_answer) as proxy, HashingServer() as origin:
        try:
            client = wirekit.AsyncClient(proxy=_mapping(proxy.url, no_proxy), retry=0, timeout=10)
        except (TypeError, ValueError):
            return
        async with client:
            text = (await client.get(origin.url + "/np")).text
    assert (text == "via the proxy") is proxied, text


# -- 3. Client + CachingResolver + socks5:// : the resolver is ignored ----------------------


def test_socks5_local_dns_uses_the_clients_caching_resolver(socks_proxy) -> None:
    """Client(resolver=wirekit.net.CachingResolver(...), proxy="socks5://...") (the resolver
    the docs name as the example): with socks5:// the client resolves the target itself,
    and AsyncClient asks the given resolver, but Client silently asks the system resolver
    instead. The SOCKS backend picks its resolver with `resolver or inherited or
    SystemResolver()`, and an empty CachingResolver is falsy (it has __len__). Here the
    resolver says the name is 127.0.0.2, where the service listens; the system says
    127.0.0.1, so the user sees ProxyError "Connection refused by destination host".
    Without the proxy, the same Client uses the resolver and succeeds."""
    looked_up: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]

    with _listener_on("127.0.0.2") as port:
        url = f"http://localhost:{port}/socks"
        with wirekit.Client(
            resolver=CachingResolver(getaddrinfo=getaddrinfo), retry=0, timeout=10
        ) as client:
            assert client.get(url).status_code == 200  # direct: the resolver is used
        looked_up.clear()
        with wirekit.Client(
            proxy=socks_proxy.url,
            resolver=CachingResolver(getaddrinfo=getaddrinfo),
            retry=0,
            timeout=10,
        ) as client:
            assert client.get(url).status_code == 200
    assert looked_up == ["localhost"]


@contextlib.contextmanager
def _listener_on(host: str) -> Iterator[int]:
    """An HTTP/1.1 peer on ``host`` answering every request 200 (Connection: close)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    with _Recorder(listener):
        yield listener.getsockname()[1]


# -- 4. a forward proxy that breaks: the error blames the origin ------------------------------

BROKEN_FORWARD_PROXY = [
    pytest.param([expect(), close()], id="closes-without-answer"),
    # What a SOCKS5 server (microsocks) answers to an HTTP request: a common mistake is
    # HTTP_PROXY=http://host:1080 pointing at a SOCKS proxy.
    pytest.param([expect(), send(b"\x05\xff"), close()], id="not-http"),
]


def _assert_names_the_proxy(error: BaseException, proxy_port: int) -> None:
    message = str(error)
    assert "proxy" in message.lower(), message
    assert str(proxy_port) in message, message


@pytest.mark.parametrize("script", BROKEN_FORWARD_PROXY)
def test_broken_forward_proxy_error_names_the_proxy(script) -> None:
    """A plain-HTTP request through an HTTP proxy that closes without answering, or answers
    with something that is not HTTP: wirekit says "origin.invalid:8080: server closed the
    connection without sending a response" / "origin.invalid:8080: malformed response",
    blaming an origin it never reached (the proxy did not even resolve it). A refused CONNECT
    and a proxy that breaks off CONNECT do name the proxy. requests names the proxy
    (HTTPConnectionPool(host='127.0.0.1', port=<proxy>) ... ProxyError('Unable to connect to
    proxy', RemoteDisconnected(...)) for the close case)."""
    with ScriptedServer(script) as proxy:
        with wirekit.Client(proxy=f"http://127.0.0.1:{proxy.port}", retry=0, timeout=10) as c:
            with pytest.raises(wirekit.TransportError) as caught:
                c.get("http://origin.invalid:8080/x")
    _assert_names_the_proxy(caught.value, proxy.port)


@pytest.mark.anyio
@pytest.mark.parametrize("script", BROKEN_FORWARD_PROXY)
async def test_async_broken_forward_proxy_error_names_the_proxy(script) -> None:
    """AsyncClient twin of test_broken_forward_proxy_error_names_the_proxy."""
    with ScriptedServer(script) as proxy:
        async with wirekit.AsyncClient(
            proxy=f"http://127.0.0.1:{proxy.port}", retry=0, timeout=10
        ) as client:
            with pytest.raises(wirekit.TransportError) as caught:
                await client.get("http://origin.invalid:8080/x")
    _assert_names_the_proxy(caught.value, proxy.port)


# -- 5. a password with an unencoded "/", "#" or "?" is printed whole -------------------------

UNENCODED_PASSWORDS = [
    pytest.param("http://puser:Winter/2024@127.0.0.1:3128", "Winter/2024", id="slash"),
    pytest.param("http://puser:pass#word1@127.0.0.1:3128", "pass#word1", id="hash"),
    pytest.param("socks5h://puser:why?not@127.0.0.1:1080", "why?not", id="question-socks"),
]


@pytest.mark.parametrize(("proxy", "password"), UNENCODED_PASSWORDS)
def test_unencoded_proxy_password_not_in_error(proxy: str, password: str) -> None:
    """A proxy URL whose password has an unescaped "/", "#" or "?" (a frequent slip: the
    password was not percent-encoded) cannot be parsed, and the InvalidURL message then
    carries the whole URL, password included ("invalid port 'Winter' in URL
    'http://puser:Winter/2024@127.0.0.1:3128'"): redact() stops looking for the userinfo at
    the first "/", "?" or "#". Every other invalid proxy URL is shown as user:***@. requests
    and httpx only echo the fragment they could not parse ("Invalid port: 'Winter'")."""
    with pytest.raises(wirekit.InvalidURL) as caught:
        wirekit.Client(proxy=proxy)
    assert password not in str(caught.value), str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize(("proxy", "password"), UNENCODED_PASSWORDS)
async def test_async_unencoded_proxy_password_not_in_error(proxy: str, password: str) -> None:
    """AsyncClient twin of test_unencoded_proxy_password_not_in_error."""
    with pytest.raises(wirekit.InvalidURL) as caught:
        wirekit.AsyncClient(proxy=proxy)
    assert password not in str(caught.value), str(caught.value)


def test_unencoded_proxy_password_from_environment_not_in_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same with HTTPS_PROXY from the environment: Client() (no arguments) raises an
    InvalidURL whose message holds the proxy password in clear."""
    monkeypatch.setenv("HTTPS_PROXY", "http://puser:pass#word1@127.0.0.1:3128")
    with pytest.raises(wirekit.InvalidURL) as caught:
        wirekit.Client()
    assert "pass#word1" not in str(caught.value), str(caught.value)


# -- 6. SOCKS proxy credentials in the repr of what every SOCKS connect holds ----------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_socks_failure_traceback_locals_hide_the_proxy_password() -> None:
    """A SOCKS proxy that refuses: the ProxyError's frames hold the parsed proxy as
    SocksProxyURL, whose dataclass repr prints password='psecret' (and the sync tunnel's
    `arguments` dict prints it too). Error trackers that record frame locals (Sentry does by
    default) then store the proxy password. The same failure through an HTTP proxy shows
    none: URL and ProxyConfig reprs print user:***@."""
    proxy = f"socks5://puser:psecret@127.0.0.1:{_free_port()}"
    with wirekit.Client(proxy=proxy, retry=0, timeout=10) as client:
        with pytest.raises(wirekit.ProxyError) as caught:
            client.get("http://127.0.0.1:9/")
    assert secrets_in_frame_locals(caught.value, "psecret") == []


@pytest.mark.anyio
async def test_async_socks_failure_traceback_locals_hide_the_proxy_password() -> None:
    """AsyncClient twin of test_socks_failure_traceback_locals_hide_the_proxy_password."""
    proxy = f"socks5://puser:psecret@127.0.0.1:{_free_port()}"
    async with wirekit.AsyncClient(proxy=proxy, retry=0, timeout=10) as client:
        with pytest.raises(wirekit.ProxyError) as caught:
            await client.get("http://127.0.0.1:9/")
    assert secrets_in_frame_locals(caught.value, "psecret") == []


# -- the proxy named as host:port, an IPv6 one in brackets ------------------------------------


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (b"HTTP/1.1 200 OK\r\n\r\nEXTRA", "sent data after accepting CONNECT"),
        (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "refused CONNECT"),
    ],
)
def test_connect_errors_name_an_ipv6_proxy_with_brackets_and_port(answer: bytes, says: str) -> None:
    """Found with the review above: "proxy ::1:45621 refused CONNECT" (which reads as a host
    "::1:45621") and "proxy 127.0.0.1 sent data after accepting CONNECT" (no port)."""
    with ScriptedServer([expect(), send(answer), close()], host="::1") as proxy:
        with wirekit.Client(proxy=f"http://[::1]:{proxy.port}", retry=0, timeout=10) as c:
            with pytest.raises(wirekit.ProxyError) as caught:
                c.get("https://origin.test/")
    assert f"proxy [::1]:{proxy.port} {says}" in str(caught.value)
