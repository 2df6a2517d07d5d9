"""Fixtures of the TLS edge tests: ``mode`` runs a test on Client and on AsyncClient, and an
``openssl s_server`` that demands a client certificate (a real peer sending real alerts)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wirekit
from tests.support.certs import Certs
from tests.support.helpers import free_port, stop_process, wait_for_port
from tests.support.programs import require_program


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def get(mode: str, url: str, **client_options: Any) -> wirekit.Response:
    """One GET with a fresh Client or AsyncClient (retries off unless asked for)."""
    client_options.setdefault("retry", 0)
    client_options.setdefault("timeout", wirekit.Timeout(10.0))
    if mode == "sync":
        with wirekit.Client(**client_options) as client:
            return client.get(url)

    async def main() -> wirekit.Response:
        async with wirekit.AsyncClient(**client_options) as client:
            return await client.get(url)

    return asyncio.run(asyncio.wait_for(main(), 30))


class OpenSSLServer:
    """``openssl s_server -www`` on 127.0.0.1 demanding a client certificate (-Verify 1)."""

    def __init__(self, certs: Certs, directory: Path) -> None:
        program = require_program("/usr/bin/openssl")  # a failure, not a skip, if missing
        self.port = free_port()
        self.log = directory / "s_server.log"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    program, "s_server", "-accept", f"127.0.0.1:{self.port}",
                    "-cert", str(certs.server_cert_file), "-key", str(certs.server_key_file),
                    "-CAfile", str(certs.ca_file), "-Verify", "1", "-tls1_3", "-www",
                ],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            )  # fmt: skip
        try:
            wait_for_port(self.port, process=self.process, log=self.log, what="openssl s_server")
        except BaseException:
            stop_process(self.process)
            raise

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        stop_process(self.process, timeout=5.0)


@pytest.fixture
def mtls_openssl_server(certs: Certs, tmp_path: Path) -> Iterator[OpenSSLServer]:
    server = OpenSSLServer(certs, tmp_path)
    try:
        yield server
    finally:
        server.stop()
