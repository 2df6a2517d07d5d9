"""wirekit.net.names through the system resolver (/etc/hosts: localhost only)."""

from __future__ import annotations

import socket

import pytest

from wirekit.errors import NameResolutionError
from wirekit.net import names


def test_lookup_localhost_and_literal_addresses() -> None:
    assert "127.0.0.1" in names.lookup("localhost")
    assert names.lookup("127.0.0.1") == ["127.0.0.1"]
    assert names.lookup("::1") == ["::1"]
    assert names.lookup("localhost", family="ipv4") == ["127.0.0.1"]


def test_lookup_deduplicates_and_accepts_urls_and_ports() -> None:
    assert names.lookup("http://user:secret@LOCALHOST:8080/path?q=1", family="ipv4") == [
        "127.0.0.1"
    ]
    assert names.lookup("https://[::1]:8443/") == ["::1"]
    assert names.lookup("localhost:9000", family="ipv4", port=9000) == ["127.0.0.1"]
    found = names.lookup("localhost")
    assert len(found) == len(set(found))


def test_host_of_converts_idn_names() -> None:
    assert names.host_of("https://bücher.example/") == "xn--bcher-kva.example"
    assert names.host_of("ÉXAMPLE.test.") == "xn--xample-9ua.test"


# A label over 63 characters is refused before any query leaves the machine.
INVALID = "x" * 64 + ".invalid"


def test_unknown_name_raises_naming_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def nxdomain(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)
    with pytest.raises(
        NameResolutionError, match=r"could not resolve host 'nothere\.test'"
    ) as caught:
        names.lookup("nothere.test")
    assert caught.value.host == "nothere.test"


def test_overlong_label_is_refused_locally() -> None:
    with pytest.raises(NameResolutionError, match="label over 63 characters") as caught:
        names.lookup(INVALID)
    assert caught.value.host == INVALID


def test_invalid_idn_and_bad_family_are_refused() -> None:
    with pytest.raises(NameResolutionError, match="not a valid internationalised host name"):
        names.lookup("a\u200db.example")
    with pytest.raises(ValueError, match="family must be"):
        names.lookup("localhost", family="ipx")  # type: ignore[arg-type]


def test_lookup_one_prefers_a_family_with_fallback() -> None:
    assert names.lookup_one("127.0.0.1", prefer="ipv6") == "127.0.0.1"
    assert names.lookup_one("localhost", prefer="ipv4") == "127.0.0.1"


def test_reverse_and_forward_confirmed() -> None:
    assert names.reverse("127.0.0.1") == "localhost"
    check = names.forward_confirmed("127.0.0.1")
    assert check.name == "localhost"
    assert check.confirmed
    assert "127.0.0.1" in check.forward_addresses
    with pytest.raises(NameResolutionError, match="not an IP address"):
        names.reverse("localhost")


def test_forward_confirmed_fails_softly(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ptr(*args: object) -> object:
        raise socket.herror(1, "Unknown host")

    monkeypatch.setattr(socket, "getnameinfo", no_ptr)
    check = names.forward_confirmed("192.0.2.1")
    assert not check.confirmed
    assert check.name is None


def test_local_names() -> None:
    local = names.local_names()
    assert local.hostname
    assert local.fqdn
    assert "127.0.0.1" not in local.addresses


@pytest.mark.anyio
async def test_async_twins() -> None:
    assert "127.0.0.1" in await names.alookup("localhost")
    assert await names.alookup_one("localhost", prefer="ipv4") == "127.0.0.1"
    assert await names.areverse("127.0.0.1") == "localhost"
    assert (await names.aforward_confirmed("127.0.0.1")).confirmed
    assert (await names.alocal_names()).hostname
    with pytest.raises(NameResolutionError, match="label over 63"):
        await names.alookup(INVALID)
