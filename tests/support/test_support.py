"""Each shared test peer starts and answers one request (http.client or a raw socket)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import struct

import pytest

from tests.support.certs import Certs
from tests.support.helpers import free_port, open_fds
from tests.support.keepalive import KeepAliveServer
from tests.support.programs import MicrosocksProxy, NginxServer, SquidProxy
from tests.support.scripted import (
    ScriptedServer,
    close,
    expect,
    hold,
    reset,
    send,
    shutdown_write,
    trickle,
)
from tests.support.wsgi_server import ThreadedWSGIServer

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def _recv_all(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_free_port_and_open_fds() -> None:
    port = free_port()
    assert 0 < port < 65536
    before = open_fds()
    sock = socket.socket()
    assert open_fds() == before + 1
    sock.close()
    assert open_fds() == before


def test_scripted_server_sends_and_records() -> None:
    with ScriptedServer([expect(), send(b"HTTP/1.1 200 OK\r\n\r\nhi"), close()]) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(REQUEST)
            assert _recv_all(sock) == b"HTTP/1.1 200 OK\r\n\r\nhi"
        server.connections[0].finished.wait(10)
    assert server.received == [REQUEST]
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_scripted_server_reset_is_seen_as_reset() -> None:
    script = [expect(), send(b"HTTP/1.1 200 OK\r\n"), reset()]
    with (
        ScriptedServer(script) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(REQUEST)
        with pytest.raises(ConnectionResetError):
            _recv_all(sock)


def test_scripted_server_half_close_and_trickle_and_per_connection_scripts() -> None:
    first = [expect(), trickle(b"abc", 0.01), shutdown_write(), expect(b"bye")]
    second = [hold()]
    with ScriptedServer(first, second) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(REQUEST)
            assert _recv_all(sock) == b"abc"  # EOF after the half-close
            sock.sendall(b"bye")  # the server still reads
            server.connections[0].finished.wait(10)
        assert server.received[0] == REQUEST + b"bye"
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.settimeout(0.2)
            try:
                sock.recv(1)
            except TimeoutError:
                pass
            else:
                raise AssertionError("hold() must not answer")


def test_keepalive_server_counts_connections_and_requests() -> None:
    with KeepAliveServer(b"pong") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for _ in range(3):
            conn.request("POST", "/", body=b"x" * 10)
            response = conn.getresponse()
            assert response.read() == b"pong"
        conn.close()
    assert (server.connections, server.requests) == (1, 3)


def test_certs_fixture_files_exist(certs: Certs) -> None:
    for path in (certs.ca_file, certs.server_cert_file, certs.client_key_file):
        assert path.read_bytes().startswith(b"-----BEGIN")


def test_httpbin_server_answers(httpbin_server: ThreadedWSGIServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", httpbin_server.port, timeout=10)
    conn.request("GET", "/get?a=1")
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["args"] == {"a": "1"}
    conn.close()


def test_httpbin_tls_server_answers(httpbin_tls_server: ThreadedWSGIServer, certs: Certs) -> None:
    context = certs.client_context()
    conn = http.client.HTTPSConnection(
        "localhost", httpbin_tls_server.port, timeout=10, context=context
    )
    conn.request("GET", "/status/204")
    assert conn.getresponse().status == 204
    conn.close()
    assert httpbin_tls_server.url.startswith("https://127.0.0.1:")


def test_nginx_serves_files_over_http_and_https(nginx_server: NginxServer, certs: Certs) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", nginx_server.http_port, timeout=10)
    conn.request("GET", "/small.txt")
    assert conn.getresponse().read() == NginxServer.SMALL_BODY
    conn.request("GET", "/echo", headers={"X-Test": "yes"})  # same connection: keep-alive
    echo = conn.getresponse().read().decode()
    assert "method: GET" in echo
    assert "x-test: yes" in echo
    conn.close()
    tls = http.client.HTTPSConnection(
        "localhost", nginx_server.https_port, timeout=10, context=certs.client_context()
    )
    tls.request("GET", "/1mb.bin")
    assert len(tls.getresponse().read()) == 1024 * 1024
    tls.close()


def test_squid_proxies_a_request(squid_proxy: SquidProxy, nginx_server: NginxServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", squid_proxy.port, timeout=10)
    conn.request("GET", f"{nginx_server.url}/small.txt")
    response = conn.getresponse()
    assert response.status == 200, squid_proxy.log()
    assert response.read() == NginxServer.SMALL_BODY
    conn.close()


def test_squid_tunnels_connect(
    squid_proxy: SquidProxy, nginx_server: NginxServer, certs: Certs
) -> None:
    conn = http.client.HTTPSConnection(
        "localhost", nginx_server.https_port, timeout=10, context=certs.client_context()
    )
    conn.set_tunnel("localhost", nginx_server.https_port)
    conn.host, conn.port = "127.0.0.1", squid_proxy.port
    conn.request("GET", "/small.txt")
    assert conn.getresponse().read() == NginxServer.SMALL_BODY
    conn.close()


def test_squid_auth_proxy_demands_credentials(
    squid_auth_proxy: SquidProxy, nginx_server: NginxServer
) -> None:
    import base64

    conn = http.client.HTTPConnection("127.0.0.1", squid_auth_proxy.port, timeout=10)
    conn.request("GET", f"{nginx_server.url}/small.txt")
    response = conn.getresponse()
    response.read()
    assert response.status == 407
    token = base64.b64encode(
        f"{squid_auth_proxy.username}:{squid_auth_proxy.password}".encode()
    ).decode()
    conn.request(
        "GET", f"{nginx_server.url}/small.txt", headers={"Proxy-Authorization": f"Basic {token}"}
    )
    response = conn.getresponse()
    assert response.status == 200, squid_auth_proxy.log()
    assert response.read() == NginxServer.SMALL_BODY
    conn.close()


def _socks5_connect(
    proxy_port: int, target_port: int, auth: tuple[str, str] | None
) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
    method = 2 if auth else 0
    sock.sendall(bytes([5, 1, method]))
    assert sock.recv(2) == bytes([5, method])
    if auth:
        user, password = (s.encode() for s in auth)
        sock.sendall(bytes([1, len(user)]) + user + bytes([len(password)]) + password)
        assert sock.recv(2) == b"\x01\x00"
    sock.sendall(
        b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", target_port)
    )
    reply = sock.recv(10)
    assert reply[:2] == b"\x05\x00", reply
    return sock


def test_socks_proxy_tunnels(socks_proxy: MicrosocksProxy) -> None:
    with (
        KeepAliveServer(b"through socks") as server,
        _socks5_connect(socks_proxy.port, server.port, None) as sock,
    ):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _recv_all(sock).endswith(b"through socks")


def test_socks_auth_proxy_tunnels(socks_auth_proxy: MicrosocksProxy) -> None:
    assert socks_auth_proxy.username is not None
    assert socks_auth_proxy.password is not None
    with KeepAliveServer(b"authenticated") as server:
        credentials = (socks_auth_proxy.username, socks_auth_proxy.password)
        with _socks5_connect(socks_auth_proxy.port, server.port, credentials) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _recv_all(sock).endswith(b"authenticated")


def test_tls_server_context_requires_client_cert(certs: Certs) -> None:
    context = certs.server_context(require_client_cert=True)
    assert context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.slow
def test_nginx_large_file_matches_its_digest(nginx_server: NginxServer) -> None:
    import hashlib

    path, expected = nginx_server.large_file()
    assert nginx_server.large_file() == (path, expected)  # made once
    conn = http.client.HTTPConnection("127.0.0.1", nginx_server.http_port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    digest = hashlib.sha256()
    for _ in range(10_000):  # 100 MiB in 1 MiB reads
        chunk = response.read(1 << 20)
        if not chunk:
            break
        digest.update(chunk)
    conn.close()
    assert digest.hexdigest() == expected
