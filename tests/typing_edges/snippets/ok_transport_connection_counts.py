"""docs/client.md, "Connection pool": the documented way to look at the pool."""

import wirekit

limits = wirekit.Limits(max_connections=10, keepalive_expiry=2.0)
with wirekit.Client(limits=limits, timeout=wirekit.Timeout(30, pool=5)) as client:
    transport = client.transport  # typed as any transport: the default one is an HTTPTransport
    assert isinstance(transport, wirekit.HTTPTransport)
    print(transport.connection_counts())  # {'open': 0, 'idle': 0}


async def main() -> None:
    async with wirekit.AsyncClient(limits=limits) as aclient:
        atransport = aclient.transport
        assert isinstance(atransport, wirekit.AsyncHTTPTransport)
        counts: dict[str, int] = atransport.connection_counts()
        print(counts["open"], counts["idle"])
