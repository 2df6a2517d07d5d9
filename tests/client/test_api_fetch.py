"""``wirekit.fetch`` picks its method from every body option.

Fails on the code as reviewed because of a real bug, and passes once it is fixed.
"""

from __future__ import annotations

from typing import Any

import pytest

import wirekit
from tests.support.handler_peer import Peer, response


@pytest.mark.parametrize("method_kwargs", [{"json": {"a": 1}}, {"files": {"f": b"x"}}])
def test_fetch_with_a_body_posts(method_kwargs: dict[str, Any]) -> None:
    # fetch() "GET url (POST when data is given)": the method is chosen from data= alone, so
    # fetch(url, json=...) or fetch(url, files=...) sends a GET with a body (servers and
    # proxies commonly ignore or reject GET bodies).
    methods: list[str] = []

    def handler(seen: Any, peer: Peer) -> bytes:
        methods.append(seen.method)
        return response(200, body=b"ok")

    with Peer(handler) as peer:
        assert wirekit.fetch(peer.url + "/", **method_kwargs) == b"ok"
    assert methods == ["POST"]
