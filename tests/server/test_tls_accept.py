"""How the server accepts a TLS connection (wirekit.server.tls_accept): plain TCP first,
the max_connections check, then the handshake, whose failures are logged with a reason."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from pathlib import Path

import pytest
import trustme

from tests.server.apps import asgi_hello as hello
from tests.server.support import WAIT, read_response, running
from tests.server.tls_support import Certs
from wirekit.server import tls_accept


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return Certs(tmp_path)


def _get(port: int, context: ssl.SSLContext) -> int:
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return read_response(sock)[0]


class _LateHandshake(tls_accept.TLSAcceptor):
    """Starts TLS 0.2 s late, so the ClientHello is always there first (under uvloop,
    which reads from connection_made on, it reaches data_received: the case to test)."""

    async def _handshake(self, transport: asyncio.Transport) -> None:
        await asyncio.sleep(0.2)
        await super()._handshake(transport)


@pytest.mark.parametrize("use_uvloop", [True, False], ids=["uvloop", "asyncio"])
def test_client_hello_read_before_tls_starts_is_not_lost(
    certs: Certs, monkeypatch: pytest.MonkeyPatch, use_uvloop: bool
) -> None:
    monkeypatch.setattr(tls_accept, "TLSAcceptor", _LateHandshake)
    with running(
        hello, ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile, use_uvloop=use_uvloop
    ) as srv:
        assert [_get(srv.port, certs.client_context()) for _ in range(3)] == [200, 200, 200]


def test_handshake_timeout_is_logged_and_frees_the_slot(
    certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wirekit")
    with running(
        hello,
        ssl_certfile=certs.certfile,
        ssl_keyfile=certs.keyfile,
        header_timeout=0.5,
        max_connections=1,
    ) as srv:
        silent = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
        try:
            silent.settimeout(3.0)
            assert silent.recv(1) == b"", "a silent connection was not closed"
        except ConnectionResetError:
            pass  # closed, by a reset: fine too
        finally:
            silent.close()
        # Its max_connections slot is free again.
        assert _get(srv.port, certs.client_context()) == 200
    messages = [r.getMessage() for r in caplog.records]
    assert any("TLS handshake not done within header_timeout=0.5s" in m for m in messages), messages


def test_client_refusing_our_certificate_is_logged_with_its_reason(
    certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wirekit")
    stranger = ssl.create_default_context()
    trustme.CA().configure_trust(stranger)  # trusts another CA, not ours
    with running(hello, ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile) as srv:
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
        with pytest.raises(ssl.SSLCertVerificationError):
            stranger.wrap_socket(raw, server_hostname="127.0.0.1")
        raw.close()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not any(
            "TLS handshake with" in r.getMessage() for r in caplog.records
        ):
            time.sleep(0.05)
    failed = [r for r in caplog.records if "TLS handshake with" in r.getMessage()]
    assert len(failed) == 1, [r.getMessage() for r in caplog.records]
    assert failed[0].levelno == logging.INFO
    assert "unknown ca" in failed[0].getMessage().lower()
    assert failed[0].exc_info is None


def test_client_leaving_mid_handshake_is_not_logged_at_info(
    certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    """A TCP health check connects and closes: routine, only a debug line."""
    caplog.set_level(logging.DEBUG, logger="wirekit")
    with running(hello, ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile) as srv:
        for _ in range(3):
            socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT).close()
        assert _get(srv.port, certs.client_context()) == 200
        time.sleep(0.2)
    about = [r for r in caplog.records if "handshake" in r.getMessage()]
    assert all(r.levelno == logging.DEBUG for r in about), [r.getMessage() for r in about]


def test_graceful_shutdown_drops_a_connection_stuck_in_its_handshake(certs: Certs) -> None:
    with running(
        hello, ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile, header_timeout=30
    ) as srv:
        silent = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
        time.sleep(0.2)
        started = time.monotonic()
        srv.shutdown()
        took = time.monotonic() - started
        silent.close()
    assert took < 5.0, f"shutdown waited {took:.1f} s for a connection in its handshake"
