"""Review of how wirekit.Client / AsyncClient pick a proxy from the environment.

Each test failed on the code as reviewed and shows a bug a user would hit; the docstring
says what the user saw, what requests / urllib / httpx do with the same environment, and
the cause that was in src/. (Found by a review of proxy environment handling; fixed since:
NO_PROXY host names are IDNA-encoded before matching, NO_PROXY=* skips the proxy variables
altogether, and setting trust_env after construction turns the environment's proxies on or
off.) Real loopback peers only: a recording "proxy" that
answers every request itself (it never connects on) and an origin, both on 127.0.0.1;
names other than localhost go through a resolver that maps every name to 127.0.0.1.
"""

from __future__ import annotations

import pytest

import wirekit
from tests.client.proxy_env_edges._peers import AsyncLoopbackResolver, LoopbackResolver, Recorder

# -- 1. an internationalised host name in NO_PROXY is never matched ------------------------


def test_no_proxy_unicode_host_name_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_PROXY=bücher.test and a request to http://bücher.test:PORT/ (the same name,
    written the same way): wirekit sends the request through HTTP_PROXY anyway, so the
    internal host the user listed is reached via the corporate proxy (which usually cannot
    resolve it, or must not see it). requests (utils.should_bypass_proxies) and urllib
    (ProxyHandler -> proxy_bypass(req.host)) both go direct; httpx refuses the entry.

    Cause: src/wirekit/client/proxies.py, _no_proxy_entries() keeps entries as written
    (only lower-cased), while URL.host is the IDNA/punycode form ("xn--bcher-kva.test"), so
    should_bypass() compares "bücher.test" with "xn--bcher-kva.test" and never matches.
    Fix: IDNA-encode each host-name entry (the same way URL encodes hosts, after splitting
    off a port and the leading "." / "*.") in _no_proxy_entries()."""
    resolver = LoopbackResolver()
    with Recorder("proxy") as proxy, Recorder("origin") as origin:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost,bücher.test")
        with wirekit.Client(retry=0, timeout=5, resolver=resolver) as client:
            text = client.get(f"http://bücher.test:{origin.port}/doc").text
    assert text == "origin", f"sent through the proxy: {proxy.heads}"


@pytest.mark.anyio
async def test_async_no_proxy_unicode_host_name_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AsyncClient twin of test_no_proxy_unicode_host_name_is_honoured (same cause: the
    NO_PROXY entry is compared in Unicode with the punycode URL.host)."""
    resolver = AsyncLoopbackResolver()
    with Recorder("proxy") as proxy, Recorder("origin") as origin:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("no_proxy", ".Bücher.test")
        async with wirekit.AsyncClient(retry=0, timeout=5, resolver=resolver) as client:
            text = (await client.get(f"http://www.bücher.test:{origin.port}/doc")).text
    assert text == "origin", f"sent through the proxy: {proxy.heads}"


# -- 2. NO_PROXY=* does not stop an unusable proxy variable from breaking every client -----


def test_no_proxy_star_ignores_an_unusable_proxy_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NO_PROXY=* is the usual way to say "no proxy at all" (CI jobs, local tools), and a
    desktop session (GNOME's proxy settings) exports all_proxy=socks://host:1080/. With both
    set, wirekit.Client() itself raises InvalidURL("unsupported proxy scheme 'socks'"), so
    no request can be made, not even to localhost, although no request would ever use that
    proxy. requests and httpx (get_environment_proxies returns {} as soon as an entry is
    "*") send the request directly; urllib's proxy_bypass() says True.

    Cause: src/wirekit/client/proxies.py, environment_proxies() parses every proxy
    variable with _proxy_url() (which raises) before looking at NO_PROXY. Fix: return
    ProxyConfig() when "*" is among the NO_PROXY entries (as httpx does), and preferably
    report an unusable proxy URL only when a request would go through it (requests does)."""
    with Recorder("origin") as origin:
        monkeypatch.setenv("all_proxy", "socks://127.0.0.1:1080/")
        monkeypatch.setenv("NO_PROXY", "*")
        with wirekit.Client(retry=0, timeout=5) as client:
            text = client.get(origin.url + "/").text
    assert text == "origin"


@pytest.mark.anyio
async def test_async_no_proxy_star_ignores_an_unusable_proxy_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AsyncClient twin of test_no_proxy_star_ignores_an_unusable_proxy_variable."""
    with Recorder("origin") as origin:
        monkeypatch.setenv("ALL_PROXY", "socks://127.0.0.1:1080/")
        monkeypatch.setenv("no_proxy", "*")
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            text = (await client.get(origin.url + "/")).text
    assert text == "origin"


# -- 3. client.trust_env = False keeps sending through the environment's proxy -------------


def test_trust_env_turned_off_after_construction_stops_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """client.trust_env is a public, settable property. Setting it to False (the requests
    idiom: session.trust_env = False) stops netrc, but the next requests still go through
    HTTP_PROXY, with the proxy's credentials (Proxy-Authorization: Basic u:secret) sent to
    it. requests reads the proxy variables per request, so trust_env = False sends the
    request directly; httpx's Client.trust_env has no setter, so the assignment raises
    AttributeError instead of being silently half-applied.

    Cause: src/wirekit/client/_async/client.py (and the generated _sync/client.py),
    the trust_env setter only updates self._flows.trust_env; the transport built in
    __init__ (AsyncHTTPTransport) keeps the ProxyConfig that environment_proxies()
    returned. The CHANGELOG mentions it ("the environment's proxies are still read when
    the client is built"), but nothing tells the caller at the point of use. Fix: when the
    client built its own transport without proxy=, have the setter tell the transport
    (e.g. transport._proxies = environment_proxies() if value else ProxyConfig()), or
    make the property read-only as httpx does."""
    with Recorder("proxy") as proxy, Recorder("origin") as origin:
        monkeypatch.setenv("HTTP_PROXY", f"http://u:secret@127.0.0.1:{proxy.port}")
        with wirekit.Client(retry=0, timeout=5) as client:
            client.trust_env = False
            text = client.get(origin.url + "/").text
    assert text == "origin", f"sent through the proxy: {proxy.heads}"


@pytest.mark.anyio
async def test_async_trust_env_turned_off_after_construction_stops_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AsyncClient twin of test_trust_env_turned_off_after_construction_stops_environment_
    proxy (same cause: the setter does not reach the transport's ProxyConfig)."""
    with Recorder("proxy") as proxy, Recorder("origin") as origin:
        monkeypatch.setenv("HTTP_PROXY", f"http://u:secret@127.0.0.1:{proxy.port}")
        async with wirekit.AsyncClient(retry=0, timeout=5) as client:
            client.trust_env = False
            text = (await client.get(origin.url + "/")).text
    assert text == "origin", f"sent through the proxy: {proxy.heads}"


def test_trust_env_turned_on_again_uses_the_environment_proxy_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The setter works both ways: back to True, the environment's proxy (and its
    credentials) serve the next request; a client given proxy= keeps its own proxy."""
    with Recorder("proxy") as proxy, Recorder("origin") as origin:
        monkeypatch.setenv("HTTP_PROXY", f"http://u:secret@127.0.0.1:{proxy.port}")
        with wirekit.Client(retry=0, timeout=5) as client:
            client.trust_env = False
            assert client.get(origin.url + "/").text == "origin"
            client.trust_env = True
            assert client.get(origin.url + "/").text == "proxy"
        monkeypatch.delenv("HTTP_PROXY")
        with wirekit.Client(retry=0, timeout=5, proxy=f"http://127.0.0.1:{proxy.port}") as own:
            own.trust_env = False
            assert own.get(origin.url + "/").text == "proxy"
