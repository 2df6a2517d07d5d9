"""docs/net/dns.md's example, as written there (annotated already)."""

from wirekit.net import dns


def ask(server_port: int) -> None:
    records = dns.query("example.test", "MX", server="127.0.0.1", port=server_port, timeout=2)
    for record in records:
        print(record.preference, record.exchange, record.ttl)


async def aask(server_port: int) -> list[str]:
    records = await dns.aquery("example.test", "TXT", server="127.0.0.1", port=server_port)
    return [record.text for record in records]
