"""``wirekit.Retry`` and ``retry=`` values: validation, equality, method names.

(Found by a review of the client's settings; fixed since.)
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import wirekit
from tests.client.config_edges._both import KINDS, OK, Both, refused_url, url_of
from tests.support.scripted import ScriptedServer, expect, send

BAD_RETRY = [
    ("total", -1),
    ("total", "3"),
    ("backoff", -1.0),
    ("backoff", math.nan),
    ("max_backoff", -1.0),
    ("max_retry_after", math.nan),
]


@pytest.mark.parametrize(("field", "value"), BAD_RETRY)
def test_retry_rejects_invalid_values_naming_the_option(field: str, value: Any) -> None:
    """``Retry`` has no validation at all: ``Retry(total=-1)``, ``Retry(total="3")``,
    ``Retry(backoff=-1)``, ``Retry(backoff=nan)`` ... are all stored.

    User sees: no error until a retry is due, then (depending on value and client) a
    silent "never retries", ``TypeError: '>' not supported between instances of 'str' and
    'int'`` on the first request, or ``ValueError: sleep length must be non-negative`` /
    ``Invalid value NaN`` out of ``time.sleep`` in the sync client while the async client
    carries on. ``Timeout`` in the same module validates its fields. Expected: a
    TypeError/ValueError naming the field at construction.
    """
    with pytest.raises((TypeError, ValueError), match=field):
        wirekit.Retry(**{field: value})


@pytest.mark.parametrize("backoff", [-1.0, math.nan])
def test_sync_bad_backoff_turns_a_connect_error_into_a_sleep_error(backoff: float) -> None:
    """Sync only: with ``Retry(backoff=-1)`` (or NaN) a refused connection raises
    ``ValueError`` from ``time.sleep`` instead of wirekit's ``ConnectError``.

    User sees: ``ValueError: sleep length must be non-negative`` (or ``Invalid value NaN``)
    escaping ``client.get`` — not a ``TransportError``, so ``except wirekit.TransportError``
    and ``wirekit.fetch(default=...)`` do not catch it. ``AsyncClient`` with the same
    Retry raises ``ConnectError`` (asyncio.sleep accepts it): the clients disagree.
    Expected: refused at construction naming ``backoff``, or the ``ConnectError``.
    """
    try:
        retry = wirekit.Retry(backoff=backoff, jitter=False)
    except (TypeError, ValueError) as exc:
        assert "backoff" in str(exc)  # noqa: PT017 - either fix is fine
        return
    with Both("sync", retry=retry) as client, pytest.raises(wirekit.ConnectError):
        client.get(refused_url())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", [2.5, "3"])
def test_client_retry_of_wrong_type_fails_only_at_request_time(kind: str, value: Any) -> None:
    """``Client(retry=2.5)`` / ``Client(retry="3")`` are accepted (only ``int`` and ``None``
    are converted; anything else is stored as if it were a ``Retry``).

    User sees: ``AttributeError: 'float' object has no attribute 'total'`` from the first
    request, in both clients — an internal error far from the option. Expected: a TypeError
    naming ``retry`` at construction (or the value understood and the request succeeding).
    """
    try:
        client = Both(kind, retry=value)
    except (TypeError, ValueError) as exc:
        assert "retry" in str(exc)  # noqa: PT017 - either fix is fine
        return
    with ScriptedServer([expect(), send(OK)]) as server, client:
        assert client.get(url_of(server)).status_code == 200


def test_retry_built_from_lists_is_equal_hashable_and_immutable() -> None:
    """``Retry(statuses=[429, 503])`` keeps the caller's list.

    User sees: ``Retry(statuses=[429, 503]) != Retry(statuses={429, 503})`` although they
    mean the same; ``hash()`` of it raises ``TypeError: unhashable type: 'list'`` although
    the class is a frozen dataclass documented as "small immutable objects"; and mutating
    the list afterwards silently changes the retry policy of every client sharing it.
    urllib3 users routinely pass ``status_forcelist=[...]`` as a list. Expected: the
    collections are frozen on construction (frozenset), so all three hold.
    """
    statuses = [429, 503]
    methods = ["GET", "HEAD"]
    from_lists = wirekit.Retry(statuses=statuses, methods=methods)
    from_sets = wirekit.Retry(statuses=frozenset({429, 503}), methods=frozenset({"GET", "HEAD"}))
    assert from_lists == from_sets
    assert hash(from_lists) == hash(from_sets)
    statuses.append(500)
    assert 500 not in from_lists.statuses


@pytest.mark.parametrize("kind", KINDS)
def test_retry_methods_are_case_insensitive(kind: str) -> None:
    """``Retry(methods={"get"})`` never retries a GET.

    User sees: the 429 comes back unretried, silently. wirekit upper-cases the request's
    method everywhere (``Request("get", ...)`` becomes GET, "as requests and httpx do;
    retry rules compare upper case") and ``Retry.allows_method`` upper-cases its argument,
    but the configured ``methods`` are compared as written, so a lower-case (or mixed-case)
    config matches nothing. (urllib3's ``allowed_methods`` has the same limitation; method
    names in HTTP tooling are otherwise treated case-insensitively on input.) Expected:
    the GET is retried once and the 200 is returned.
    """
    too_many = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
    script = [expect(), send(too_many), expect(), send(OK)]
    retry = wirekit.Retry(methods={"get"}, backoff=0.01, jitter=False)
    with ScriptedServer(script, [expect(), send(OK)]) as server, Both(kind, retry=retry) as c:
        response = c.get(url_of(server))
        sent = sum(data.count(b"GET / ") for data in server.received)
    assert (response.status_code, sent) == (200, 2)
