"""wirekit.net.dns against the local test DNS server (never a public resolver)."""

from __future__ import annotations

import re

import pytest

from tests.net.dns_server import DNSServer
from wirekit.errors import NameResolutionError, TimeoutException
from wirekit.net import dns as wdns


def ask(server: DNSServer, name: str, rdtype: str, **options: object) -> list[wdns.Record]:
    return wdns.query(name, rdtype, server="127.0.0.1", port=server.port, timeout=2, **options)  # type: ignore[arg-type]


def test_a_and_aaaa_records_carry_ttl(dns_server: DNSServer) -> None:
    assert ask(dns_server, "example.test", "A") == [wdns.ARecord("example.test", 300, "192.0.2.10")]
    assert ask(dns_server, "example.test", "aaaa") == [
        wdns.AAAARecord("example.test", 300, "2001:db8::10")
    ]


def test_every_supported_type_is_typed(dns_server: DNSServer) -> None:
    mx = ask(dns_server, "example.test", "MX")
    assert sorted((r.preference, r.exchange) for r in mx if isinstance(r, wdns.MXRecord)) == [
        (10, "mail.example.test"),
        (20, "backup.example.test"),
    ]
    (ns,) = ask(dns_server, "example.test", "NS")
    assert isinstance(ns, wdns.NSRecord)
    assert ns.target == "ns1.example.test"
    (txt,) = ask(dns_server, "example.test", "TXT")
    assert isinstance(txt, wdns.TXTRecord)
    assert txt.text == "v=spf1 -all"
    assert txt.ttl == 120
    (srv,) = ask(dns_server, "_http._tcp.example.test", "SRV")
    assert srv == wdns.SRVRecord("_http._tcp.example.test", 60, 5, 10, 8080, "www.example.test")
    (soa,) = ask(dns_server, "example.test", "SOA")
    assert isinstance(soa, wdns.SOARecord)
    assert soa.serial == 2024010101
    assert soa.minimum == 300
    (cname,) = ask(dns_server, "www.example.test", "CNAME")
    assert cname == wdns.CNAMERecord("www.example.test", 30, "example.test")


def test_ptr_accepts_an_address(dns_server: DNSServer) -> None:
    (ptr,) = ask(dns_server, "192.0.2.10", "PTR")
    assert isinstance(ptr, wdns.PTRRecord)
    assert ptr.target == "example.test"


def test_cname_in_same_response_is_followed(dns_server: DNSServer) -> None:
    assert ask(dns_server, "www.example.test", "A") == [
        wdns.ARecord("example.test", 300, "192.0.2.10")
    ]


def test_cname_leaving_the_response_is_followed_by_a_new_query(dns_server: DNSServer) -> None:
    assert ask(dns_server, "far.example.test", "A") == [
        wdns.ARecord("elsewhere.other", 45, "192.0.2.99")
    ]
    assert ("elsewhere.other", "A", "udp") in dns_server.queries


def test_cname_loop_is_an_error_naming_the_host(dns_server: DNSServer) -> None:
    with pytest.raises(NameResolutionError, match=re.escape("loop-a.example.test")) as caught:
        ask(dns_server, "loop-a.example.test", "A")
    assert "CNAME" in str(caught.value)


def test_cname_hop_limit_is_enforced(dns_server: DNSServer) -> None:
    with pytest.raises(NameResolutionError, match="max_cname_hops=0"):
        ask(dns_server, "far.example.test", "A", max_cname_hops=0)


def test_missing_domain_raises_and_missing_type_is_empty(dns_server: DNSServer) -> None:
    with pytest.raises(
        NameResolutionError, match=re.escape("no such domain: nothere.example.test")
    ) as caught:
        ask(dns_server, "nothere.example.test", "A")
    assert caught.value.host == "nothere.example.test"
    assert ask(dns_server, "mail.example.test", "MX") == []


def test_truncated_udp_answer_is_retried_over_tcp(dns_server: DNSServer) -> None:
    (txt,) = ask(dns_server, "big.example.test", "TXT")
    assert isinstance(txt, wdns.TXTRecord)
    assert txt.text == "x" * 1000
    assert ("big.example.test", "TXT", "tcp") in dns_server.queries


def test_silent_server_times_out_with_a_dns_timeout(dns_server: DNSServer) -> None:
    dns_server.silent = True
    with pytest.raises(wdns.DNSTimeout, match=r"example.test .*timed out .*127.0.0.1") as caught:
        wdns.query("example.test", "A", server="127.0.0.1", port=dns_server.port, timeout=0.3)
    assert isinstance(caught.value, TimeoutException)
    assert isinstance(caught.value, TimeoutError)


def test_unsupported_type_is_refused_before_any_query(dns_server: DNSServer) -> None:
    with pytest.raises(ValueError, match="HINFO"):
        ask(dns_server, "example.test", "HINFO")
    assert dns_server.queries == []


def test_mail_exchangers_by_preference_with_addresses(dns_server: DNSServer) -> None:
    found = wdns.mail_exchangers("example.test", server="127.0.0.1", port=dns_server.port)
    assert found == [
        wdns.MailExchanger(10, "mail.example.test", ("2001:db8::25", "192.0.2.25")),
        wdns.MailExchanger(20, "backup.example.test", ("192.0.2.26",)),
    ]


def test_mail_exchangers_implicit_mx_and_null_mx(dns_server: DNSServer) -> None:
    found = wdns.mail_exchangers("nomx.example.test", server="127.0.0.1", port=dns_server.port)
    assert found == [wdns.MailExchanger(0, "nomx.example.test", ("192.0.2.40",), implicit=True)]
    assert (
        wdns.mail_exchangers("nullmx.example.test", server="127.0.0.1", port=dns_server.port) == []
    )


def test_mail_exchangers_follow_a_cname_domain(dns_server: DNSServer) -> None:
    found = wdns.mail_exchangers("mxalias.example.test", server="127.0.0.1", port=dns_server.port)
    assert [m.host for m in found] == ["mail.example.test", "backup.example.test"]


@pytest.mark.anyio
async def test_async_query_and_mail_exchangers(dns_server: DNSServer) -> None:
    records = await wdns.aquery("www.example.test", "A", server="127.0.0.1", port=dns_server.port)
    assert records == [wdns.ARecord("example.test", 300, "192.0.2.10")]
    found = await wdns.amail_exchangers("example.test", server="127.0.0.1", port=dns_server.port)
    assert [m.preference for m in found] == [10, 20]
    with pytest.raises(NameResolutionError, match="nothere"):
        await wdns.aquery("nothere.example.test", "A", server="127.0.0.1", port=dns_server.port)


def test_equal_preferences_are_shuffled_by_the_given_function(dns_server: DNSServer) -> None:
    shuffled: list[list[object]] = []

    def record_and_reverse(items: list[object]) -> None:
        shuffled.append(list(items))
        items.reverse()

    wdns.mail_exchangers(
        "example.test", server="127.0.0.1", port=dns_server.port, shuffle=record_and_reverse
    )
    assert [len(group) for group in shuffled] == [1, 1]  # one group per preference


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_timeout_bounds_every_query_of_a_lookup_together(
    dns_server: DNSServer, monkeypatch: pytest.MonkeyPatch, is_async: bool
) -> None:
    # docs/net/dns.md: `timeout` is for the whole lookup. mail_exchangers asks for the MX
    # records and then each exchanger's AAAA and A (5 queries here): at 0.25 s an answer,
    # each query fits in 0.8 s, all of them do not. It took 1.25 s and succeeded.
    import asyncio
    import time

    answer = dns_server.answer

    def slow_answer(wire: bytes, transport: str) -> bytes | None:
        time.sleep(0.25)
        return answer(wire, transport)

    monkeypatch.setattr(dns_server, "answer", slow_answer)

    def lookup() -> object:
        port = dns_server.port
        if is_async:
            return asyncio.run(
                wdns.amail_exchangers("example.test", server="127.0.0.1", port=port, timeout=0.8)
            )
        return wdns.mail_exchangers("example.test", server="127.0.0.1", port=port, timeout=0.8)

    started = time.monotonic()
    with pytest.raises(TimeoutException, match="timed out"):
        lookup()
    assert time.monotonic() - started < 1.2
