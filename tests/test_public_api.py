"""The public surface of ``wirekit`` is what ``__all__`` says, and every name resolves."""

import wirekit

EXPECTED = {
    # client
    "AsyncClient",
    "Client",
    "Request",
    "Response",
    "Headers",
    "URL",
    "Cookies",
    "Timeout",
    "Retry",
    "Limits",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "request",
    "fetch",
    "Auth",
    "BasicAuth",
    "BearerAuth",
    "DigestAuth",
    "FunctionAuth",
    "NetrcAuth",
    "BaseTransport",
    "AsyncBaseTransport",
    "HTTPTransport",
    "AsyncHTTPTransport",
    "MockTransport",
    # server
    "Server",
    "ServerConfig",
    "serve",
    "WSGITransport",
    "ASGITransport",
    # errors
    "WirekitError",
    "TransportError",
    "NameResolutionError",
    "ConnectError",
    "TLSError",
    "ProxyError",
    "ReadError",
    "WriteError",
    "RemoteProtocolError",
    "RemoteLimitExceeded",
    "TimeoutException",
    "ConnectTimeout",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "DeadlineExceeded",
    "HTTPStatusError",
    "TooManyRedirects",
    "InvalidRedirect",
    "DecodingError",
    "DecompressionLimitError",
    "InvalidURL",
    "JSONDecodeError",
    "LocalProtocolError",
    "LimitExceeded",
    "StreamError",
    "StreamConsumed",
    "StreamClosed",
    "__version__",
}


def test_all_is_exactly_the_public_surface() -> None:
    assert set(wirekit.__all__) == EXPECTED
    for name in wirekit.__all__:
        assert getattr(wirekit, name) is not None


def test_timeouts_are_builtin_timeout_errors_and_refusal_is_not() -> None:
    for cls in (
        wirekit.ConnectTimeout,
        wirekit.ReadTimeout,
        wirekit.WriteTimeout,
        wirekit.PoolTimeout,
        wirekit.DeadlineExceeded,
    ):
        assert issubclass(cls, TimeoutError)
        assert issubclass(cls, wirekit.TransportError)
    assert not issubclass(wirekit.ConnectError, TimeoutError)


def test_public_classes_can_be_subclassed() -> None:
    # Also on the mypyc build (make pytest-compiled), where compiled classes refuse
    # interpreted subclasses unless they allow them.
    import wirekit
    from wirekit.server.main import Server

    class MyClient(wirekit.Client):
        def marker(self) -> str:
            return "mine"

    class MyRetry(wirekit.Retry):
        pass

    class MyServer(Server):
        pass

    with MyClient() as client:
        assert client.marker() == "mine"
    assert MyRetry(2).total == 2
    assert isinstance(MyServer(lambda environ, start: []), Server)
    for base in (wirekit.Timeout, wirekit.Limits, wirekit.Headers, wirekit.URL):
        assert issubclass(type("Sub", (base,), {}), base)

    class MyHeaders(wirekit.Headers):
        def marker(self) -> str:
            return "mine"

    headers = MyHeaders({"A": "1"})
    assert headers.marker() == "mine"
    assert headers["a"] == "1"
    assert str(type("MyURL", (wirekit.URL,), {})("http://h/p")) == "http://h/p"
