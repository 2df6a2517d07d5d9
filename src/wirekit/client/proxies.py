"""Which proxy a request goes through: explicit ``proxy=``, or the environment.

``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` (lower case wins, as curl does) and ``NO_PROXY``
(host names, domain suffixes, IP addresses and CIDR networks, ``host:port``, ``*``) when
``trust_env`` is on. Sans-IO: it only reads the environment and returns a URL.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wirekit._models.url import URL, redact
from wirekit._models.url import _normalize_host as normalize_host
from wirekit.errors import InvalidURL

__all__ = ["ProxyConfig", "environment_proxies", "proxy_for", "should_bypass"]

_SUPPORTED = ("http", "https", "socks5", "socks5h", "socks4", "socks4a")


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """Proxies by request scheme, plus the ``NO_PROXY`` list."""

    http: URL | None = None
    https: URL | None = None
    no_proxy: tuple[str, ...] = ()


def _proxy_url(value: str) -> URL:
    if "://" not in value:
        value = "http://" + value  # curl's rule: a bare host:port is an HTTP proxy
    url = URL(value)
    if url.scheme not in _SUPPORTED:
        raise InvalidURL(f"unsupported proxy scheme {url.scheme!r} in {redact(value)!r}")
    if not url.host:
        raise InvalidURL(f"proxy URL {redact(value)!r} has no host")
    if url.scheme.startswith("socks"):
        # Checked now (credentials the SOCKS library cannot send), not at the first request.
        from wirekit._io._socks_shared import SocksProxyURL

        SocksProxyURL.parse(value)
    return url


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name.lower()) or environ.get(name.upper())
    return value.strip() or None if value else None


def _no_proxy_entries(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A ``NO_PROXY`` value (comma-separated, as in the environment) or a list of entries."""
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(part.strip().lower() for part in parts if part.strip())


def environment_proxies(environ: Mapping[str, str] | None = None) -> ProxyConfig:
    """The proxies the environment asks for."""
    env = os.environ if environ is None else environ
    every = _env(env, "all_proxy")
    https = _env(env, "https_proxy") or every
    if "REQUEST_METHOD" in env:
        # httpoxy (CVE-2016-5385): under CGI, HTTP_PROXY comes from a request header.
        http = env.get("http_proxy") or every
    else:
        http = _env(env, "http_proxy") or every
    no_proxy = _no_proxy_entries(_env(env, "no_proxy") or "")
    if "*" in no_proxy:
        # Every host bypasses: the proxy variables are not even read (as httpx, requests and
        # urllib), so one this client cannot use (GNOME's "socks://...") stops nothing.
        return ProxyConfig(no_proxy=no_proxy)
    return ProxyConfig(
        http=_proxy_url(http) if http else None,
        https=_proxy_url(https) if https else None,
        no_proxy=no_proxy,
    )


#: The keys of a ``proxy=`` mapping.
_PROXY_KEYS = frozenset({"http", "https", "all", "no_proxy"})


def explicit_proxies(proxy: Any) -> ProxyConfig:
    """``proxy="http://p:3128"`` for every scheme, or a ``{"http": .., "https": ..}`` map."""
    if proxy is None:
        return ProxyConfig()
    if isinstance(proxy, (str, URL)):
        url = _proxy_url(str(proxy))
        return ProxyConfig(http=url, https=url)
    if isinstance(proxy, Mapping):
        given: dict[str, Any] = {}
        for key, value in proxy.items():
            # "http", or httpx's mount form "http://"; any case. A key not understood is
            # refused: dropped, it would send the traffic it names around the proxy.
            name = key.lower().removesuffix("://") if isinstance(key, str) else None
            if name not in _PROXY_KEYS:
                raise ValueError(
                    f"proxy mapping key {key!r} is not understood: use 'http', 'https', "
                    "'all' (or 'http://', 'https://', 'all://') and 'no_proxy'"
                )
            given[name] = value
        http = given.get("http") or given.get("all")
        https = given.get("https") or given.get("all")
        return ProxyConfig(
            http=_proxy_url(str(http)) if http else None,
            https=_proxy_url(str(https)) if https else None,
            no_proxy=_no_proxy_entries(given.get("no_proxy", ())),
        )
    raise TypeError(f"proxy must be a URL string or a mapping, not {proxy!r}")


def should_bypass(url: URL, no_proxy: tuple[str, ...]) -> bool:
    """True when ``NO_PROXY`` covers the URL's host."""
    if not no_proxy:
        return False
    host = url.host.lower()
    port = url.effective_port
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy:
        if entry == "*":
            return True
        pattern, entry_port = entry, None
        if entry.startswith("[") and "]" in entry:  # [v6]:port
            pattern, _, rest = entry[1:].partition("]")
            entry_port = rest[1:] if rest.startswith(":") else None
        elif entry.count(":") == 1:
            pattern, entry_port = entry.split(":")
        if entry_port is not None and entry_port.isdigit() and int(entry_port) != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(pattern, strict=False):
                    return True
            except ValueError:
                pass
            continue
        pattern = pattern.lstrip(".").removeprefix("*.")
        if not pattern.isascii():
            # URL hosts are IDNA-encoded ("xn--bcher-kva.test"): the entry must be too.
            try:
                pattern = normalize_host(pattern)
            except ValueError:
                continue  # not a host name at all: it covers nothing
        if host == pattern or host.endswith("." + pattern):
            return True
    return False


def proxy_for(url: URL, config: ProxyConfig) -> URL | None:
    """The proxy to use for ``url``, or None to go direct."""
    proxy = config.https if url.scheme == "https" else config.http
    if proxy is None or should_bypass(url, config.no_proxy):
        return None
    return proxy
