"""Response API compared with requests and httpx.

Real peer: a raw scripted socket on loopback.

(Found by a differential review of fetch, tracing, the debug log and responses; fixed
since.)
"""

from __future__ import annotations

import json

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, send


def test_json_error_is_caught_by_except_json_JSONDecodeError() -> None:
    """``response.json()`` on a body that is not JSON (an HTML error page from a proxy).

    User sees: a ``wirekit.JSONDecodeError`` that is a ``ValueError`` but not a
    ``json.JSONDecodeError``: ``except json.JSONDecodeError:`` (the idiom most code uses,
    and what requests' and httpx's docs show) does not catch it, and it has none of the
    ``msg``/``doc``/``pos``/``lineno``/``colno`` attributes that say where parsing failed.
    Reference: docs/client.md: "invalid JSON raises ``JSONDecodeError`` ... as requests' and
    httpx's are". httpx's ``Response.json()`` raises ``json.JSONDecodeError`` itself;
    requests' ``requests.exceptions.JSONDecodeError`` subclasses ``json.JSONDecodeError``
    (for exactly this compatibility). Both are caught by ``except json.JSONDecodeError``.
    Why it matters: code ported from requests/httpx lets the error escape and crash.
    """
    body = b"<html>502 Bad Gateway</html>"
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with ScriptedServer([expect(), send(answer)]) as server:
        with wirekit.Client(retry=0) as client:
            response = client.get(server.url + "/api")
    with pytest.raises(ValueError) as caught:
        response.json()
    assert isinstance(caught.value, json.JSONDecodeError), type(caught.value).__mro__
    assert caught.value.pos == 0
    assert caught.value.lineno == 1
