"""``Limits.max_connections`` is "open connections in all" (its docstring), and the
CHANGELOG calls a limit counted per pool a bug ("two connections with
``Limits(max_connections=1)``"). A client with one ``proxy=`` gets a pool per scheme.

(Found by a review of the pool; fixed since.)
"""

from __future__ import annotations

import socket

import wirekit
from tests.support.pool_peers import Peer, read_head


def _forward_proxy(sock: socket.socket) -> None:
    """Answers forwarded GETs with 200 "ok"; refuses CONNECT (counting the connection is
    all the test needs)."""
    buffer = b""
    for _ in range(100):
        head, buffer = read_head(sock, buffer)
        if head is None:
            return
        if head.startswith(b"CONNECT"):
            sock.sendall(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def test_max_connections_holds_across_http_and_https_through_one_proxy() -> None:
    """What the user sees: ``Client(proxy=P, limits=Limits(max_connections=1))`` holding one
    streamed ``http://`` response opens a second connection to the proxy for an
    ``https://`` request (``connection_counts()["open"]`` is 2), instead of waiting for the
    one connection it is allowed (``PoolTimeout``). With the defaults, a client talking
    http and https through one proxy may hold 200 connections, not 100.

    Reference: httpx with ``proxy=`` mounts one proxy transport for ``all://``, so its one
    pool's ``max_connections`` bounds http and https together (urllib3's ProxyManager
    ``num_pools``/``maxsize`` are likewise per proxy manager, not per scheme).

    Why: ``AsyncHTTPTransport._pool_for`` keys pools by ``f"{scheme}>{proxy}"`` (and
    direct traffic has its own pool too), and every pool applies the full ``Limits`` on its
    own, contradicting "open connections in all".
    """
    with (
        Peer(_forward_proxy) as proxy,
        wirekit.Client(
            proxy=proxy.url,
            trust_env=False,
            limits=wirekit.Limits(max_connections=1),
            timeout=wirekit.Timeout(10, pool=0.5),
            retry=0,
        ) as client,
    ):
        with client.stream("GET", "http://127.0.0.1:9/held") as held:  # the one connection
            assert held.status_code == 200
            try:
                client.get("https://127.0.0.1:9/other")
            except wirekit.PoolTimeout:
                outcome = "PoolTimeout"
            except wirekit.ProxyError as exc:  # it reached the proxy on a second connection
                outcome = f"ProxyError: {exc}"
            open_now = client.transport.connection_counts()["open"]
    assert proxy.connections == 1, (
        f"{proxy.connections} connections to the proxy with max_connections=1 ({outcome})"
    )
    assert outcome == "PoolTimeout"
    assert open_now <= 1
