"""A tiny authoritative DNS server for tests: UDP and TCP on 127.0.0.1, port 0, in a thread.

Serves a dict zone with dnspython's message parsing. Follows CNAMEs inside the zone (up to
four hops, so loops end), answers NXDOMAIN for unknown names, sets TC on UDP answers over
512 bytes so clients retry over TCP, and can be told to stay silent (for timeouts).
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Zone = dict[str, list[tuple[str, int, str]]]

ZONE: Zone = {
    "example.test": [
        ("A", 300, "192.0.2.10"),
        ("AAAA", 300, "2001:db8::10"),
        ("MX", 3600, "10 mail.example.test."),
        ("MX", 3600, "20 backup.example.test."),
        ("NS", 3600, "ns1.example.test."),
        ("TXT", 120, '"v=spf1 -all"'),
        ("SOA", 3600, "ns1.example.test. admin.example.test. 2024010101 7200 900 1209600 300"),
    ],
    "mail.example.test": [("A", 60, "192.0.2.25"), ("AAAA", 60, "2001:db8::25")],
    "backup.example.test": [("A", 60, "192.0.2.26")],
    "www.example.test": [("CNAME", 30, "example.test.")],
    "far.example.test": [("CNAME", 30, "elsewhere.other.")],
    "elsewhere.other": [("A", 45, "192.0.2.99")],
    "_http._tcp.example.test": [("SRV", 60, "5 10 8080 www.example.test.")],
    "10.2.0.192.in-addr.arpa": [("PTR", 600, "example.test.")],
    "big.example.test": [("TXT", 60, " ".join(['"' + "x" * 200 + '"'] * 5))],
    "nomx.example.test": [("A", 60, "192.0.2.40")],
    "nullmx.example.test": [("MX", 60, "0 .")],
    "loop-a.example.test": [("CNAME", 30, "loop-b.other.")],
    "loop-b.other": [("CNAME", 30, "loop-a.example.test.")],
    "mxalias.example.test": [("CNAME", 30, "example.test.")],
}

UDP_LIMIT = 512


class DNSServer:
    """Answers from ``zone`` until stopped. ``queries`` records (name, type, transport)."""

    def __init__(self, zone: Zone) -> None:
        self.zone = {k.lower(): v for k, v in zone.items()}
        self.silent = False
        self.queries: list[tuple[str, str, str]] = []
        self.udp, self.tcp = self._bind_pair()
        self.port = self.udp.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @staticmethod
    def _bind_pair() -> tuple[socket.socket, socket.socket]:
        """A UDP and a TCP socket on the same free port (DNS clients fall back to TCP there)."""
        for _attempt in range(50):  # the UDP port's TCP twin is occasionally taken: retry
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind(("127.0.0.1", udp.getsockname()[1]))
                tcp.listen(8)
            except OSError:
                tcp.close()
                udp.close()
                continue
            return udp, tcp
        raise RuntimeError("no port free for both UDP and TCP after 50 tries")

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        request = dns.message.from_wire(wire)
        question = request.question[0]
        qname = question.name.to_text(omit_final_dot=True).lower()
        qtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((qname, qtype, transport))
        if self.silent:
            return None
        response = dns.message.make_response(request)
        response.flags |= dns.flags.AA
        name = qname
        owner = question.name
        for _hop in range(4):
            records = self.zone.get(name)
            if records is None:
                if name == qname:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                break
            matching = [r for r in records if r[0] == qtype]
            if matching:
                rrset = dns.rrset.from_text_list(
                    owner, matching[0][1], "IN", qtype, [r[2] for r in matching]
                )
                response.answer.append(rrset)
                break
            cname = [r for r in records if r[0] == "CNAME"]
            if not cname:
                break
            rrset = dns.rrset.from_text_list(owner, cname[0][1], "IN", "CNAME", [cname[0][2]])
            response.answer.append(rrset)
            target = cname[0][2].rstrip(".").lower()
            owner = dns.name.from_text(target)
            # Only follow inside our own zone, as an authoritative server would.
            if not target.endswith("example.test"):
                break
            name = target
        wire_out = response.to_wire()
        if transport == "udp" and len(wire_out) > UDP_LIMIT:
            truncated = dns.message.make_response(request)
            truncated.flags |= dns.flags.TC
            wire_out = truncated.to_wire()
        return wire_out

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.udp, selectors.EVENT_READ, "udp")
            selector.register(self.tcp, selectors.EVENT_READ, "tcp")
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    if key.data == "udp":
                        data, peer = self.udp.recvfrom(4096)
                        reply = self.answer(data, "udp")
                        if reply is not None:
                            self.udp.sendto(reply, peer)
                    else:
                        conn, _ = self.tcp.accept()
                        with conn:
                            conn.settimeout(5)
                            self._serve_tcp(conn)

    def _serve_tcp(self, conn: socket.socket) -> None:
        try:
            header = conn.recv(2, socket.MSG_WAITALL)
            if len(header) < 2:
                return
            (length,) = struct.unpack("!H", header)
            data = conn.recv(length, socket.MSG_WAITALL)
            reply = self.answer(data, "tcp")
            if reply is not None:
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            pass

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.udp.close()
        self.tcp.close()


@contextmanager
def running_dns_server(zone: Zone | None = None) -> Iterator[DNSServer]:
    server = DNSServer(ZONE if zone is None else zone)
    server.start()
    try:
        yield server
    finally:
        server.stop()
