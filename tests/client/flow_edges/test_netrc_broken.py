"""A netrc file that cannot be decoded is a broken netrc file: it must be ignored like one
that does not parse, not make requests (to any host) fail with UnicodeDecodeError."""

from __future__ import annotations

from pathlib import Path

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, hold, send

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def latin1_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "netrc"
    # An entry for another host, with a latin-1 password (not valid UTF-8).
    path.write_bytes(b"machine elsewhere.test login user password caf\xe9\n")
    monkeypatch.setenv("NETRC", str(path))
    return path


def test_sync_client_ignores_undecodable_netrc(latin1_netrc: Path) -> None:
    with ScriptedServer([expect(), send(OK), hold()]) as server:
        with wirekit.Client(timeout=5.0) as client:
            response = client.get(server.url + "/")
    assert response.status_code == 200
    assert b"authorization" not in server.received[0].lower()


@pytest.mark.anyio
async def test_async_client_ignores_undecodable_netrc(latin1_netrc: Path) -> None:
    with ScriptedServer([expect(), send(OK), hold()]) as server:
        async with wirekit.AsyncClient(timeout=5.0) as client:
            response = await client.get(server.url + "/")
    assert response.status_code == 200


def test_fetch_ignores_undecodable_netrc(latin1_netrc: Path) -> None:
    with ScriptedServer([expect(), send(OK), hold()]) as server:
        assert wirekit.fetch(server.url + "/", timeout=5.0) == b"ok"


def test_netrc_auth_ignores_undecodable_netrc(latin1_netrc: Path) -> None:
    with ScriptedServer([expect(), send(OK), hold()]) as server:
        with wirekit.Client(timeout=5.0, trust_env=False) as client:
            response = client.get(server.url + "/", auth=wirekit.NetrcAuth())
    assert response.status_code == 200
