"""wirekit.net.interfaces on this machine: loopback is always there and never has a MAC."""

from __future__ import annotations

import importlib
import re
import socket

import pytest

from wirekit.net import interfaces, mac_address

# wirekit.net.interfaces is also the name of the re-exported function: fetch the module.
interfaces_module = importlib.import_module("wirekit.net.interfaces")

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def test_loopback_is_listed_with_its_addresses() -> None:
    found = {i.name: i for i in interfaces()}
    loopback = [i for i in found.values() if i.is_loopback]
    assert loopback
    lo = loopback[0]
    assert lo.mac is None
    assert lo.is_up
    assert "127.0.0.1" in {a.address for a in lo.addresses}
    assert {n for _, n in socket.if_nameindex()} == set(found)


def test_every_listed_mac_is_a_real_one() -> None:
    for interface in interfaces():
        if interface.mac is not None:
            assert MAC.match(interface.mac)
            assert interface.mac != "00:00:00:00:00:00"
            assert not int(interface.mac[:2], 16) & 1


def test_mac_address_is_never_loopback_nor_invented() -> None:
    found = mac_address()
    real = [i for i in interfaces() if i.mac and not i.is_loopback]
    if found is None:
        assert real == []
    else:
        assert found.interface in {i.name for i in real}
        assert MAC.match(str(found))
        assert found.locally_administered == bool(int(found.address[:2], 16) & 2)
    assert mac_address("lo") is None
    assert mac_address("no-such-interface0") is None


def test_mac_address_ranks_universal_before_local(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = [
        interfaces_module.Interface("lo", 1, None, (), True, True, 65536),
        interfaces_module.Interface("veth0", 2, "02:00:00:00:00:01", (), True, False, 1500),
        interfaces_module.Interface("eth1", 3, "00:1b:21:aa:bb:cc", (), False, False, 1500),
        interfaces_module.Interface("eth2", 4, "00:1b:21:aa:bb:cd", (), True, False, 1500),
    ]
    monkeypatch.setattr(interfaces_module, "interfaces", lambda: fake)
    best = interfaces_module.mac_address()
    assert best is not None
    assert (best.interface, best.locally_administered) == ("eth2", False)
    local = interfaces_module.mac_address("veth0")
    assert local is not None
    assert local.locally_administered


def test_mac_checks() -> None:
    assert not interfaces_module._is_real_mac("00:00:00:00:00:00")
    assert not interfaces_module._is_real_mac("ff:ff:ff:ff:ff:ff")
    assert not interfaces_module._is_real_mac("01:00:5e:00:00:01")  # multicast
    assert interfaces_module._is_real_mac("00:1b:21:aa:bb:cc")
