"""An auth flow that needs the response body gets it read before it decides."""

from __future__ import annotations

from collections.abc import Generator

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, send


class TokenFromBodyAuth(wirekit.Auth):
    """First request without a token; a 401 body carries the token to use."""

    requires_response_body = True

    def auth_flow(
        self, request: wirekit.Request
    ) -> Generator[wirekit.Request, wirekit.Response, None]:
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Token {response.content.decode()}"
            yield request


@pytest.mark.anyio
async def test_auth_flow_reads_the_challenge_body() -> None:
    challenge = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\n\r\nabc12"
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    with ScriptedServer([expect(), send(challenge), expect(), send(ok)]) as server:
        async with wirekit.AsyncClient() as client:
            response = await client.get(server.url + "/", auth=TokenFromBodyAuth())
        assert response.status_code == 200
        assert b"authorization: token abc12" in server.received[0].lower()
