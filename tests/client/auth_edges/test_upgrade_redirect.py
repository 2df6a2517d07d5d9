"""On an ``http://host/`` to ``https://host/`` redirect (default ports), credentials from
(Found by a differential review of client auth; fixed since.)
``auth=`` are dropped while the same ``Authorization`` given with ``headers=`` is kept.

flows.py (``_is_https_upgrade``) calls this "the one origin change that keeps secrets (the
new origin is the secure twin of the old, as requests allows)", and it does keep a
caller's header; but send_flow forgets ``auth=`` on any origin change, so
``client.get("http://site/", auth=("u", "p"))`` against a site that forces HTTPS ends in
401. httpx sends ``Authorization`` on the https hop in both cases (checked on the same
peer); requests' ``should_strip_auth`` returns False for this redirect too.

The peer is one Unix socket (``uds=``) speaking plain HTTP and TLS, so the test needs no
ports 80/443.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import wirekit
from tests.client.auth_edges._peers import upgrade_peer
from tests.support.certs import Certs

BASIC_USER_PASS = b"Basic dXNlcjpwYXNz"  # user:pass


def _https_hop(seen: list[tuple[str, bytes | None]]) -> bytes | None:
    assert [scheme for scheme, _ in seen] == ["http", "https"]
    assert seen[0][1] == BASIC_USER_PASS
    return seen[1][1]


def test_auth_follows_http_to_https_upgrade_like_header_sync(certs: Certs, tmp_path: Path) -> None:
    """The https hop carries Authorization with headers=; with auth= it carries none."""
    results = []
    for kwargs in ({"headers": {"Authorization": BASIC_USER_PASS.decode()}},
                   {"auth": ("user", "pass")}):  # fmt: skip
        with upgrade_peer(
            str(tmp_path / "peer.sock"), certs.server_context(), connections=2
        ) as peer:
            with wirekit.Client(
                uds=peer.path, verify=str(certs.ca_file), trust_env=False, timeout=10.0
            ) as client:
                response = client.get("http://localhost/", **kwargs)
            assert response.status_code == 200
        results.append(_https_hop(peer.seen))
    # The same treatment either way (requests and httpx: both sent).
    assert results[1] == results[0]


@pytest.mark.anyio
async def test_auth_follows_http_to_https_upgrade_like_header_async(
    certs: Certs, tmp_path: Path
) -> None:
    """AsyncClient twin of test_auth_follows_http_to_https_upgrade_like_header_sync."""
    results = []
    for kwargs in ({"headers": {"Authorization": BASIC_USER_PASS.decode()}},
                   {"auth": ("user", "pass")}):  # fmt: skip
        with upgrade_peer(
            str(tmp_path / "peer.sock"), certs.server_context(), connections=2
        ) as peer:
            async with wirekit.AsyncClient(
                uds=peer.path, verify=str(certs.ca_file), trust_env=False, timeout=10.0
            ) as client:
                response = await client.get("http://localhost/", **kwargs)
            assert response.status_code == 200
        results.append(_https_hop(peer.seen))
    # The same treatment either way (requests and httpx: both sent).
    assert results[1] == results[0]
