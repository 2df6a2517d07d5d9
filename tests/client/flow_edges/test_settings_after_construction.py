"""``client.trace`` and ``client.trust_env`` are public attributes, but the redirect/retry
flows keep the values given to the constructor: a replaced trace gets connect events but no
``redirect``/``retry`` events (those still go to the old callable), and ``trust_env = False``
still sends netrc credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, hold, send

REDIRECT = b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_trace_replaced_after_construction_sees_redirect() -> None:
    old: list[str] = []
    new: list[str] = []
    with ScriptedServer([expect(), send(REDIRECT), expect(), send(OK), hold()]) as server:
        with wirekit.Client(
            trust_env=False, timeout=5.0, trace=lambda e, i: old.append(e)
        ) as client:
            client.trace = lambda e, i: new.append(e)
            response = client.get(server.url + "/")
    assert response.status_code == 200
    assert "connect.start" in new  # the transport uses the new trace...
    assert "redirect" in new  # ...the redirect flow must too
    assert old == []


@pytest.mark.anyio
async def test_async_trace_set_after_construction_sees_redirect() -> None:
    new: list[str] = []
    with ScriptedServer([expect(), send(REDIRECT), expect(), send(OK), hold()]) as server:
        async with wirekit.AsyncClient(trust_env=False, timeout=5.0) as client:
            client.trace = lambda e, i: new.append(e)
            response = await client.get(server.url + "/")
    assert response.status_code == 200
    assert "connect.start" in new
    assert "redirect" in new


def test_trust_env_turned_off_stops_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    with ScriptedServer([expect(), send(OK), hold()]) as server:
        with wirekit.Client(timeout=5.0) as client:
            client.trust_env = False
            client.get(server.url + "/")
    assert b"authorization" not in server.received[0].lower()
