"""``wirekit.Timeout`` values that are accepted at construction and misbehave later.

(Found by a review of the client's settings; fixed since.)
"""

from __future__ import annotations

import math

import pytest

import wirekit
from tests.client.config_edges._both import KINDS, OK, Both, url_of
from tests.support.scripted import ScriptedServer, expect, send

NAN = math.nan
INF = math.inf


@pytest.mark.parametrize("field", ["total", "connect", "read", "write", "pool"])
def test_timeout_rejects_nan_at_construction(field: str) -> None:
    """``Timeout(nan)`` / ``Timeout(connect=nan)`` etc. are accepted as is.

    User sees: ``Timeout`` checks types and ``value <= 0`` itself ("Timeout total must be
    positive"), but NaN slips through because ``nan <= 0`` is False. A NaN total then
    silently means *no deadline at all* (``Deadline.for_phase`` compares False everywhere),
    and a NaN phase limit blows up only at request time, differently per client (see
    ``test_nan_phase_limit_fails_a_healthy_request``). NaN typically arrives from a config
    file or an arithmetic slip (``inf - inf``).
    Reference: urllib3's ``Timeout`` validates every value at construction; Python's own
    ``socket.settimeout(nan)`` raises ``ValueError``. A clear ``ValueError`` naming the option
    at construction is what wirekit's own validation promises for every other bad value.
    """
    with pytest.raises(ValueError, match=field):
        wirekit.Timeout(**{field: NAN})  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_client_timeout_nan_is_rejected(kind: str) -> None:
    """``Client(timeout=float("nan"))`` is accepted and silently disables the deadline.

    User sees: no error; the client's "finite timeouts" promise (README: "total deadline
    300 s ... so nothing hangs forever") is gone, because a NaN total never compares as
    expired. ``timeout=0`` and ``timeout=-1`` are refused with a ValueError, NaN is not.
    Reference: requests/urllib3 raise ``ValueError`` for an invalid timeout value before any
    I/O. Expected: ``ValueError`` at construction.
    """
    client: Both | None = None
    try:
        with pytest.raises(ValueError):
            client = Both(kind, timeout=NAN)
    finally:
        if client is not None:
            client.close()


@pytest.mark.parametrize("kind", KINDS)
def test_nan_phase_limit_fails_a_healthy_request(kind: str) -> None:
    """``Timeout(5, connect=nan)`` is accepted, then a request to a healthy local server fails.

    User sees: the sync client raises a bare ``ValueError("Invalid value NaN (not a
    number)")`` from the socket layer (not a wirekit error, nothing naming the option); the
    async client raises ``ConnectTimeout("... timed out after nan s")`` although the server
    accepted at once. Two different wrong failures for one config value, far from where it
    was set. Reference: urllib3 validates timeouts when the ``Timeout`` is built. Expected:
    either refused at construction (ValueError naming ``connect``) or the request succeeds.
    """
    try:
        timeout = wirekit.Timeout(5.0, connect=NAN)
    except ValueError as exc:
        assert "connect" in str(exc)  # noqa: PT017 - either fix is fine
        return
    with ScriptedServer([expect(), send(OK)]) as server, Both(kind, timeout=timeout) as client:
        assert client.get(url_of(server)).status_code == 200


@pytest.mark.parametrize("field", ["connect", "read", "write"])
def test_sync_infinite_phase_limit_crashes_request(field: str) -> None:
    """Sync only: ``Timeout(None, read=float("inf"))`` (likewise connect/write) is accepted,
    then every request raises ``OverflowError`` from the socket layer.

    User sees: ``OverflowError: cannot convert float infinity to integer`` (or "timestamp out
    of range for platform time_t") at request time, against a server that answers at once.
    ``AsyncClient`` with the very same Timeout succeeds, so the two clients that "share every
    behaviour" (docs/client.md) disagree. ``inf`` is the common way to say "no limit" (it is
    accepted for ``total`` and ``pool`` and works there). Reference: urllib3/requests turn an
    unusable value into a ``ValueError`` at construction. Expected: either a ValueError
    naming the option at construction, or inf treated as no limit (the request succeeds).
    """
    try:
        timeout = wirekit.Timeout(None, **{field: INF})
    except ValueError as exc:
        assert field in str(exc)  # noqa: PT017 - either fix is fine
        return
    with ScriptedServer([expect(), send(OK)]) as server, Both("sync", timeout=timeout) as client:
        assert client.get(url_of(server)).status_code == 200
