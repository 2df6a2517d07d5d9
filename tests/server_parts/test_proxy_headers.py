"""ProxyHeadersPolicy: which client, scheme and host a request really came from (tables)."""

from __future__ import annotations

import pytest

from wirekit.server.proxy_headers import MAX_FORWARDED_HOPS, ProxyHeadersPolicy

Peer = tuple[str, int] | None
Result = tuple[Peer, str, str | None]

LOCAL = ("127.0.0.1", 50000)
STRANGER = ("203.0.113.9", 40000)
INTERNAL = ("10.1.1.1", 1234)

# (case, trusted, peer, headers, expected (client, scheme, host))
CASES: list[tuple[str, list[str], Peer, list[tuple[bytes, bytes]], Result]] = [
    ("no headers", ["127.0.0.1"], LOCAL, [], (LOCAL, "http", None)),
    (
        "untrusted peer is ignored",
        ["127.0.0.1"],
        STRANGER,
        [(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-proto", b"https")],
        (STRANGER, "http", None),
    ),
    (
        "xff single hop",
        ["127.0.0.1"],
        LOCAL,
        [(b"X-Forwarded-For", b"198.51.100.7"), (b"X-Forwarded-Proto", b"https")],
        (("198.51.100.7", 0), "https", None),
    ),
    (
        "xff rightmost untrusted wins over a forged left entry",
        ["127.0.0.1", "10.0.0.0/8"],
        LOCAL,
        [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.7, 10.0.0.2")],
        (("198.51.100.7", 0), "http", None),
    ),
    (
        "xff split over two header lines",
        ["127.0.0.1", "10.0.0.0/8"],
        LOCAL,
        [(b"x-forwarded-for", b"198.51.100.7"), (b"x-forwarded-for", b"10.0.0.2")],
        (("198.51.100.7", 0), "http", None),
    ),
    (
        "all hops trusted: leftmost",
        ["127.0.0.1", "10.0.0.0/8"],
        LOCAL,
        [(b"x-forwarded-for", b"10.0.0.9, 10.0.0.2")],
        (("10.0.0.9", 0), "http", None),
    ),
    (
        "star trusts everything",
        ["*"],
        STRANGER,
        [(b"x-forwarded-for", b"198.51.100.7, 203.0.113.1")],
        (("198.51.100.7", 0), "http", None),
    ),
    (
        "xff with ports and bare ipv6",
        ["127.0.0.1"],
        LOCAL,
        [(b"x-forwarded-for", b"[2001:db8::1]:4711")],
        (("2001:db8::1", 4711), "http", None),
    ),
    (
        "xff bare ipv6",
        ["127.0.0.1"],
        LOCAL,
        [(b"x-forwarded-for", b"2001:db8::1")],
        (("2001:db8::1", 0), "http", None),
    ),
    (
        "xff garbage stops the walk at the last good hop",
        ["127.0.0.1", "10.0.0.0/8"],
        LOCAL,
        [(b"x-forwarded-for", b"198.51.100.7, <script>, 10.0.0.2")],
        (("10.0.0.2", 0), "http", None),
    ),
    (
        "xff garbage only keeps the peer",
        ["127.0.0.1"],
        LOCAL,
        [(b"x-forwarded-for", b"not-an-ip")],
        (LOCAL, "http", None),
    ),
    (
        "xff proto garbage ignored",
        ["127.0.0.1"],
        LOCAL,
        [(b"x-forwarded-for", b"198.51.100.7"), (b"x-forwarded-proto", b"javascript")],
        (("198.51.100.7", 0), "http", None),
    ),
    (
        "xff proto per hop picks the client's",
        ["127.0.0.1", "10.0.0.0/8"],
        LOCAL,
        [(b"x-forwarded-for", b"198.51.100.7, 10.0.0.2"), (b"x-forwarded-proto", b"https, http")],
        (("198.51.100.7", 0), "https", None),
    ),
    (
        "xff host",
        ["127.0.0.1"],
        LOCAL,
        [(b"x-forwarded-for", b"198.51.100.7"), (b"x-forwarded-host", b"example.com:8443")],
        (("198.51.100.7", 0), "http", "example.com:8443"),
    ),
    (
        "xff host garbage ignored",
        ["127.0.0.1"],
        LOCAL,
        [(b"x-forwarded-host", b"evil.com/\r\nx")],
        (LOCAL, "http", None),
    ),
    (
        "proto alone from a trusted proxy",
        ["127.0.0.1"],
        LOCAL,
        [(b"x-forwarded-proto", b"HTTPS")],
        (LOCAL, "https", None),
    ),
    (
        "forwarded simple",
        ["127.0.0.1"],
        LOCAL,
        [(b"forwarded", b"for=192.0.2.60;proto=https;host=example.com")],
        (("192.0.2.60", 0), "https", "example.com"),
    ),
    (
        "forwarded quoted ipv6 with port",
        ["127.0.0.1"],
        LOCAL,
        [(b"Forwarded", b'For="[2001:db8:cafe::17]:4711"')],
        (("2001:db8:cafe::17", 4711), "http", None),
    ),
    (
        "forwarded chain: rightmost untrusted element gives proto and host",
        ["127.0.0.1", "10.0.0.0/8"],
        LOCAL,
        [
            (
                b"forwarded",
                b"for=6.6.6.6;proto=http, for=192.0.2.43;proto=https;host=shop.example, "
                b"for=10.0.0.5;proto=http",
            )
        ],
        (("192.0.2.43", 0), "https", "shop.example"),
    ),
    (
        "forwarded obfuscated identifier",
        ["127.0.0.1"],
        LOCAL,
        [(b"forwarded", b"for=_hidden;proto=https")],
        (("_hidden", 0), "https", None),
    ),
    (
        "forwarded unknown with obfuscated port",
        ["127.0.0.1"],
        LOCAL,
        [(b"forwarded", b'for="unknown:_port1"')],
        (("unknown", 0), "http", None),
    ),
    (
        "forwarded wins over x-forwarded-for",
        ["127.0.0.1"],
        LOCAL,
        [(b"x-forwarded-for", b"6.6.6.6"), (b"forwarded", b"for=192.0.2.60")],
        (("192.0.2.60", 0), "http", None),
    ),
    (
        "forwarded garbage element keeps the peer",
        ["127.0.0.1"],
        LOCAL,
        [(b"forwarded", b"for=192.0.2.60;;=x")],
        (LOCAL, "http", None),
    ),
    (
        "forwarded duplicate parameter is garbage",
        ["127.0.0.1"],
        LOCAL,
        [(b"forwarded", b"for=192.0.2.60;for=6.6.6.6")],
        (LOCAL, "http", None),
    ),
    (
        "forwarded unquoted ipv6 is garbage",
        ["127.0.0.1"],
        LOCAL,
        [(b"forwarded", b"for=[2001:db8::1]")],
        (LOCAL, "http", None),
    ),
    (
        "forwarded comma inside quotes",
        ["127.0.0.1"],
        LOCAL,
        [(b"forwarded", b'for=192.0.2.60;host="a,b"')],
        (("192.0.2.60", 0), "http", None),
    ),
    (
        "forwarded without for keeps client, uses proto",
        ["127.0.0.1"],
        LOCAL,
        [(b"forwarded", b"proto=https;host=example.org")],
        (LOCAL, "https", "example.org"),
    ),
    (
        "ipv4-mapped peer is trusted like its ipv4 form",
        ["127.0.0.1"],
        ("::ffff:127.0.0.1", 9),
        [(b"x-forwarded-for", b"198.51.100.7")],
        (("198.51.100.7", 0), "http", None),
    ),
    (
        "unix socket peer trusted only when asked",
        ["unix"],
        None,
        [(b"x-forwarded-for", b"198.51.100.7")],
        (("198.51.100.7", 0), "http", None),
    ),
    (
        "unix socket peer not trusted by default",
        ["127.0.0.1"],
        None,
        [(b"x-forwarded-for", b"198.51.100.7")],
        (None, "http", None),
    ),
]


@pytest.mark.parametrize(
    ("trusted", "peer", "headers", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_resolve(
    trusted: list[str], peer: Peer, headers: list[tuple[bytes, bytes]], expected: Result
) -> None:
    # The table's cases each use one family, and expect the forwarded host when set.
    uses_forwarded = any(name.lower() == b"forwarded" for name, _ in headers)
    policy = ProxyHeadersPolicy(
        trusted,
        header_format="forwarded" if uses_forwarded else "x-forwarded",
        forwarded_host=True,
    )
    assert policy.resolve(peer, "http", headers) == expected


_MIXED = [
    (b"Forwarded", b"for=127.0.0.1;proto=https;host=evil.example"),  # a client's own
    (b"X-Forwarded-For", b"203.0.113.9"),
    (b"X-Forwarded-Proto", b"http"),
]


def test_only_the_family_the_proxy_sets_is_read() -> None:
    # A proxy passes through the headers it does not set: a client's own Forwarded must not
    # override the X-Forwarded-For its proxy appended (the default), nor the reverse.
    assert ProxyHeadersPolicy().resolve(LOCAL, "http", _MIXED) == (
        ("203.0.113.9", 0),
        "http",
        None,
    )
    assert ProxyHeadersPolicy(header_format="forwarded").resolve(LOCAL, "http", _MIXED) == (
        ("127.0.0.1", 0),
        "https",
        None,
    )


def test_the_forwarded_host_is_used_only_when_asked_for() -> None:
    headers = [(b"X-Forwarded-For", b"203.0.113.9"), (b"X-Forwarded-Host", b"evil.example")]
    assert ProxyHeadersPolicy().resolve(LOCAL, "http", headers)[2] is None
    assert ProxyHeadersPolicy(forwarded_host=True).resolve(LOCAL, "http", headers)[2] == (
        "evil.example"
    )


def test_an_unknown_header_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'x-real-ip'"):
        ProxyHeadersPolicy(header_format="x-real-ip")


def test_default_trusts_only_loopback() -> None:
    policy = ProxyHeadersPolicy()
    assert policy.is_trusted("127.0.0.1")
    assert policy.is_trusted("::1")
    assert not policy.is_trusted("10.0.0.1")
    assert not policy.is_trusted("garbage")


def test_bad_trusted_entry_is_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        ProxyHeadersPolicy(["10.0.0.0/33"])


def test_hop_limit_keeps_the_closest_hops() -> None:
    # A client padding the header with thousands of trusted-looking hops gets its list cut
    # to MAX_FORWARDED_HOPS: the walk ends at the oldest hop kept, never scans them all.
    hops = ", ".join(f"10.0.{n // 256}.{n % 256}" for n in range(2000))
    policy = ProxyHeadersPolicy(["127.0.0.1", "10.0.0.0/8"])
    client, _, _ = policy.resolve(LOCAL, "http", [(b"x-forwarded-for", hops.encode())])
    first_kept = 2000 - MAX_FORWARDED_HOPS
    assert client == (f"10.0.{first_kept // 256}.{first_kept % 256}", 0)
