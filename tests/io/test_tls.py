"""TLS: ``create_ssl_context`` (defaults, caching, verify modes, client certs) and
``start_tls`` on both backends against a trustme-certified loopback server."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.io.peers import TLSEchoServer, TLSTunnel
from tests.support.certs import Certs
from tests.support.helpers import open_fds
from tests.support.scripted import ScriptedServer, hold
from wirekit._io.asyncio import AsyncIOBackend
from wirekit._io.base import NetworkStream
from wirekit._io.sync import SyncBackend
from wirekit._io.tls import create_ssl_context
from wirekit.errors import ConnectTimeout, ReadError, TLSError, WriteError


def test_default_context_verifies_and_checks_hostname() -> None:
    context = create_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_same_configuration_gives_the_same_context() -> None:
    assert create_ssl_context() is create_ssl_context()
    assert create_ssl_context(verify=False) is create_ssl_context(verify=False)
    assert create_ssl_context(alpn=["h2", "http/1.1"]) is create_ssl_context(
        alpn=("h2", "http/1.1")
    )
    assert create_ssl_context(alpn=["h2"]) is not create_ssl_context()


def test_unverified_context_is_separate_from_verified_ones() -> None:
    unverified = create_ssl_context(verify=False)
    assert unverified.verify_mode == ssl.CERT_NONE
    assert not unverified.check_hostname
    assert unverified is not create_ssl_context()
    assert create_ssl_context().verify_mode == ssl.CERT_REQUIRED


def test_a_given_context_is_used_as_is() -> None:
    own = ssl.create_default_context()
    assert create_ssl_context(own) is own


def test_verify_path_trusts_only_that_ca(certs: Certs, tmp_path: Path) -> None:
    context = create_ssl_context(str(certs.ca_file))
    assert context.cert_store_stats()["x509_ca"] == 1
    directory = tmp_path / "cadir"
    directory.mkdir()
    assert create_ssl_context(directory).verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(TLSError, match=r"cannot load CA certificates from verify"):
        create_ssl_context(str(tmp_path / "missing.pem"))


def test_ssl_cert_file_is_honoured_only_with_trust_env(
    certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca_file))
    from_env = create_ssl_context()
    assert from_env.cert_store_stats()["x509_ca"] == 1
    assert create_ssl_context(trust_env=False) is not from_env


def test_client_certificate_loading(certs: Certs) -> None:
    pair = (str(certs.client_cert_file), str(certs.client_key_file))
    assert create_ssl_context(str(certs.ca_file), cert=pair) is create_ssl_context(
        str(certs.ca_file), cert=pair
    )
    with pytest.raises(TLSError, match=r"cannot load client certificate '/.*/nope.pem'"):
        create_ssl_context(cert="nope.pem")


def _trace_into(log: list[tuple[str, dict[str, Any]]]) -> Any:
    return lambda event, info: log.append((event, info))


def test_sync_start_tls_with_a_valid_certificate(certs: Certs) -> None:
    context = create_ssl_context(str(certs.ca_file))
    log: list[tuple[str, dict[str, Any]]] = []
    with TLSEchoServer(certs.server_context()) as server:
        plain = SyncBackend().connect_tcp(
            "127.0.0.1", server.port, timeout=10, trace=_trace_into(log)
        )
        stream = plain.start_tls(context, "localhost", timeout=10)
        stream.write(b"hello over tls")
        assert stream.read(100, timeout=10) == b"hello over tls"
        assert stream.get_extra_info("alpn_protocol") in (None, "http/1.1")
        assert stream.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")
        stream.close()
    done = [info for event, info in log if event == "tls.done"]
    assert done
    assert done[0]["version"] in ("TLSv1.2", "TLSv1.3")
    assert done[0]["cipher"]
    assert [e for e, _ in log if e.startswith("tls.")] == ["tls.start", "tls.done"]


@pytest.mark.anyio
async def test_async_start_tls_with_a_valid_certificate(certs: Certs) -> None:
    context = create_ssl_context(str(certs.ca_file))
    with TLSEchoServer(certs.server_context()) as server:
        plain = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        stream = await plain.start_tls(context, "localhost", timeout=10)
        await stream.write(b"hello over tls")
        assert await stream.read(100, timeout=10) == b"hello over tls"
        assert stream.get_extra_info("ssl_object") is not None
        await stream.aclose()


def test_sync_wrong_host_name_is_a_tls_error_naming_it(certs: Certs) -> None:
    before = open_fds()
    context = create_ssl_context(str(certs.ca_file))
    with TLSEchoServer(certs.server_context()) as server:
        plain = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        with pytest.raises(
            TLSError, match=r"verification failed for wrong.test: Hostname mismatch"
        ) as info:
            plain.start_tls(context, "wrong.test", timeout=10)
        assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert open_fds() == before


@pytest.mark.anyio
async def test_async_wrong_host_name_is_a_tls_error_naming_it(certs: Certs) -> None:
    before = open_fds()
    context = create_ssl_context(str(certs.ca_file))
    with TLSEchoServer(certs.server_context()) as server:
        plain = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        with pytest.raises(
            TLSError, match=r"verification failed for wrong.test: Hostname mismatch"
        ):
            await plain.start_tls(context, "wrong.test", timeout=10)
    assert open_fds() == before


@pytest.mark.parametrize("backend_kind", ["sync", "async"])
def test_untrusted_ca_is_a_tls_error(certs: Certs, backend_kind: str) -> None:
    import asyncio

    other_ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    other_ca.configure_trust(context)
    with TLSEchoServer(certs.server_context()) as server:
        if backend_kind == "sync":
            plain = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
            with pytest.raises(
                TLSError, match=r"localhost: (self-signed|unable to get local issuer)"
            ):
                plain.start_tls(context, "localhost", timeout=10)
        else:

            async def attempt() -> None:
                plain = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
                with pytest.raises(TLSError, match=r"verification failed for localhost"):
                    await plain.start_tls(context, "localhost", timeout=10)

            asyncio.run(attempt())


def test_sync_client_certificate_is_presented(certs: Certs) -> None:
    pair = (str(certs.client_cert_file), str(certs.client_key_file))
    context = create_ssl_context(str(certs.ca_file), cert=pair)
    with TLSEchoServer(certs.server_context(require_client_cert=True)) as server:
        stream: NetworkStream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        stream = stream.start_tls(context, "localhost", timeout=10)
        stream.write(b"ping")
        assert stream.read(4, timeout=10) == b"ping"
        stream.close()
    peer = server.peer_certificates[0]
    assert peer is not None
    assert ("DNS", "client.wirekit.test") in peer["subjectAltName"]


def test_sync_missing_client_certificate_fails_on_first_read(certs: Certs) -> None:
    context = create_ssl_context(str(certs.ca_file))
    with TLSEchoServer(certs.server_context(require_client_cert=True)) as server:
        stream: NetworkStream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        try:
            stream = stream.start_tls(context, "localhost", timeout=10)

            def exchange() -> None:
                stream.write(b"ping")
                stream.read(4, timeout=10)

            # TLS 1.3: the server checks our (missing) certificate after our handshake ends,
            # so the refusal arrives as an alert on the next write or read.
            with pytest.raises((ReadError, WriteError), match=r"(receiving from|sending to) 127"):
                exchange()
        except TLSError:
            pass  # TLS 1.2 peers refuse during the handshake: also correct
        stream.close()


def test_sync_handshake_timeout_is_a_connect_timeout(certs: Certs) -> None:
    before = open_fds()
    with ScriptedServer([hold()]) as server:
        plain = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        with pytest.raises(
            ConnectTimeout, match=r"TLS handshake with localhost timed out after 0.1 s"
        ):
            plain.start_tls(create_ssl_context(str(certs.ca_file)), "localhost", timeout=0.1)
    assert open_fds() == before


@pytest.mark.anyio
async def test_async_handshake_timeout_is_a_connect_timeout(certs: Certs) -> None:
    before = open_fds()
    with ScriptedServer([hold()]) as server:
        plain = await AsyncIOBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        with pytest.raises(
            ConnectTimeout, match=r"TLS handshake with localhost timed out after 0.1 s"
        ):
            await plain.start_tls(create_ssl_context(str(certs.ca_file)), "localhost", timeout=0.1)
    assert open_fds() == before


@pytest.mark.anyio
async def test_async_https_request_to_nginx(nginx_server: Any, certs: Certs) -> None:
    context = create_ssl_context(str(certs.ca_file))
    stream = await AsyncIOBackend().connect_tcp("127.0.0.1", nginx_server.https_port, timeout=10)
    stream = await stream.start_tls(context, "localhost", timeout=10)
    assert stream.get_extra_info("alpn_protocol") == "http/1.1"
    await stream.write(b"GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = b""
    for _ in range(100):
        chunk = await stream.read(65536, timeout=10)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 200")
    assert data.endswith(nginx_server.SMALL_BODY)
    await stream.aclose()


def test_default_context_uses_the_os_store_and_rejects_a_private_ca(certs: Certs) -> None:
    with TLSEchoServer(certs.server_context()) as server:
        plain = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=10)
        with pytest.raises(TLSError, match=r"certificate verification failed for localhost"):
            plain.start_tls(create_ssl_context(), "localhost", timeout=10)


def test_sync_tls_inside_tls_through_a_tunnel(certs: Certs) -> None:
    context = create_ssl_context(str(certs.ca_file))
    log: list[tuple[str, dict[str, Any]]] = []
    with (
        TLSEchoServer(certs.server_context()) as origin,
        TLSTunnel(certs.server_context(), origin.port) as tunnel,
    ):
        plain = SyncBackend().connect_tcp(
            "127.0.0.1", tunnel.port, timeout=10, trace=_trace_into(log)
        )
        outer = plain.start_tls(context, "localhost", timeout=10)
        inner = outer.start_tls(context, "localhost", timeout=10)
        assert inner.get_extra_info("ssl_object") is not outer.get_extra_info("ssl_object")
        inner.write(b"nested " * 10000, timeout=10)
        received = b""
        for _ in range(1000):
            received += inner.read(65536, timeout=10)
            if len(received) >= 70000:
                break
        assert received == b"nested " * 10000
        assert not inner.is_readable()
        inner.close()
    assert [e for e, _ in log if e.startswith("tls.")] == ["tls.start", "tls.done"] * 2


def test_sync_tls_inside_tls_wrong_host_closes_everything(certs: Certs) -> None:
    before = open_fds()
    context = create_ssl_context(str(certs.ca_file))
    with (
        TLSEchoServer(certs.server_context()) as origin,
        TLSTunnel(certs.server_context(), origin.port) as tunnel,
    ):
        outer: NetworkStream = SyncBackend().connect_tcp("127.0.0.1", tunnel.port, timeout=10)
        outer = outer.start_tls(context, "localhost", timeout=10)
        with pytest.raises(TLSError, match=r"verification failed for wrong\.test"):
            outer.start_tls(context, "wrong.test", timeout=10)
    assert open_fds() == before


@pytest.mark.anyio
async def test_async_tls_inside_tls_through_a_tunnel(certs: Certs) -> None:
    context = create_ssl_context(str(certs.ca_file))
    with (
        TLSEchoServer(certs.server_context()) as origin,
        TLSTunnel(certs.server_context(), origin.port) as tunnel,
    ):
        plain = await AsyncIOBackend().connect_tcp("127.0.0.1", tunnel.port, timeout=10)
        outer = await plain.start_tls(context, "localhost", timeout=10)
        inner = await outer.start_tls(context, "localhost", timeout=10)
        await inner.write(b"nested async", timeout=10)
        assert await inner.read(100, timeout=10) == b"nested async"
        await inner.aclose()
