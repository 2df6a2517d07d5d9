"""External test peers run as child processes: nginx, squid and microsocks.

Each starts on free loopback ports with a generated configuration in a temp directory,
waits (bounded) until it listens, fails loudly with its log if it does not, and stops on
``stop()`` (terminate, then kill). Missing programs are an error, never a skip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.certs import Certs
from tests.support.helpers import free_port, log_tail, stop_process, wait_for_port

__all__ = ["MicrosocksProxy", "NginxServer", "SquidProxy", "require_program"]

NGINX = "/usr/sbin/nginx"
SQUID = "/usr/sbin/squid"
MICROSOCKS = "/usr/bin/microsocks"
SQUID_NCSA_AUTH = "/usr/lib/squid/basic_ncsa_auth"

#: Size of the large file nginx serves (made on first use, then reused by the session).
LARGE_FILE_BYTES = 100 * 1024 * 1024


def require_program(path: str) -> str:
    """The program's path; a clear failure (not a skip) when it is not installed."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        found = shutil.which(os.path.basename(path))
        if found is None:
            raise RuntimeError(
                f"{path} is not installed: the test peers need it (see .ci/ for apt packages)"
            )
        return found
    return path


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)


@dataclass
class NginxServer:
    """nginx with an http and an https (trustme) listener, keep-alive on, a temp docroot.

    Files: ``/small.txt`` (``SMALL_BODY``), ``/1mb.bin``, ``/large.bin`` (100 MiB, made by
    ``large_file()``), and ``/echo`` which answers with the method, URI and a few request
    headers (nginx-light has no module to echo them all).
    """

    directory: Path
    certs: Certs
    http_port: int = 0
    https_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _large_lock: threading.Lock = field(default_factory=threading.Lock)
    _large_sha256: str | None = None

    SMALL_BODY = b"small file served by nginx\n"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def docroot(self) -> Path:
        return self.directory / "www"

    def start(self) -> NginxServer:
        program = require_program(NGINX)
        self.docroot.mkdir(parents=True, exist_ok=True)
        (self.docroot / "small.txt").write_bytes(self.SMALL_BODY)
        (self.docroot / "1mb.bin").write_bytes(hashlib.sha256(b"1mb").digest() * 32768)
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            (self.directory / name).mkdir(exist_ok=True)
        self.http_port = free_port()
        self.https_port = free_port()
        conf = self.directory / "nginx.conf"
        conf.write_text(self._config())
        log = self.directory / "logs" / "error.log"
        # daemon off + master_process off: one foreground process we own and can stop by pid.
        self.process = _spawn([program, "-c", str(conf), "-p", str(self.directory)], log)
        try:
            wait_for_port(self.http_port, process=self.process, log=log, what="nginx")
            wait_for_port(self.https_port, process=self.process, log=log, what="nginx")
        except BaseException:
            self.stop()
            raise
        return self

    def _config(self) -> str:
        d = self.directory
        return f"""
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    types {{ text/plain txt; text/html html; application/octet-stream bin; }}
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 60s;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{self.http_port};
        listen 127.0.0.1:{self.https_port} ssl;
        server_name localhost;
        ssl_certificate {self.certs.server_cert_file};
        ssl_certificate_key {self.certs.server_key_file};
        root {self.docroot};
        location = /echo {{
            default_type text/plain;
            return 200 "method: $request_method\\nuri: $request_uri\\nhost: $http_host\\nuser-agent: $http_user_agent\\naccept: $http_accept\\naccept-encoding: $http_accept_encoding\\nauthorization: $http_authorization\\ncontent-length: $content_length\\ncontent-type: $content_type\\nx-test: $http_x_test\\n";
        }}
    }}
}}
"""

    def large_file(self) -> tuple[str, str]:
        """``("/large.bin", sha256 hex)``; the 100 MiB file is written on first call."""
        with self._large_lock:
            if self._large_sha256 is None:
                digest = hashlib.sha256()
                path = self.docroot / "large.bin"
                with path.open("wb") as f:
                    remaining = LARGE_FILE_BYTES
                    while remaining:
                        block = os.urandom(min(remaining, 1024 * 1024))
                        digest.update(block)
                        f.write(block)
                        remaining -= len(block)
                self._large_sha256 = digest.hexdigest()
            return "/large.bin", self._large_sha256

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def log(self) -> str:
        return log_tail(self.directory / "logs" / "error.log")


@dataclass
class SquidProxy:
    """squid as a forward proxy on 127.0.0.1: no cache, no disk, CONNECT to any port allowed.

    With ``username``/``password`` it demands Basic proxy authentication (basic_ncsa_auth
    reading an htpasswd file made with ``openssl passwd -apr1``).
    """

    directory: Path = field(default_factory=Path)  # made by start(): see there
    username: str | None = None
    password: str | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"http://{self.username}:{self.password}@127.0.0.1:{self.port}"

    def start(self) -> SquidProxy:
        program = require_program(SQUID)
        # Run as root, squid drops to its cache_effective_user ("proxy"), which must reach and
        # write this directory: pytest's own temp tree is private (0700), so use our own.
        self.directory = Path(tempfile.mkdtemp(prefix="wirekit-squid-"))
        os.chmod(self.directory, 0o777)
        self.port = free_port()
        auth = ""
        if self.username is not None:
            helper = require_program(SQUID_NCSA_AUTH)
            hashed = (
                subprocess.run(
                    ["openssl", "passwd", "-apr1", self.password or ""],
                    check=True,
                    capture_output=True,
                    timeout=10,
                )
                .stdout.decode()
                .strip()
            )
            htpasswd = self.directory / "htpasswd"
            htpasswd.write_text(f"{self.username}:{hashed}\n")
            os.chmod(htpasswd, 0o644)
            auth = (
                f"auth_param basic program {helper} {htpasswd}\n"
                "auth_param basic realm wirekit-test\n"
                "acl authenticated proxy_auth REQUIRED\n"
                "http_access deny !authenticated\n"
            )
        d = self.directory
        conf = d / "squid.conf"
        conf.write_text(
            f"""
http_port 127.0.0.1:{self.port}
acl loopback src 127.0.0.1/32 ::1
{auth}http_access allow loopback
http_access deny all
cache deny all
cache_mem 8 MB
pid_filename {d}/squid.pid
cache_log {d}/cache.log
access_log stdio:{d}/access.log
cache_store_log none
coredump_dir {d}
logfile_rotate 0
shutdown_lifetime 0 seconds
visible_hostname wirekit-test-proxy
pinger_enable off
netdb_filename none
max_filedescriptors 1024
"""
        )
        log = d / "cache.log"
        self.process = _spawn([program, "-N", "-f", str(conf)], d / "squid.out")
        try:
            wait_for_port(self.port, process=self.process, log=log, what="squid")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            # squid's graceful shutdown takes ~2 s even with shutdown_lifetime 0; it keeps no
            # state here (no cache, no disk), and its auth helpers exit when their pipe closes.
            stop_process(self.process, graceful=False)
            self.process = None
            shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        return log_tail(self.directory / "cache.log")


@dataclass
class MicrosocksProxy:
    """microsocks (SOCKS5) on 127.0.0.1, optionally demanding a user name and password."""

    directory: Path
    username: str | None = None
    password: str | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.username is not None:
            return f"socks5://{self.username}:{self.password}@127.0.0.1:{self.port}"
        return f"socks5://127.0.0.1:{self.port}"

    def start(self) -> MicrosocksProxy:
        program = require_program(MICROSOCKS)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        argv = [program, "-i", "127.0.0.1", "-p", str(self.port)]
        if self.username is not None:
            argv += ["-u", self.username, "-P", self.password or ""]
        log = self.directory / f"microsocks-{self.port}.log"
        self.process = _spawn(argv, log)
        try:
            wait_for_port(self.port, process=self.process, log=log, what="microsocks")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
