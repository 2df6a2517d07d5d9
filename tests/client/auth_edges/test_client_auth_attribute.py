"""``client.auth`` is a public attribute (set by ``Client(auth=...)``), but assigning the
(Found by a differential review of client auth; fixed since.)
forms the constructor accepts breaks every later request.

requests (``session.auth = ("u", "p")``) and httpx (``client.auth = ("u", "p")``, a
property that converts) both accept it."""

from __future__ import annotations

import pytest

import wirekit
from tests.support.wsgi_server import ThreadedWSGIServer


def _set_header(request: wirekit.Request) -> wirekit.Request:
    request.headers["Authorization"] = "Basic dXNlcjpwYXNz"  # user:pass
    return request


AUTH_FORMS = [("user", "pass"), _set_header]
IDS = ["tuple", "callable"]


@pytest.mark.parametrize("auth", AUTH_FORMS, ids=IDS)
def test_client_auth_assigned_after_construction_sync(
    httpbin_server: ThreadedWSGIServer, auth: object
) -> None:
    """``client.auth = ("user", "pass")`` (or a callable), both accepted by
    ``Client(auth=...)``: the next ``client.get()`` raises AttributeError ("'tuple' object
    has no attribute 'requires_response_body'") instead of sending Basic credentials.
    httpbin's /basic-auth/user/pass should answer 200, as it does for requests and httpx
    after the same assignment."""
    with wirekit.Client(trust_env=False, timeout=10.0) as client:
        client.auth = auth
        response = client.get(httpbin_server.url + "/basic-auth/user/pass")
    assert response.status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize("auth", AUTH_FORMS, ids=IDS)
async def test_client_auth_assigned_after_construction_async(
    httpbin_server: ThreadedWSGIServer, auth: object
) -> None:
    """AsyncClient twin of test_client_auth_assigned_after_construction_sync."""
    async with wirekit.AsyncClient(trust_env=False, timeout=10.0) as client:
        client.auth = auth
        response = await client.get(httpbin_server.url + "/basic-auth/user/pass")
    assert response.status_code == 200
