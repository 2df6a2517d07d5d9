"""Shared pytest fixtures: real loopback peers for every test suite.

Session-scoped (started once, stopped at session end): ``certs``, ``httpbin_server``,
``httpbin_tls_server``, ``nginx_server``, ``squid_proxy``, ``squid_auth_proxy``,
``socks_proxy``, ``socks_auth_proxy``, ``socks4_proxy``, ``socks4a_proxy``. Plain classes
(``ScriptedServer``, ``KeepAliveServer``) and helpers (``free_port``, ``open_fds``) are
imported directly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.support.certs import Certs, make_certs
from tests.support.programs import MicrosocksProxy, NginxServer, SquidProxy
from tests.support.socks4 import DanteProxy, OpenSSHSocksProxy
from tests.support.wsgi_server import ThreadedWSGIServer

#: Credentials of the proxies that demand authentication.
PROXY_USER = "wirekit"
PROXY_PASSWORD = "s3cret-pass"


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """trustme CA, server cert (localhost, 127.0.0.1, ::1) and client cert as PEM files."""
    return make_certs(tmp_path_factory.mktemp("certs"))


def _httpbin_app() -> object:
    # httpbin logs a warning at import when flasgger is missing; it is harmless here.
    logging.getLogger("httpbin").setLevel(logging.ERROR)
    import httpbin  # type: ignore[import-untyped]

    return httpbin.app


@pytest.fixture(scope="session")
def httpbin_server() -> Iterator[ThreadedWSGIServer]:
    """httpbin on http://127.0.0.1:<port> (werkzeug threaded server)."""
    with ThreadedWSGIServer(_httpbin_app()) as server:
        yield server


@pytest.fixture(scope="session")
def httpbin_tls_server(certs: Certs) -> Iterator[ThreadedWSGIServer]:
    """httpbin on https://127.0.0.1:<port> with the trustme server certificate."""
    with ThreadedWSGIServer(_httpbin_app(), ssl_context=certs.server_context()) as server:
        yield server


@pytest.fixture(scope="session")
def nginx_server(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[NginxServer]:
    server = NginxServer(tmp_path_factory.mktemp("nginx"), certs).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def squid_proxy() -> Iterator[SquidProxy]:
    """squid forward proxy (http://127.0.0.1:<port>), CONNECT allowed, no auth."""
    proxy = SquidProxy().start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def squid_auth_proxy() -> Iterator[SquidProxy]:
    """squid demanding Basic proxy auth: ``PROXY_USER`` / ``PROXY_PASSWORD``."""
    proxy = SquidProxy(username=PROXY_USER, password=PROXY_PASSWORD).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def socks_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MicrosocksProxy]:
    """microsocks SOCKS5 proxy without authentication."""
    proxy = MicrosocksProxy(tmp_path_factory.mktemp("socks")).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def socks_auth_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MicrosocksProxy]:
    """microsocks SOCKS5 proxy demanding ``PROXY_USER`` / ``PROXY_PASSWORD``."""
    proxy = MicrosocksProxy(
        tmp_path_factory.mktemp("socks-auth"), username=PROXY_USER, password=PROXY_PASSWORD
    ).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def socks4_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DanteProxy]:
    """Dante (danted) SOCKS4 proxy without authentication; no SOCKS4a."""
    proxy = DanteProxy(tmp_path_factory.mktemp("socks4")).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def socks4a_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSSHSocksProxy]:
    """OpenSSH ``ssh -D`` SOCKS4/4a proxy (through a private sshd), logging requested hosts."""
    proxy = OpenSSHSocksProxy(tmp_path_factory.mktemp("socks4a")).start()
    try:
        yield proxy
    finally:
        proxy.stop()
