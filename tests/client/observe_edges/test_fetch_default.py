"""``wirekit.fetch(url, default=...)``: only "try again later" network failures give the
default; errors that retrying cannot cure (HTTP statuses, bad URLs) must still raise.

Real peers: raw scripted sockets on loopback.

(Found by a differential review of fetch, tracing, the debug log and responses; fixed
since.)
"""

from __future__ import annotations

import pytest

import wirekit
from tests.support.scripted import ScriptedServer, expect, reset, send

DEFAULT = object()


def test_fetch_default_on_reset_during_tls_handshake() -> None:
    """A server that accepts the TCP connection and then resets it (RST) while the TLS
    handshake is under way: an overloaded server, a load balancer draining its backends.

    User sees: ``fetch("https://...", default=None)`` raises ``TLSError`` ("TLS handshake
    with 127.0.0.1 failed: connection reset by 127.0.0.1") instead of returning the default.
    Reference: docs/client.md says ``default=`` is returned on network failures, naming
    "reset" explicitly, and only "a TLS failure" (a certificate that does not verify, which
    waiting does not cure, per fetch's docstring) still raises. A TCP reset is the same
    transient failure whether it comes before or during the handshake; requests reports it
    as a ``ConnectionError`` (urllib3 ProtocolError "Connection aborted"), httpx as a
    ``ConnectError``, never as a certificate/SSL error.
    Why it matters: the whole point of ``default=`` is that a caller polling a flaky
    service does not crash on transient failures; an https URL makes it crash on one.
    """
    with ScriptedServer([expect(b"\x16\x03"), reset()]) as server:  # ClientHello, then RST
        url = server.url.replace("http://", "https://") + "/"
        result = wirekit.fetch(url, default=DEFAULT, timeout=5.0, retry=0)
        assert len(server.connections) == 1
    assert result is DEFAULT


@pytest.mark.parametrize(
    "location",
    [b"ftp://127.0.0.1/file.txt", b"mailto:someone@example.test"],
    ids=["ftp", "mailto"],
)
def test_fetch_default_does_not_swallow_a_redirect_to_an_unusable_url(location: bytes) -> None:
    """The server redirects to a URL the client can never fetch (another scheme).

    User sees: ``fetch(url, default=None)`` silently returns None, as if the network were
    down, while ``fetch("ftp://...", default=None)`` (the very URL redirected to) raises
    ``InvalidURL``.
    Reference: docs/client.md: with ``default=``, "a TLS failure, an HTTP error status or a
    bad URL still raise"; fetch's docstring: the default is for "try again later" failures
    (DNS, refused, reset, timeouts). A redirect to ftp:// is deterministic: trying again
    later gives the same redirect. requests raises ``InvalidSchema`` (not a
    ConnectionError) for it.
    Why it matters: a misconfigured redirect is hidden behind the "service unavailable"
    fallback forever instead of being reported.
    """
    answer = b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
    with ScriptedServer([expect(), send(answer)]) as server:
        with pytest.raises(wirekit.WirekitError):  # was: the default returned
            wirekit.fetch(server.url + "/start", default=DEFAULT, timeout=5.0)


def test_fetch_default_does_not_swallow_a_forward_proxy_407() -> None:
    """Through a plain HTTP (forward) proxy that answers ``407 Proxy Authentication
    Required`` (no or wrong credentials in ``proxy=``).

    User sees: ``fetch("http://...", proxy=..., default=None)`` returns None, as for a
    network outage; without ``default=`` it raises ``ProxyError``.
    Reference: docs/client.md: with ``default=``, "an HTTP error status ... still raise(s)";
    a 407 is an HTTP error status and retrying later with the same credentials gets the same
    407. requests and httpx hand a forward proxy's 407 back as a response whose
    ``raise_for_status()`` raises, i.e. an HTTP error, not a connection failure.
    Why it matters: a wrong proxy password looks like "network down, try later" and is
    retried forever instead of being reported.
    """
    refused = (
        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
        b'Proxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n'
    )
    with ScriptedServer([expect(), send(refused)]) as proxy:
        # The origin is never contacted: a forward proxy gets the absolute-form request.
        with pytest.raises(wirekit.WirekitError):  # was: the default returned
            wirekit.fetch("http://127.0.0.1:9/page", proxy=proxy.url, default=DEFAULT, timeout=5.0)
    assert proxy.received[0].startswith(b"GET http://127.0.0.1:9/page")


@pytest.mark.parametrize(
    "url",
    ["http://bad..host.test/", "http://" + "a" * 64 + ".test/"],
    ids=["empty-label", "label-over-63"],
)
def test_fetch_default_does_not_swallow_a_malformed_host_name(url: str) -> None:
    """A URL whose host name can never be valid (an empty label, a label over 63 octets:
    RFC 1035 §2.3.4), as produced by a typo or string concatenation ("http://api." + "." +
    domain). It fails locally in the IDNA codec; no DNS query is made.

    User sees: ``fetch(url, default=None)`` returns None, as if DNS were temporarily down;
    the error behind it is a ``NameResolutionError`` wrapping ``UnicodeError: label empty
    or too long``.
    Reference: docs/client.md: with ``default=``, "a bad URL still raise(s)"; only "try
    again later" failures give the default, and this one never succeeds later. requests
    raises ``InvalidURL`` (urllib3's ``LocationParseError`` "label empty or too long") for
    exactly these hosts, before any connection attempt.
    Why it matters: a programming error in URL building is silently turned into the
    "service unavailable" fallback instead of failing loudly.
    """
    with pytest.raises(wirekit.WirekitError):  # was: the default returned
        wirekit.fetch(url, default=DEFAULT, timeout=5.0, retry=0)
