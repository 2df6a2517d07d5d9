"""DNS record queries (A, AAAA, CNAME, MX, NS, TXT, SRV, PTR, SOA) on dnspython.

Answers come back as frozen dataclasses carrying their TTL. CNAME chains that leave one
response are followed here, with a hop limit and loop detection, by one sans-IO generator
that the sync and async front ends both drive; :func:`mail_exchangers` applies RFC 5321 §5.1.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, overload

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.rdatatype
import dns.resolver
import dns.reversename

from wirekit.errors import NameResolutionError, TimeoutException
from wirekit.net.names import host_of

__all__ = [
    "DEFAULT_DNS_TIMEOUT",
    "DEFAULT_MAX_CNAME_HOPS",
    "AAAARecord",
    "ARecord",
    "CNAMERecord",
    "DNSTimeout",
    "MXRecord",
    "MailExchanger",
    "NSRecord",
    "PTRRecord",
    "Record",
    "SOARecord",
    "SRVRecord",
    "TXTRecord",
    "amail_exchangers",
    "aquery",
    "mail_exchangers",
    "query",
]

#: Seconds a whole query may take, retries to the server included (dnspython's "lifetime").
DEFAULT_DNS_TIMEOUT = 5.0
#: CNAME hops followed across separate queries before giving up. RFC 1034 §3.6.2 says
#: chains should not exist at all; resolvers allow a few (BIND: 16 in one response).
DEFAULT_MAX_CNAME_HOPS = 8

RecordType: TypeAlias = Literal["A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "PTR", "SOA"]
SUPPORTED_TYPES: tuple[str, ...] = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "PTR", "SOA")


class DNSTimeout(NameResolutionError, TimeoutException):
    """The DNS server did not answer in time. Both a name-resolution error and a timeout."""

    phase = "dns"


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True) or "."


@dataclass(frozen=True, slots=True)
class _Base:
    name: str
    ttl: int


@dataclass(frozen=True, slots=True)
class ARecord(_Base):
    address: str
    type: str = "A"


@dataclass(frozen=True, slots=True)
class AAAARecord(_Base):
    address: str
    type: str = "AAAA"


@dataclass(frozen=True, slots=True)
class CNAMERecord(_Base):
    target: str
    type: str = "CNAME"


@dataclass(frozen=True, slots=True)
class MXRecord(_Base):
    preference: int
    exchange: str
    type: str = "MX"


@dataclass(frozen=True, slots=True)
class NSRecord(_Base):
    target: str
    type: str = "NS"


@dataclass(frozen=True, slots=True)
class TXTRecord(_Base):
    #: The character-strings of the record, apart (decoded as UTF-8, bad bytes replaced).
    strings: tuple[str, ...]
    type: str = "TXT"

    @property
    def text(self) -> str:
        """The strings joined, which is how SPF (RFC 7208 §3.3) and DKIM read them."""
        return "".join(self.strings)


@dataclass(frozen=True, slots=True)
class SRVRecord(_Base):
    priority: int
    weight: int
    port: int
    target: str
    type: str = "SRV"


@dataclass(frozen=True, slots=True)
class PTRRecord(_Base):
    target: str
    type: str = "PTR"


@dataclass(frozen=True, slots=True)
class SOARecord(_Base):
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int
    type: str = "SOA"


Record: TypeAlias = (
    ARecord
    | AAAARecord
    | CNAMERecord
    | MXRecord
    | NSRecord
    | TXTRecord
    | SRVRecord
    | PTRRecord
    | SOARecord
)


@dataclass(frozen=True, slots=True)
class MailExchanger:
    """One mail destination for a domain: preference, host and its addresses.

    ``implicit`` is True when the domain has no MX records and its own address records
    stand in for one (RFC 5321 §5.1).
    """

    preference: int
    host: str
    addresses: tuple[str, ...]
    implicit: bool = False


def _record(rtype: str, name: str, ttl: int, rdata: Any) -> Record:
    if rtype == "A":
        return ARecord(name, ttl, rdata.address)
    if rtype == "AAAA":
        return AAAARecord(name, ttl, rdata.address)
    if rtype == "CNAME":
        return CNAMERecord(name, ttl, _text(rdata.target))
    if rtype == "MX":
        return MXRecord(name, ttl, rdata.preference, _text(rdata.exchange))
    if rtype == "NS":
        return NSRecord(name, ttl, _text(rdata.target))
    if rtype == "TXT":
        strings = tuple(s.decode("utf-8", "replace") for s in rdata.strings)
        return TXTRecord(name, ttl, strings)
    if rtype == "SRV":
        return SRVRecord(name, ttl, rdata.priority, rdata.weight, rdata.port, _text(rdata.target))
    if rtype == "PTR":
        return PTRRecord(name, ttl, _text(rdata.target))
    return SOARecord(
        name,
        ttl,
        _text(rdata.mname),
        _text(rdata.rname),
        rdata.serial,
        rdata.refresh,
        rdata.retry,
        rdata.expire,
        rdata.minimum,
    )


@dataclass(frozen=True, slots=True)
class _Step:
    """One question for the driver to ask: (name, type)."""

    name: str
    rtype: str


@dataclass(frozen=True, slots=True)
class _Reply:
    """What one question gave: records of the asked type and where the chain ended."""

    records: list[Record]
    canonical_name: str


def _normalise_type(rdtype: str) -> str:
    rtype = rdtype.upper()
    if rtype not in SUPPORTED_TYPES:
        raise ValueError(f"unsupported record type {rdtype!r}; use one of {SUPPORTED_TYPES}")
    return rtype


def _query_name(name: str, rtype: str) -> str:
    # host_of first: "[2001:db8::1]", "host:port" and URLs are read as everywhere else.
    host = host_of(name)
    if rtype == "PTR":
        # Accept an address for PTR and build the in-addr.arpa / ip6.arpa name from it (a
        # zone, "fe80::1%eth0", says which link, not which name).
        try:
            return _text(dns.reversename.from_address(host.split("%", 1)[0]))
        except (ValueError, dns.exception.SyntaxError):
            pass
    return host


def _chain(name: str, rtype: str, max_cname_hops: int) -> Generator[_Step, _Reply, list[Record]]:
    """Ask for (name, type), following CNAMEs whose targets the server did not include."""
    current = name
    seen = {current.lower()}
    for _hop in range(max_cname_hops + 1):
        reply = yield _Step(current, rtype)
        if reply.records or rtype == "CNAME" or reply.canonical_name.lower() == current.lower():
            return reply.records
        current = reply.canonical_name
        if current.lower() in seen:
            raise NameResolutionError(f"CNAME loop while resolving {name} ({rtype})", host=name)
        seen.add(current.lower())
    raise NameResolutionError(
        f"CNAME chain for {name} ({rtype}) longer than max_cname_hops={max_cname_hops}", host=name
    )


def _mail_steps(
    domain: str, max_cname_hops: int, shuffle: Callable[[list[Any]], None]
) -> Generator[_Step, _Reply, list[MailExchanger]]:
    records = yield from _chain(domain, "MX", max_cname_hops)
    mx = [r for r in records if isinstance(r, MXRecord)]
    # RFC 7505: a single MX of preference 0 with exchange "." means "this domain takes no mail".
    if len(mx) == 1 and mx[0].exchange in (".", ""):
        return []
    if mx:
        targets = [(r.preference, r.exchange, False) for r in mx]
    else:
        # RFC 5321 §5.1: no MX at all means an implicit MX of preference 0 naming the domain.
        targets = [(0, domain, True)]
    # §5.1: same-preference hosts should be tried in random order to spread the load.
    groups: dict[int, list[tuple[int, str, bool]]] = {}
    for target in targets:
        groups.setdefault(target[0], []).append(target)
    ordered: list[tuple[int, str, bool]] = []
    for preference in sorted(groups):
        group = groups[preference]
        shuffle(group)
        ordered.extend(group)
    exchangers = []
    for preference, host, implicit in ordered:
        addresses: list[str] = []
        for rtype in ("AAAA", "A"):
            try:
                found = yield from _chain(host, rtype, max_cname_hops)
            except DNSTimeout:
                raise  # no answer is not "no such exchanger": the caller must retry later
            except NameResolutionError:
                if implicit:
                    raise
                continue  # one broken exchanger must not hide the others
            addresses.extend(r.address for r in found if isinstance(r, (ARecord, AAAARecord)))
        if implicit and not addresses:
            return []
        exchangers.append(MailExchanger(preference, host, tuple(addresses), implicit))
    return exchangers


def _configure(
    resolver: dns.resolver.BaseResolver, server: str | None, port: int, timeout: float
) -> None:
    if server is not None:
        resolver.nameservers = [server]
        resolver.port = port
    resolver.lifetime = timeout
    # Per try (per server asked): at most half the lifetime, so a lost UDP datagram is sent
    # again, and with several system nameservers the next one is asked. resolver.timeout
    # is dnspython's 2 s default, or "options timeout:" from resolv.conf.
    resolver.timeout = min(resolver.timeout, timeout / 2)


def _time_left(resolver: dns.resolver.BaseResolver, deadline: float, timeout: float) -> None:
    """Give the next query of a lookup what is left of its ``timeout`` (dnspython's
    Timeout, as a query that ran out would raise, when nothing is left)."""
    resolver.lifetime = deadline - time.monotonic()
    if resolver.lifetime <= 0:
        raise dns.exception.Timeout(timeout=timeout)  # type: ignore[no-untyped-call]


def _resolver(server: str | None, port: int, timeout: float) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=server is None)
    _configure(resolver, server, port, timeout)
    return resolver


def _aresolver(server: str | None, port: int, timeout: float) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=server is None)
    _configure(resolver, server, port, timeout)
    return resolver


def _reply(step: _Step, answer: dns.resolver.Answer) -> _Reply:
    records: list[Record] = []
    if answer.rrset is not None:
        owner = _text(answer.rrset.name)
        records = [_record(step.rtype, owner, answer.rrset.ttl, rd) for rd in answer.rrset]
    return _Reply(records, _text(answer.canonical_name))


def _translate(step: _Step, root: str, server: str | None, exc: Exception) -> NameResolutionError:
    where = f" (server {server})" if server else ""
    if root.lower() != step.name.lower():
        where += f" while resolving {root}"
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return NameResolutionError(f"no such domain: {step.name}{where}", host=step.name)
    if isinstance(exc, dns.exception.Timeout):
        return DNSTimeout(
            f"DNS query for {step.name} ({step.rtype}) timed out{where}", host=step.name
        )
    if isinstance(exc, dns.message.ChainTooLong):
        return NameResolutionError(
            f"CNAME chain too long (or a loop) for {step.name}{where}", host=step.name
        )
    if isinstance(exc, dns.resolver.NoNameservers):
        # dnspython files a malformed answer (such as a CNAME loop) under "no nameservers";
        # say what it really was.
        for error in exc.kwargs.get("errors", []):
            if isinstance(error[3], dns.message.ChainTooLong):
                return NameResolutionError(
                    f"CNAME chain too long (or a loop) for {step.name}{where}", host=step.name
                )
        return NameResolutionError(
            f"DNS server failed or refused to answer for {step.name} ({step.rtype}){where}",
            host=step.name,
        )
    return NameResolutionError(
        f"DNS query for {step.name} ({step.rtype}) failed{where}: {exc}", host=step.name
    )


def _run_sync(
    steps: Generator[_Step, _Reply, Any],
    root: str,
    server: str | None,
    port: int,
    timeout: float,
) -> Any:
    resolver = _resolver(server, port, timeout)
    # ``timeout`` bounds the whole lookup, every step of it (CNAME hops, each exchanger's
    # addresses), not each query alone.
    deadline = time.monotonic() + timeout
    try:
        step = next(steps)
        while True:
            try:
                _time_left(resolver, deadline, timeout)
                answer = resolver.resolve(
                    step.name, step.rtype, raise_on_no_answer=False, search=False
                )
            except dns.exception.DNSException as exc:
                failure = _translate(step, root, server, exc)
                failure.__cause__ = exc
            else:
                step = steps.send(_reply(step, answer))
                continue
            # Into the generator, which decides: mail_exchangers skips one broken exchanger.
            step = steps.throw(failure)
    except StopIteration as stop:
        return stop.value


async def _run_async(
    steps: Generator[_Step, _Reply, Any],
    root: str,
    server: str | None,
    port: int,
    timeout: float,
) -> Any:
    resolver = _aresolver(server, port, timeout)
    # ``timeout`` bounds the whole lookup, every step of it (CNAME hops, each exchanger's
    # addresses), not each query alone.
    deadline = time.monotonic() + timeout
    try:
        step = next(steps)
        while True:
            try:
                _time_left(resolver, deadline, timeout)
                answer = await resolver.resolve(
                    step.name, step.rtype, raise_on_no_answer=False, search=False
                )
            except dns.exception.DNSException as exc:
                failure = _translate(step, root, server, exc)
                failure.__cause__ = exc
            else:
                step = steps.send(_reply(step, answer))
                continue
            # Into the generator, which decides: mail_exchangers skips one broken exchanger.
            step = steps.throw(failure)
    except StopIteration as stop:
        return stop.value


@overload
def query(
    name: str,
    rdtype: Literal["A"] = "A",
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[ARecord]: ...


@overload
def query(
    name: str,
    rdtype: Literal["AAAA"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[AAAARecord]: ...


@overload
def query(
    name: str,
    rdtype: Literal["CNAME"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[CNAMERecord]: ...


@overload
def query(
    name: str,
    rdtype: Literal["MX"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[MXRecord]: ...


@overload
def query(
    name: str,
    rdtype: Literal["NS"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[NSRecord]: ...


@overload
def query(
    name: str,
    rdtype: Literal["TXT"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[TXTRecord]: ...


@overload
def query(
    name: str,
    rdtype: Literal["SRV"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[SRVRecord]: ...


@overload
def query(
    name: str,
    rdtype: Literal["PTR"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[PTRRecord]: ...


@overload
def query(
    name: str,
    rdtype: Literal["SOA"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[SOARecord]: ...


@overload
def query(
    name: str,
    rdtype: str,
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[Record]: ...


def query(
    name: str,
    rdtype: RecordType | str = "A",
    *,
    server: str | None = None,
    port: int = 53,
    timeout: float = DEFAULT_DNS_TIMEOUT,
    max_cname_hops: int = DEFAULT_MAX_CNAME_HOPS,
) -> list[Any]:  # the overloads above say which record type
    """Records of type ``rdtype`` for ``name``: an empty list when the name has none.

    ``server`` is an IP address to ask (default: the system's configured resolvers).
    A missing domain raises NameResolutionError; no answer in ``timeout`` raises DNSTimeout.
    For PTR, ``name`` may be an IP address.
    """
    rtype = _normalise_type(rdtype)
    qname = _query_name(name, rtype)
    result: list[Record] = _run_sync(
        _chain(qname, rtype, max_cname_hops), qname, server, port, timeout
    )
    return result


@overload
async def aquery(
    name: str,
    rdtype: Literal["A"] = "A",
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[ARecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: Literal["AAAA"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[AAAARecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: Literal["CNAME"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[CNAMERecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: Literal["MX"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[MXRecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: Literal["NS"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[NSRecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: Literal["TXT"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[TXTRecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: Literal["SRV"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[SRVRecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: Literal["PTR"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[PTRRecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: Literal["SOA"],
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[SOARecord]: ...


@overload
async def aquery(
    name: str,
    rdtype: str,
    *,
    server: str | None = ...,
    port: int = ...,
    timeout: float = ...,
    max_cname_hops: int = ...,
) -> list[Record]: ...


async def aquery(
    name: str,
    rdtype: RecordType | str = "A",
    *,
    server: str | None = None,
    port: int = 53,
    timeout: float = DEFAULT_DNS_TIMEOUT,
    max_cname_hops: int = DEFAULT_MAX_CNAME_HOPS,
) -> list[Any]:  # the overloads above say which record type
    """Async :func:`query`."""
    rtype = _normalise_type(rdtype)
    qname = _query_name(name, rtype)
    result: list[Record] = await _run_async(
        _chain(qname, rtype, max_cname_hops), qname, server, port, timeout
    )
    return result


def mail_exchangers(
    domain: str,
    *,
    server: str | None = None,
    port: int = 53,
    timeout: float = DEFAULT_DNS_TIMEOUT,
    max_cname_hops: int = DEFAULT_MAX_CNAME_HOPS,
    shuffle: Callable[[list[Any]], None] = random.shuffle,
) -> list[MailExchanger]:
    """Where mail for ``domain`` goes, in the order RFC 5321 §5.1 says to try.

    MX records by preference (ties shuffled by ``shuffle``), each with its AAAA and A
    addresses; an implicit MX (the domain itself) when there are none; CNAMEs followed up
    to ``max_cname_hops``. An empty list means no mail can be delivered (RFC 7505 null MX,
    or no MX and no address).
    """
    name = host_of(domain)
    result: list[MailExchanger] = _run_sync(
        _mail_steps(name, max_cname_hops, shuffle), name, server, port, timeout
    )
    return result


async def amail_exchangers(
    domain: str,
    *,
    server: str | None = None,
    port: int = 53,
    timeout: float = DEFAULT_DNS_TIMEOUT,
    max_cname_hops: int = DEFAULT_MAX_CNAME_HOPS,
    shuffle: Callable[[list[Any]], None] = random.shuffle,
) -> list[MailExchanger]:
    """Async :func:`mail_exchangers`."""
    name = host_of(domain)
    result: list[MailExchanger] = await _run_async(
        _mail_steps(name, max_cname_hops, shuffle), name, server, port, timeout
    )
    return result
