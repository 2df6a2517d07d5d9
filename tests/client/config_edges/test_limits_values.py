"""``wirekit.Limits`` values that are accepted and fail later (or fail without naming the option).

(Found by a review of the client's settings; fixed since.)
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import wirekit
from tests.client.config_edges._both import KINDS, OK, Both, url_of
from tests.support.scripted import ScriptedServer, expect, send

BAD_LIMITS = [
    ("keepalive_expiry", "5"),
    ("keepalive_expiry", math.nan),
    ("keepalive_expiry", -1.0),
    ("max_connections", "10"),
    ("max_connections", True),
    ("max_connections", 2.5),
    ("max_connections_per_host", "2"),
    ("max_idle_connections", -1),
    ("max_idle_connections", "8"),
]


@pytest.mark.parametrize(("field", "value"), BAD_LIMITS)
def test_limits_reject_invalid_values_naming_the_option(field: str, value: Any) -> None:
    """``Limits`` only checks ``max_connections``/``max_connections_per_host`` >= 1.

    User sees: a string, bool, fraction, negative or NaN value is stored as is
    (``Limits(keepalive_expiry="5")``, ``Limits(max_idle_connections=-1)``, NaN expiry that
    never expires anything), or the check itself dies with ``TypeError: '<' not supported
    between instances of 'str' and 'int'`` that names no option. ``Timeout`` of the same
    module refuses bools, strings and non-positive values with a message naming the field.
    Reference: urllib3 validates pool sizes / timeouts up front; httpx-style configs read
    from env/YAML strings need a clear error. Expected: TypeError/ValueError naming the field.
    """
    with pytest.raises((TypeError, ValueError), match=field):
        wirekit.Limits(**{field: value})


@pytest.mark.parametrize("kind", KINDS)
def test_string_keepalive_expiry_breaks_the_second_request(kind: str) -> None:
    """``Limits(keepalive_expiry="5")`` is accepted; the first request works, the second one
    (which finds an idle connection) raises ``TypeError: '>' not supported between instances
    of 'float' and 'str'`` from the pool's internals, in both clients.

    User sees: a client that works once and then fails on every reuse, with an error that
    points nowhere near the configuration. Reference: httpx/urllib3 users expect a bad option
    to fail where it is given. Expected: an error naming ``keepalive_expiry`` at
    construction, or both requests succeed.
    """
    try:
        limits = wirekit.Limits(keepalive_expiry="5")  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        assert "keepalive_expiry" in str(exc)  # noqa: PT017 - either fix is fine
        return
    script = [expect(), send(OK), expect(), send(OK)]
    with ScriptedServer(script) as server, Both(kind, limits=limits) as client:
        assert client.get(url_of(server)).status_code == 200
        assert client.get(url_of(server)).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
def test_limits_none_fails_only_at_request_time(kind: str) -> None:
    """``Client(limits=None)`` is accepted, then the first request raises
    ``AttributeError: 'NoneType' object has no attribute 'max_connections'``.

    User sees: in wirekit ``None`` means "no limit" for every Timeout/Limits field and
    ``retry=None`` means "no retries", so ``limits=None`` reads as "no pool limits"; instead
    the client breaks on first use with an internal AttributeError. Expected: refused at
    construction with an error naming ``limits``, or accepted with a meaning (the request
    succeeds).
    """
    try:
        client = Both(kind, limits=None)
    except (TypeError, ValueError) as exc:
        assert "limits" in str(exc)  # noqa: PT017 - either fix is fine
        return
    with ScriptedServer([expect(), send(OK)]) as server, client:
        assert client.get(url_of(server)).status_code == 200
