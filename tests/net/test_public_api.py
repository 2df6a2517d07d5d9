"""wirekit.net's public surface: pinned, so a removal or rename is a deliberate change."""

from __future__ import annotations

import wirekit.net

EXPECTED = {
    "AddressKind", "AsyncServer", "CachingResolver", "DNSTimeout", "HostPort", "Interface",
    "AsyncUDPServer", "InterfaceAddress", "InvalidAddress", "LineReader", "LocalNames",
    "MacAddress",
    "MailExchanger", "PortCheck", "Record", "ReverseCheck", "TCPServer", "UDPServer",
    "UDPTimeout", "UnixServer", "acheck_port", "aforward_confirmed", "alocal_names", "alookup",
    "alookup_one", "amail_exchangers", "aquery", "aread_exactly", "aread_frame", "aread_line",
    "aread_record", "areverse", "audp_request", "awrite_frame", "check_port", "classify",
    "encode_frame", "forward_confirmed", "in_network", "interfaces", "local_names", "lookup",
    "lookup_one", "mac_address", "mail_exchangers", "parse_hostport", "query", "recv_exactly",
    "recv_frame", "recv_record", "reverse", "send_all", "send_frame", "serve_udp",
    "service_port", "udp_request",
}  # fmt: skip


def test_all_is_pinned_and_importable() -> None:
    assert set(wirekit.net.__all__) == EXPECTED
    assert len(wirekit.net.__all__) == len(EXPECTED)
    for name in EXPECTED:
        assert getattr(wirekit.net, name) is not None
