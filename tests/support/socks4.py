"""Real SOCKS4 and SOCKS4a servers for the tests, run as child processes on 127.0.0.1.

- ``DanteProxy``: Dante's ``danted`` (apt ``dante-server``) speaking SOCKS4 only. It answers
  a failed connect with reply code 91, as the protocol says; it does not speak SOCKS4a.
- ``OpenSSHSocksProxy``: OpenSSH dynamic forwarding (``ssh -D``, apt ``openssh-client``)
  through a private ``sshd`` (apt ``openssh-server``): SOCKS4, SOCKS4a and SOCKS5. Its debug
  log names the host each client asked for, so tests can see who resolved the name.

pproxy (PyPI) was tried first: it does not start when uvloop is installed, grants a SOCKS4
connect before trying it, and has no SOCKS4a. Missing programs are an error, never a skip.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.helpers import free_port, log_tail, stop_process, wait_for_port
from tests.support.programs import require_program

__all__ = ["DanteProxy", "OpenSSHSocksProxy"]

DANTED = "/usr/sbin/danted"
SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
SSH_KEYGEN = "/usr/bin/ssh-keygen"

#: sshd started as root refuses to run without its privilege separation directory; Debian's
#: service unit makes it at boot, so a machine that never started the service lacks it.
SSHD_PRIVSEP_DIRECTORY = "/run/sshd"

#: How long a test may wait for a proxy to write a log line about a connection it served.
LOG_WAIT = 10.0


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _wait_for_log(
    path: Path, pattern: str, *, since: int = 0, timeout: float = LOG_WAIT
) -> list[str]:
    """Lines of ``path`` after byte ``since`` matching ``pattern``; waits (bounded) for one."""
    compiled = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with path.open("rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            text = ""
        found = [line for line in text.splitlines() if compiled.search(line)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


@dataclass
class DanteProxy:
    """danted on 127.0.0.1 accepting SOCKS4 CONNECT from loopback, no authentication."""

    directory: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"socks4://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.directory / "danted.log"

    def log_mark(self) -> int:
        """Where the log ends now: pass it as ``since`` to look only at what follows."""
        return _log_size(self.log_file)

    def tunnels_to(self, port: int, *, since: int = 0) -> list[str]:
        """danted's log lines for each tunnel it opened to 127.0.0.1:``port`` (waits for one)."""
        pattern = rf"tcp/connect \[: .* 127\.0\.0\.1\.{port}$"
        return _wait_for_log(self.log_file, pattern, since=since)

    def start(self) -> DanteProxy:
        program = require_program(DANTED)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        # Run as root, danted switches to an unprivileged user for the relaying children;
        # run as anyone else, it must not be told to switch.
        users = "user.privileged: root\nuser.unprivileged: nobody\n" if os.geteuid() == 0 else ""
        conf = self.directory / "danted.conf"
        conf.write_text(
            f"""
logoutput: {self.log_file}
internal: 127.0.0.1 port = {self.port}
external: 127.0.0.1
clientmethod: none
socksmethod: none
{users}client pass {{
    from: 127.0.0.0/8 to: 0.0.0.0/0
    log: error
}}
socks pass {{
    from: 127.0.0.0/8 to: 0.0.0.0/0
    command: connect
    protocol: tcp
    proxyprotocol: socks_v4
    log: connect disconnect error
}}
"""
        )
        # -N 1: one mother process, so stopping our child stops the whole server.
        self.process = _spawn([program, "-f", str(conf), "-N", "1"], self.directory / "danted.out")
        try:
            wait_for_port(self.port, process=self.process, log=self.log_file, what="danted")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def log(self) -> str:
        return log_tail(self.log_file)


@dataclass
class OpenSSHSocksProxy:
    """``ssh -N -D 127.0.0.1:<port>`` logged in to a private sshd on another loopback port.

    Throwaway host and client keys, no password, no shell: the session only forwards.
    """

    directory: Path
    port: int = 0
    sshd_port: int = 0
    sshd: subprocess.Popen[bytes] | None = None
    ssh: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"socks4a://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.directory / "ssh.log"

    def log_mark(self) -> int:
        """Where the log ends now: pass it as ``since`` to look only at what follows."""
        return _log_size(self.log_file)

    def requested_hosts(self, port: int, *, since: int = 0) -> list[str]:
        """The hosts clients asked the proxy for, on ``port``, oldest first (waits for one)."""
        pattern = rf"dynamic request: socks\S* host \S+ port {port} "
        lines = _wait_for_log(self.log_file, pattern, since=since)
        return [line.split(" host ", 1)[1].split(" ", 1)[0] for line in lines]

    def tunnels_to(self, port: int, *, since: int = 0) -> list[str]:
        """The host named by each tunnel request for ``port`` (waits for one)."""
        return self.requested_hosts(port, since=since)

    def start(self) -> OpenSSHSocksProxy:
        sshd = require_program(SSHD)
        ssh = require_program(SSH)
        keygen = require_program(SSH_KEYGEN)
        self.directory.mkdir(parents=True, exist_ok=True)
        d = self.directory
        for name in ("host_key", "client_key"):
            (d / name).unlink(missing_ok=True)
            subprocess.run(
                [
                    keygen,
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "wirekit-test",
                    "-f",
                    str(d / name),
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
        (d / "authorized_keys").write_bytes((d / "client_key.pub").read_bytes())
        if os.geteuid() == 0:
            os.makedirs(SSHD_PRIVSEP_DIRECTORY, mode=0o755, exist_ok=True)
        self.sshd_port = free_port()
        self.port = free_port()
        conf = d / "sshd_config"
        conf.write_text(
            f"""
ListenAddress 127.0.0.1:{self.sshd_port}
HostKey {d / "host_key"}
AuthorizedKeysFile {d / "authorized_keys"}
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile none
AllowTcpForwarding local
PermitTTY no
X11Forwarding no
"""
        )
        try:
            # -D: stay in the foreground as our child; -e: log to stderr (our log file).
            self.sshd = _spawn([sshd, "-D", "-e", "-f", str(conf)], d / "sshd.log")
            wait_for_port(self.sshd_port, process=self.sshd, log=d / "sshd.log", what="sshd")
            # -F /dev/null: no user or system ssh_config changes what runs here.
            # LogLevel DEBUG2 logs "dynamic request: socks4 host <name> port <n>".
            self.ssh = _spawn(
                [
                    ssh,
                    "-N",
                    "-F",
                    "/dev/null",
                    "-D",
                    f"127.0.0.1:{self.port}",
                    "-p",
                    str(self.sshd_port),
                    "-i",
                    str(d / "client_key"),
                    "-o",
                    "IdentitiesOnly=yes",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                    "-o",
                    "ExitOnForwardFailure=yes",
                    "-o",
                    "LogLevel=DEBUG2",
                    "-E",
                    str(self.log_file),
                    f"{getpass.getuser()}@127.0.0.1",
                ],
                d / "ssh.out",
            )
            wait_for_port(self.port, process=self.ssh, log=self.log_file, what="ssh -D")
        except BaseException as exc:
            details = log_tail(d / "sshd.log")
            self.stop()
            raise RuntimeError(f"{exc}\nsshd log:\n{details}") from exc
        return self

    def stop(self) -> None:
        if self.ssh is not None:
            stop_process(self.ssh)
            self.ssh = None
        if self.sshd is not None:
            stop_process(self.sshd)
            self.sshd = None

    def log(self) -> str:
        return log_tail(self.log_file)
