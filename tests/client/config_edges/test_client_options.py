"""Client constructor options accepted unchecked that break on first use.

(Found by a review of the client's settings; fixed since.)
"""

from __future__ import annotations

from typing import Any

import pytest

import wirekit
from tests.client.config_edges._both import KINDS, OK, Both, url_of
from tests.support.scripted import ScriptedServer, expect, send

FOUND = b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", ["3", None])
def test_max_redirects_of_wrong_type_fails_at_the_first_redirect(kind: str, value: Any) -> None:
    """``Client(max_redirects="3")`` or ``max_redirects=None`` is accepted; the first
    redirect then raises ``TypeError: '>=' not supported between instances of 'int' and
    'str'`` (or 'NoneType') from inside the redirect flow, in both clients.

    User sees: a client that works until some server answers 302, then an internal
    TypeError (not a wirekit error) — typical when the value comes from an env var or
    config file, or when ``None`` is used to mean "no limit" as it does for every Timeout and
    Limits field. Reference: httpx/requests users get a clear error (or a documented
    meaning) for the option itself. Expected: a TypeError/ValueError naming
    ``max_redirects`` at construction, or the redirect followed.
    """
    try:
        client = Both(kind, max_redirects=value)
    except (TypeError, ValueError) as exc:
        assert "max_redirects" in str(exc)  # noqa: PT017 - either fix is fine
        return
    script = [expect(), send(FOUND), expect(), send(OK)]
    with ScriptedServer(script, [expect(), send(OK)]) as server, client:
        response = client.get(url_of(server))
    assert response.status_code == 200


class _Count:
    """A whole number that is not an int (as numpy's integers are): it has ``__index__``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


@pytest.mark.parametrize("kind", KINDS)
def test_max_redirects_takes_any_whole_number_and_refuses_bool(kind: str) -> None:
    """``max_redirects`` accepts what ``operator.index`` accepts (the limit holds: one redirect
    allowed, the second one raises TooManyRedirects); True/False are refused by name."""
    with pytest.raises(ValueError, match="max_redirects"):
        Both(kind, max_redirects=True)
    client = Both(kind, max_redirects=_Count(1))
    script = [expect(), send(FOUND), expect(), send(FOUND)]
    with ScriptedServer(script) as server, client:
        with pytest.raises(wirekit.TooManyRedirects, match="more than 1 redirects"):
            client.get(url_of(server))
