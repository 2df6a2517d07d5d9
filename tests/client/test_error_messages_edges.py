"""Failures name what failed, with the right class, and keep secrets out of messages.

Found by a review of the client's errors (refused, reset, DNS, timeouts, TLS, proxies,
limits, invalid input) with Client, AsyncClient, get and fetch on loopback. Each test
failed before its fix (the header-name one asserts the message of a check that moved).
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Iterator
from typing import Any

import pytest

import wirekit
from tests.client.conftest import HashingServer
from tests.support.blackhole import Blackhole
from tests.support.certs import Certs
from tests.support.scripted import ScriptedServer, close, expect, reset, send, sleep

PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sync(url: str, client_options: dict[str, Any], **request_options: Any) -> BaseException:
    with wirekit.Client(**client_options) as client:
        try:
            client.get(url, **request_options)
        except Exception as exc:
            return exc
    raise AssertionError("no error")


def _async(url: str, client_options: dict[str, Any], **request_options: Any) -> BaseException:
    async def main() -> BaseException:
        async with wirekit.AsyncClient(**client_options) as client:
            try:
                await client.get(url, **request_options)
            except Exception as exc:
                return exc
        raise AssertionError("no error")

    return asyncio.run(asyncio.wait_for(main(), 20))


BOTH = pytest.mark.parametrize("run", [_sync, _async], ids=["sync", "async"])


# -- a proxy URL's password never reaches a message ----------------------------------------
@pytest.mark.parametrize(
    "proxy",
    [
        "socks://puser:psecret@127.0.0.1:1080",  # curl's socks:// spelling, unsupported here
        "http://puser:psecret@:3128",  # no host
    ],
    ids=["unsupported-scheme", "no-host"],
)
def test_invalid_proxy_url_error_hides_the_proxy_password(proxy: str) -> None:
    # proxies._proxy_url puts the proxy URL as given ({value!r}) in the InvalidURL message,
    # so the password goes to logs and tracebacks; every other URL error redacts it.
    with pytest.raises(wirekit.InvalidURL) as info:
        wirekit.Client(proxy=proxy)
    assert "proxy" in str(info.value)
    assert "psecret" not in str(info.value)


def test_invalid_proxy_from_the_environment_hides_the_proxy_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks://puser:psecret@127.0.0.1:1080")
    with pytest.raises(wirekit.InvalidURL) as info:
        wirekit.Client()
    assert "psecret" not in str(info.value)


# -- body errors of a streamed response read with read()/aread() carry the request ---------
@pytest.mark.parametrize(
    "script",
    [
        [expect(), send(PARTIAL), close()],  # RemoteProtocolError: body cut short
        [expect(), send(PARTIAL), sleep(0.1), reset()],  # ReadError: reset mid-body
    ],
    ids=["closed-mid-body", "reset-mid-body"],
)
def test_streamed_read_error_carries_the_request(script: list[Any]) -> None:
    # Response.read()'s read_all fast path skips the iterators' _blame(): iter_bytes() on
    # the same stream gives exc.request, read() gives None.
    with ScriptedServer(script) as server, wirekit.Client(retry=0) as client:
        url = server.url + "/body"
        with client.stream("GET", url) as response:
            with pytest.raises(wirekit.TransportError) as info:
                response.read()
    assert info.value.request is not None
    assert str(info.value.request.url) == url


@pytest.mark.parametrize(
    "script",
    [
        [expect(), send(PARTIAL), close()],
        [expect(), send(PARTIAL), sleep(0.1), reset()],
    ],
    ids=["closed-mid-body", "reset-mid-body"],
)
def test_streamed_aread_error_carries_the_request(script: list[Any]) -> None:
    async def main(url: str) -> wirekit.TransportError:
        async with wirekit.AsyncClient(retry=0) as client:
            async with client.stream("GET", url) as response:
                try:
                    await response.aread()
                except wirekit.TransportError as exc:
                    return exc
        raise AssertionError("no error")

    with ScriptedServer(script) as server:
        error = asyncio.run(asyncio.wait_for(main(server.url + "/body"), 20))
    assert error.request is not None


# -- fetch(default=) is for "try again later", not for a certificate that fails ------------
@pytest.fixture
def untrusted_tls_server(certs: Certs) -> Iterator[HashingServer]:
    """TLS on 127.0.0.1 with a certificate from a CA the client does not trust."""
    with HashingServer(ssl_context=certs.server_context()) as server:
        yield server


def test_fetch_default_does_not_swallow_a_tls_verification_failure(
    untrusted_tls_server: HashingServer,
) -> None:
    # api.fetch returns default for every TransportError, TLSError included: a certificate
    # that does not verify (an attack, a misconfiguration) is silently turned into the
    # "try again later" value, though retrying will not fix it any more than a 404.
    with pytest.raises(wirekit.TLSError):
        wirekit.fetch(untrusted_tls_server.url + "/", default=None, retry=0)


@pytest.fixture
def hashing_server_url() -> Iterator[str]:
    """A plain HTTP origin on 127.0.0.1."""
    with HashingServer() as server:
        yield server.url


# -- a failure to reach the proxy says it was the proxy ------------------------------------
@BOTH
def test_refused_proxy_is_named_as_the_proxy(run: Any, hashing_server_url: str) -> None:
    # connection.connect() connects to the proxy's address with no proxy context: the error
    # reads "connection refused by 127.0.0.1:<proxy port>", the same as the origin refusing
    # (with HTTP_PROXY from the environment the user has no way to tell).
    proxy_port = _free_port()
    error = run(hashing_server_url + "/", {"retry": 0, "proxy": f"http://127.0.0.1:{proxy_port}"})
    assert isinstance(error, (wirekit.ConnectError, wirekit.ProxyError))
    assert "proxy" in str(error)
    assert str(proxy_port) in str(error)


@BOTH
def test_proxy_connect_timeout_is_named_as_the_proxy(run: Any, hashing_server_url: str) -> None:
    with Blackhole() as blackhole:
        error = run(
            hashing_server_url + "/",
            {
                "retry": 0,
                "proxy": blackhole.url,
                "timeout": wirekit.Timeout(10, connect=0.3),
            },
        )
    assert isinstance(error, wirekit.ConnectTimeout)
    assert isinstance(error, TimeoutError)
    assert "proxy" in str(error)


@BOTH
def test_tls_failure_with_an_https_proxy_is_named_as_the_proxy(
    run: Any, untrusted_tls_server: HashingServer
) -> None:
    origin_port = _free_port()
    error = run(
        f"http://127.0.0.1:{origin_port}/",
        {"retry": 0, "proxy": untrusted_tls_server.url},  # https://127.0.0.1:<port>
    )
    assert isinstance(error, (wirekit.TLSError, wirekit.ProxyError))
    assert "proxy" in str(error)


# -- an invalid header value is the caller's error, whatever the network does -------------
@BOTH
def test_invalid_header_value_is_a_local_protocol_error_even_if_the_host_is_down(
    run: Any,
) -> None:
    # The header is only checked while the request is written, after the connection is
    # made: with the host down the caller gets ConnectError (with the default retry policy,
    # after 3 connects and back-off) for a value that could never be sent.
    port = _free_port()
    error = run(f"http://127.0.0.1:{port}/", {"retry": 0}, headers={"X-Token": "a\r\nb"})
    assert isinstance(error, wirekit.LocalProtocolError), repr(error)


def test_fetch_default_does_not_swallow_an_invalid_header_value() -> None:
    port = _free_port()
    with pytest.raises(wirekit.LocalProtocolError):
        wirekit.fetch(f"http://127.0.0.1:{port}/", default=None, headers={"X-Token": "a\r\nb"})


@BOTH
def test_invalid_header_value_error_names_the_header(run: Any, hashing_server_url: str) -> None:
    # It was raised while the request was written, with request None and a message about
    # "the message head". Now it is refused as the request is built (no request exists
    # yet, as for an invalid URL), naming the header at fault.
    error = run(hashing_server_url + "/h", {"retry": 0}, headers={"X-Token": "a\r\nb"})
    assert isinstance(error, wirekit.LocalProtocolError), repr(error)
    assert "X-Token" in str(error), str(error)


# -- a limit that fired names its knob ------------------------------------------------------
@BOTH
def test_decompression_ratio_error_names_the_client_knob(run: Any) -> None:
    # The message says "max_ratio=50x", an internal name: the knob is
    # Client(max_decompression_ratio=...) (max_decoded_bytes is named as the knob).
    bomb = gzip.compress(b"\0" * 5_000_000)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
    with ScriptedServer([expect(), send(head % len(bomb) + bomb), close()]) as server:
        error = run(server.url + "/", {"retry": 0, "max_decompression_ratio": 50})
    assert isinstance(error, wirekit.DecompressionLimitError), repr(error)
    assert "max_decompression_ratio" in str(error)
    assert "50" in str(error)


@BOTH
def test_header_count_error_names_the_knob(run: Any) -> None:
    # "response head has more than 100 header fields": the other head limits name their knob
    # (max_header_bytes, max_line_bytes), this one does not (exc.limit has it).
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(200)) + b"\r\n"
    with ScriptedServer([expect(), send(head), close()]) as server:
        error = run(server.url + "/", {"retry": 0})
    assert isinstance(error, wirekit.RemoteLimitExceeded), repr(error)
    assert "max_header_count" in str(error)
    assert "100" in str(error)


# -- a refused SOCKS proxy reads the same in both clients ----------------------------------
def test_refused_socks_proxy_says_refused_in_both_clients() -> None:
    # The sync client's message ends "[Connection refused]" (the watchdog formats strerror);
    # the async one ends "[Connect call failed ('127.0.0.1', <port>)]" (python-socks passes
    # asyncio's OSError text through translate_error's exc.strerror): the reason is lost.
    port = _free_port()
    options = {"retry": 0, "proxy": f"socks5://127.0.0.1:{port}"}
    sync_error = _sync(f"http://127.0.0.1:{_free_port()}/", options)
    async_error = _async(f"http://127.0.0.1:{_free_port()}/", options)
    assert type(sync_error) is type(async_error)
    assert "refused" in str(sync_error).lower()
    assert "refused" in str(async_error).lower(), str(async_error)
    assert str(sync_error) == str(async_error)
