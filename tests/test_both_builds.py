"""Behaviour the mypyc build (build/compiled) must share with the pure-Python package.

``make test`` runs it on both (``make pytest-compiled`` for the compiled one).
Each test passes on the pure package and failed on the compiled build when written: the
compiled build enforces annotations at run time (a list where ``tuple[bytes, bytes]`` is
annotated, a UUID where ``str | int | float | bool | None`` is) and converts a bool given for
a ``float`` to 1.0/0.0 before the function body can check it.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import pytest

import wirekit
from tests.server.support import running
from wirekit import URL
from wirekit._models.url import QueryParams


# -- server: ASGI headers in the spec's own shape ---------------------------------------
async def _asgi_list_headers(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    # ASGI 3: "headers: Iterable[[byte string, byte string]]"; the spec's own examples (and
    # many apps) give two-item lists, not tuples.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [[b"content-type", b"text/plain"], [b"x-list", b"1"]],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


def test_asgi_headers_given_as_two_item_lists_are_sent() -> None:
    with running(_asgi_list_headers, lifespan="off") as server:
        status, headers, body = server.get("/")
    assert (status, headers.get("x-list"), body) == (200, "1", b"hello")


# -- client: query parameters ----------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (uuid.UUID(int=5), "00000000-0000-0000-0000-000000000005"),
        (decimal.Decimal("1.5"), "1.5"),
        (datetime.date(2020, 1, 2), "2020-01-02"),
    ],
    ids=["uuid", "decimal", "date"],
)
def test_param_values_are_sent_as_their_str(value: object, text: str) -> None:
    assert str(URL("http://x/", params={"v": value})) == f"http://x/?v={text}"  # type: ignore[dict-item]
    assert str(QueryParams({"v": value})) == f"v={text}"  # type: ignore[dict-item]
    assert str(URL("http://x/").copy_set_param("v", value)) == f"http://x/?v={text}"  # type: ignore[arg-type]


def test_param_pairs_given_as_two_item_lists() -> None:
    # e.g. pairs loaded from JSON, which has no tuples
    assert str(URL("http://x/", params=[["a", "1"], ["b", "2"]])) == "http://x/?a=1&b=2"  # type: ignore[list-item]


def test_client_sends_uuid_param() -> None:
    seen: list[str] = []

    def handler(request: Any) -> Any:
        seen.append(str(request.url))
        return wirekit.Response(200, content=b"")

    transport = wirekit.MockTransport(handler)
    with wirekit.Client(transport=transport, trust_env=False) as client:
        client.get("http://x/p", params={"id": uuid.UUID(int=1)})
    assert seen == ["http://x/p?id=00000000-0000-0000-0000-000000000001"]


# -- client: timeout=True is refused, not taken as one second ------------------------------
def test_client_timeout_true_is_refused() -> None:
    with pytest.raises(TypeError, match="a number or None"):
        wirekit.Client(timeout=True, trust_env=False)


def test_timeout_coerce_bool_is_refused() -> None:
    with pytest.raises(TypeError, match="a number or None"):
        wirekit.Timeout.coerce(True)


# -- server: a whole-number option given as a float --------------------------------------------
async def _asgi_ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize(
    "option",
    [{"max_body_bytes": 10e6}, {"max_header_bytes": 65536.0}, {"write_high_water": 65536.0}],
    ids=["max_body_bytes", "max_header_bytes", "write_high_water"],
)
def test_server_serves_with_float_size_options(option: dict[str, float]) -> None:
    # ServerConfig takes these (its checks compare them with numbers); the compiled protocol
    # then raised TypeError for every accepted connection, which the client saw as a reset.
    with running(_asgi_ok, lifespan="off", **option) as server:
        status, _, body = server.get("/")
    assert (status, body) == (200, b"ok")


def test_a_fractional_count_is_refused_at_startup() -> None:
    from wirekit.server.config import ServerConfig

    assert ServerConfig(max_body_bytes=10e6).max_body_bytes == 10_000_000  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_header_bytes must be a whole number"):
        ServerConfig(max_header_bytes=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="retry_after must be a whole number"):
        ServerConfig(retry_after=True)
