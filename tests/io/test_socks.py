"""SOCKS backends through a real microsocks process (SOCKS5, with and without a password),
against a loopback keep-alive server; URL parsing and error translation."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.io.peers import AsyncFakeResolver, FakeResolver, refused_port
from tests.support.fixtures import PROXY_PASSWORD, PROXY_USER
from tests.support.helpers import open_fds
from tests.support.keepalive import KeepAliveServer
from tests.support.programs import MicrosocksProxy
from wirekit._io.socks import AsyncSocksBackend, SocksBackend, SocksProxyURL
from wirekit.errors import ConnectTimeout, InvalidURL, NameResolutionError, ProxyError

REQUEST = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def _exchange_sync(stream: Any) -> bytes:
    stream.write(REQUEST, timeout=10)
    data = b""
    for _ in range(100):
        chunk = stream.read(65536, timeout=10)
        if not chunk:
            break
        data += chunk
    stream.close()
    return data


async def _exchange_async(stream: Any) -> bytes:
    await stream.write(REQUEST, timeout=10)
    data = b""
    for _ in range(100):
        chunk = await stream.read(65536, timeout=10)
        if not chunk:
            break
        data += chunk
    await stream.aclose()
    return data


def test_proxy_url_parsing() -> None:
    proxy = SocksProxyURL.parse("socks5h://us%40er:p%3Ass@127.0.0.1:9050")
    assert (proxy.version, proxy.remote_dns, proxy.host, proxy.port) == (5, True, "127.0.0.1", 9050)
    assert (proxy.username, proxy.password) == ("us@er", "p:ss")
    assert proxy.display == "socks5h://127.0.0.1:9050"  # never the password
    assert SocksProxyURL.parse("socks4a://127.0.0.1").port == 1080
    with pytest.raises(InvalidURL, match="scheme must be one of"):
        SocksProxyURL.parse("http://127.0.0.1:3128")
    with pytest.raises(InvalidURL, match="has no host"):
        SocksProxyURL.parse("socks5://:1080")


def test_sync_socks5_tunnel(socks_proxy: MicrosocksProxy) -> None:
    before = open_fds()
    with KeepAliveServer(b"via socks5") as server:
        backend = SocksBackend(socks_proxy.url)
        stream = backend.connect_tcp("127.0.0.1", server.port, timeout=10)
        assert _exchange_sync(stream).endswith(b"via socks5")
    assert open_fds() == before


@pytest.mark.anyio
async def test_async_socks5_tunnel(socks_proxy: MicrosocksProxy) -> None:
    with KeepAliveServer(b"via socks5 async") as server:
        backend = AsyncSocksBackend(socks_proxy.url)
        stream = await backend.connect_tcp("127.0.0.1", server.port, timeout=10)
        assert await _exchange_async(stream) == (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n"
            b"Connection: close\r\n\r\nvia socks5 async"
        )


def test_sync_socks5_resolves_locally_with_our_resolver(socks_proxy: MicrosocksProxy) -> None:
    with KeepAliveServer(b"local dns") as server:
        resolver = FakeResolver([(2, ("127.0.0.1", server.port))])
        backend = SocksBackend(socks_proxy.url, resolver=resolver)
        stream = backend.connect_tcp("service.test", server.port, timeout=10)
        assert _exchange_sync(stream).endswith(b"local dns")
    assert resolver.questions == [("service.test", server.port, 0)]


def test_sync_socks_proxy_name_resolved_by_our_resolver_each_address_tried(
    socks_proxy: MicrosocksProxy,
) -> None:
    # microsocks listens on 127.0.0.1 only: the name's first address (::1) refuses, and
    # the tunnel goes through the second, as a connection to "localhost" would.
    resolver = FakeResolver([(10, ("::1", 0, 0, 0)), (2, ("127.0.0.1", 0))])
    with KeepAliveServer(b"proxy by name") as server:
        url = socks_proxy.url.replace("socks5://127.0.0.1", "socks5h://proxy.test")
        backend = SocksBackend(url, resolver=resolver)
        stream = backend.connect_tcp("127.0.0.1", server.port, timeout=10)
        assert _exchange_sync(stream).endswith(b"proxy by name")
    assert resolver.questions == [("proxy.test", socks_proxy.port, 0)]


@pytest.mark.anyio
async def test_async_socks_proxy_name_that_fails_to_resolve_names_the_proxy(
    socks_proxy: MicrosocksProxy,
) -> None:
    url = socks_proxy.url.replace("socks5://127.0.0.1", "socks5h://proxy.test")
    backend = AsyncSocksBackend(url, resolver=AsyncFakeResolver(fail=True))
    with pytest.raises(NameResolutionError, match=r"proxy\.test"):
        await backend.connect_tcp("origin.test", 80, timeout=10)


@pytest.mark.anyio
async def test_async_socks5h_lets_the_proxy_resolve(socks_proxy: MicrosocksProxy) -> None:
    url = socks_proxy.url.replace("socks5://", "socks5h://")
    resolver = AsyncFakeResolver(fail=True)  # must not be asked
    with KeepAliveServer(b"remote dns") as server:
        backend = AsyncSocksBackend(url, resolver=resolver)
        stream = await backend.connect_tcp("localhost", server.port, timeout=10)
        assert (await _exchange_async(stream)).endswith(b"remote dns")
    assert resolver.questions == []


def test_sync_socks5_with_password(socks_auth_proxy: MicrosocksProxy) -> None:
    with KeepAliveServer(b"authenticated") as server:
        stream = SocksBackend(socks_auth_proxy.url).connect_tcp(
            "127.0.0.1", server.port, timeout=10
        )
        assert _exchange_sync(stream).endswith(b"authenticated")


@pytest.mark.anyio
async def test_async_socks5_wrong_password_is_a_proxy_error(
    socks_auth_proxy: MicrosocksProxy,
) -> None:
    url = f"socks5://{PROXY_USER}:wrong-{PROXY_PASSWORD}@127.0.0.1:{socks_auth_proxy.port}"
    with (
        KeepAliveServer() as server,
        pytest.raises(
            ProxyError, match=rf"SOCKS proxy socks5://127.0.0.1:{socks_auth_proxy.port}"
        ) as info,
    ):
        await AsyncSocksBackend(url).connect_tcp("127.0.0.1", server.port, timeout=10)
    assert "wrong-" not in str(info.value)  # the password never appears in messages


def test_sync_unreachable_target_is_a_proxy_error(socks_proxy: MicrosocksProxy) -> None:
    port = refused_port()
    with pytest.raises(ProxyError, match=rf"could not connect to 127.0.0.1:{port}"):
        SocksBackend(socks_proxy.url).connect_tcp("127.0.0.1", port, timeout=10)


def test_sync_proxy_not_running_is_a_proxy_error() -> None:
    port = refused_port()
    with pytest.raises(
        ProxyError, match=rf"cannot connect to SOCKS proxy socks5://127.0.0.1:{port}"
    ):
        SocksBackend(f"socks5://127.0.0.1:{port}").connect_tcp("127.0.0.1", 80, timeout=10)


@pytest.mark.anyio
async def test_async_proxy_not_running_is_a_proxy_error() -> None:
    port = refused_port()
    with pytest.raises(ProxyError, match="cannot connect to SOCKS proxy"):
        await AsyncSocksBackend(f"socks5://127.0.0.1:{port}").connect_tcp(
            "127.0.0.1", 80, timeout=10
        )


def test_sync_socks5_asks_the_wrapped_backends_resolver(socks_proxy: MicrosocksProxy) -> None:
    from wirekit._io.sync import SyncBackend

    with KeepAliveServer(b"inherited") as server:
        resolver = FakeResolver([(2, ("127.0.0.1", server.port))])
        backend = SocksBackend(socks_proxy.url, backend=SyncBackend(resolver=resolver))
        stream = backend.connect_tcp("inner.test", server.port, timeout=10)
        assert _exchange_sync(stream).endswith(b"inherited")
    assert resolver.questions == [("inner.test", server.port, 0)]


class _StalledResolver(FakeResolver):
    """Answers nothing for 3 s (a DNS server that does not answer in time)."""

    def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:  # type: ignore[override]
        time.sleep(3)
        return []


class _AsyncStalledResolver(FakeResolver):
    async def resolve(self, host: str, port: int, *, family: int = 0) -> list[Any]:  # type: ignore[override]
        await asyncio.sleep(3)
        return []


# The lookup of the proxy's name gets what is left of the timeout; the message said that
# float ("timed out after 0.499944757000776 s"), where every other timeout says the one
# configured (found by a review).
def test_sync_proxy_name_lookup_timeout_names_the_proxy_and_the_configured_timeout() -> None:
    backend = SocksBackend("socks5h://proxy.test:1080", resolver=_StalledResolver())
    with pytest.raises(ConnectTimeout) as info:
        backend.connect_tcp("origin.test", 80, timeout=0.5)
    message = str(info.value)
    assert "socks5h://proxy.test:1080" in message
    assert message.endswith("after 0.5 s"), message


@pytest.mark.anyio
async def test_async_proxy_name_lookup_timeout_names_the_proxy_and_the_configured_timeout() -> None:
    backend = AsyncSocksBackend("socks5h://proxy.test:1080", resolver=_AsyncStalledResolver())
    with pytest.raises(ConnectTimeout) as info:
        await backend.connect_tcp("origin.test", 80, timeout=0.5)
    message = str(info.value)
    assert "socks5h://proxy.test:1080" in message
    assert message.endswith("after 0.5 s"), message
