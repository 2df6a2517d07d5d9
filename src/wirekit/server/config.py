"""Every knob of the HTTP server, with its default and the reason for it, in one place.

``ServerConfig`` is a frozen dataclass; the CLI, ``Server`` and ``serve()`` all build one.
Each limit is a named module constant so docs, tests and error messages can refer to it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_BODY_RATE_GRACE",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_HEADER_COUNT",
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_MAX_PENDING_REQUESTS",
    "DEFAULT_MIN_BODY_RATE",
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_THREADS",
    "DEFAULT_WRITE_HIGH_WATER",
    "DEFAULT_WRITE_TIMEOUT",
    "DEFAULT_WS_MAX_MESSAGE_BYTES",
    "Interface",
    "ServerConfig",
]

Interface = Literal["auto", "asgi3", "wsgi"]

#: listen(2) backlog. 2048 matches nginx and gunicorn; the kernel caps it at somaxconn.
DEFAULT_BACKLOG = 2048
#: WSGI worker threads. Requests beyond this wait in the pending queue.
DEFAULT_THREADS = min(32, (os.cpu_count() or 1) * 4)
#: Open connections at once; connection number N+1 gets 503 + Retry-After, then is closed.
#: Each idle connection costs a few KiB, so 10,000 stays within tens of MiB.
DEFAULT_MAX_CONNECTIONS = 10_000
#: The request queue. WSGI: requests waiting for a free thread (so threads + this many may be
#: in flight). ASGI: HTTP requests in flight at once (WebSockets do not count). Beyond it a
#: request is answered 503 + Retry-After at once instead of waiting unbounded.
DEFAULT_MAX_PENDING_REQUESTS = 1_024
#: Seconds a connection may stay silent before its first byte and between requests
#: (uvicorn uses 5 s, nginx 75 s; short, because idle sockets are what slowloris holds).
DEFAULT_IDLE_TIMEOUT = 5.0
#: Seconds for the whole request head (line and headers) to arrive once it has begun.
#: nginx's client_header_timeout is 60 s between reads; a total deadline defeats trickling.
DEFAULT_HEADER_TIMEOUT = 10.0
#: Minimum average request-body rate in bytes/s, enforced after the grace period below.
#: A client trickling one byte a second is dropped; a 56k modem (7 KB/s) is not.
DEFAULT_MIN_BODY_RATE = 1_024
#: Seconds of body upload before the minimum rate applies (covers TCP slow start).
DEFAULT_BODY_RATE_GRACE = 5.0
#: Seconds a response may sit unsent because the client does not read it.
DEFAULT_WRITE_TIMEOUT = 60.0
#: Request head limits, handed to the HTTP/1.1 parser (the same values as the client side:
#: 64 KiB of header bytes and 100 fields, as h11 and Apache, and an 8 KiB request line).
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_HEADER_COUNT = 100
DEFAULT_MAX_LINE_BYTES = 8 * 1024
#: Request body limit (413 beyond it). 100 MiB, as nginx's large-upload setups; None = none.
DEFAULT_MAX_BODY_BYTES: int | None = 100 * 1024 * 1024
#: Bytes queued in the transport before the app is paused (asyncio's own default is 64 KiB).
DEFAULT_WRITE_HIGH_WATER = 64 * 1024
#: Seconds a graceful shutdown waits for in-flight requests before closing them.
DEFAULT_SHUTDOWN_TIMEOUT = 30.0
#: Seconds told to clients in Retry-After on 503 (overload and shutdown).
DEFAULT_RETRY_AFTER = 5
#: Largest WebSocket message accepted from a client (wsproto reassembles up to this).
DEFAULT_WS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


#: Options that count bytes, items or seconds as whole numbers.
#: listen(2) takes an int; the kernel caps it further (net.core.somaxconn).
_MAX_BACKLOG = 2**31 - 1

_COUNTS = (
    "port",
    "backlog",
    "threads",
    "max_connections",
    "max_pending_requests",
    "min_body_rate",
    "max_header_bytes",
    "max_header_count",
    "max_line_bytes",
    "max_body_bytes",
    "write_high_water",
    "retry_after",
    "ws_max_message_bytes",
    "workers",
)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How one server binds, which app it runs, and the limits it enforces."""

    host: str = "127.0.0.1"
    port: int = 8000
    uds: str | None = None
    fd: int | None = None
    backlog: int = DEFAULT_BACKLOG
    interface: Interface = "auto"
    lifespan: Literal["auto", "on", "off"] = "auto"
    threads: int = DEFAULT_THREADS
    #: Linux: run the WSGI threads (and the loop thread, under ``Server.run()``) with the
    #: SCHED_BATCH policy. Only one of them can hold the GIL, so a thread woken for a
    #: request that preempts the running one just blocks on the GIL again: two wasted
    #: context switches per hand-off. SCHED_BATCH stops wake-up preemption; measured on
    #: the hello-world benchmark: about 1.5x the WSGI requests/s and a lower p99.
    sched_batch: bool = True
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_pending_requests: int = DEFAULT_MAX_PENDING_REQUESTS
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    min_body_rate: int = DEFAULT_MIN_BODY_RATE
    body_rate_grace: float = DEFAULT_BODY_RATE_GRACE
    write_timeout: float = DEFAULT_WRITE_TIMEOUT
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_header_count: int = DEFAULT_MAX_HEADER_COUNT
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES
    write_high_water: int = DEFAULT_WRITE_HIGH_WATER
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    retry_after: int = DEFAULT_RETRY_AFTER
    ws_max_message_bytes: int = DEFAULT_WS_MAX_MESSAGE_BYTES
    #: Answer a client's permessage-deflate offer (RFC 7692). The limit above then applies
    #: to the inflated size. Costs about 50 KiB of zlib state per compressing connection.
    ws_per_message_deflate: bool = True
    root_path: str = ""
    server_header: str | None = "wirekit"
    date_header: bool = True
    debug: bool = False
    health_path: str | None = None
    use_uvloop: bool = True
    # Parts written alongside (static files, TLS, proxy headers, access log): plain values
    # here, turned into objects by main.py when the matching module is present.
    static_dir: str | None = None
    static_path: str = "/static"
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_ca_certs: str | None = None
    ssl_dev: bool = False
    proxy_headers: bool = False
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    #: The header family the proxy sets: "x-forwarded" (X-Forwarded-For/-Proto) or
    #: "forwarded" (RFC 7239); the other is ignored (a client could have sent it).
    forwarded_headers: Literal["x-forwarded", "forwarded"] = "x-forwarded"
    #: Let the forwarded host (X-Forwarded-Host, Forwarded host=) replace Host: only if the
    #: proxy always sets it (nginx's ``proxy_set_header Host $host`` does not need it).
    forwarded_host: bool = False
    proxy_protocol: bool = False
    access_log: Literal["common", "combined", "json"] | None = None
    workers: int = 1
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Whole numbers may come as floats (10e6); the compiled build refuses a float where
        # an int is declared, per connection, so every count is made an int here, once.
        for name in _COUNTS:
            value = getattr(self, name)
            if value is None and name == "max_body_bytes":
                continue
            if isinstance(value, float) and value.is_integer():
                object.__setattr__(self, name, int(value))
            elif isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"server option {name} must be a whole number, got {value!r}")
        positive = (
            "backlog",
            "threads",
            "max_connections",
            "max_pending_requests",
            "max_header_bytes",
            "max_header_count",
            "max_line_bytes",
            "write_high_water",
            "workers",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(
                    f"server option {name} must be at least 1, got {getattr(self, name)!r}"
                )
        if self.max_body_bytes is not None and self.max_body_bytes < 0:
            raise ValueError(
                f"server option max_body_bytes must be 0 or more (or None for no limit), "
                f"got {self.max_body_bytes!r}"
            )
        if not 0 <= self.port <= 65535:
            # getaddrinfo would take 70000 modulo 65536 and bind port 4464 without a word.
            raise ValueError(f"server option port must be 0-65535, got {self.port!r}")
        if self.backlog > _MAX_BACKLOG:
            raise ValueError(
                f"server option backlog must be at most {_MAX_BACKLOG}, got {self.backlog!r}"
            )
        if not 0 <= self.shutdown_timeout < float("inf"):
            raise ValueError(
                f"server option shutdown_timeout must be 0 or more seconds, "
                f"got {self.shutdown_timeout!r}"
            )
        timeouts = ("idle_timeout", "header_timeout", "write_timeout", "body_rate_grace")
        for name in timeouts:
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"server option {name} must be > 0 seconds, got {getattr(self, name)!r}"
                )
        if self.interface not in ("auto", "asgi3", "wsgi"):
            raise ValueError(
                f"server option interface must be auto, asgi3 or wsgi, not {self.interface!r}"
            )
        if self.proxy_protocol and (self.ssl_certfile or self.ssl_dev):
            # The PROXY header comes in clear before the TLS handshake; asyncio's TLS layer
            # starts on the first byte and cannot be handed bytes already read.
            raise ValueError(
                "proxy_protocol cannot be combined with TLS here: terminate TLS at the proxy "
                "(or in front of wirekit) and send the PROXY header over plain TCP"
            )
        root_path = self.root_path
        if root_path:
            if (
                not root_path.startswith("/")
                or "?" in root_path
                or "#" in root_path
                or not root_path.isprintable()
            ):
                raise ValueError(
                    "root_path must be a path starting with '/', without '?', '#' or control "
                    f"characters, got {root_path!r}"
                )
            # "/api/" is "/api": the prefix is matched and joined with its own "/".
            object.__setattr__(self, "root_path", root_path.rstrip("/"))
        if self.health_path is not None and not self.health_path.startswith("/"):
            raise ValueError(f"health_path must start with '/', got {self.health_path!r}")
        if self.ssl_dev and (self.ssl_certfile or self.ssl_keyfile):
            raise ValueError("ssl_dev makes its own certificate: give it or ssl_certfile, not both")
        if not self.ssl_dev and not self.ssl_certfile and (self.ssl_keyfile or self.ssl_ca_certs):
            # Without a certificate the server would speak plain HTTP, silently.
            given = "ssl_keyfile" if self.ssl_keyfile else "ssl_ca_certs"
            raise ValueError(f"{given} needs ssl_certfile (or ssl_dev): TLS is not on without it")
        if not self.static_path.startswith("/"):
            raise ValueError(f"static_path must start with '/', got {self.static_path!r}")
        if self.forwarded_headers not in ("x-forwarded", "forwarded"):
            raise ValueError(
                "forwarded_headers must be 'x-forwarded' or 'forwarded', "
                f"got {self.forwarded_headers!r}"
            )

    def replace(self, **changes: object) -> ServerConfig:
        """A copy with some options changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def option_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))
