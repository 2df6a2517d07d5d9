"""Settings replaced on a live client.

(Found by a review of the client's settings; fixed since.)
"""

from __future__ import annotations

import pytest

from tests.client.config_edges._both import KINDS, OK, Both, url_of
from tests.support.scripted import ScriptedServer, expect, send


@pytest.mark.parametrize("kind", KINDS)
def test_assigning_headers_keeps_the_default_headers(kind: str) -> None:
    """``client.headers = {"X-Api-Key": "k"}`` throws away User-Agent, Accept and
    Accept-Encoding.

    User sees: after the assignment requests go out with no ``User-Agent``, no ``Accept``
    and no ``Accept-Encoding`` (so compression silently stops), whereas
    ``Client(headers={"X-Api-Key": "k"})`` keeps them. The source says these setters are
    "converted as the constructor does", and the constructor merges onto the defaults.
    Reference: httpx's ``Client.headers`` setter starts from its default Accept /
    Accept-Encoding / User-Agent and updates them with the new headers. Expected: the
    request carries the defaults and the new header.
    """
    with ScriptedServer([expect(), send(OK)]) as server, Both(kind) as client:
        client.client.headers = {"X-Api-Key": "k"}
        client.get(url_of(server))
        head = server.received[0].lower()
    assert b"x-api-key: k" in head
    assert b"user-agent: wirekit/" in head
    assert b"accept: */*" in head
    assert b"accept-encoding:" in head
