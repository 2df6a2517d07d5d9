"""Chaos driver: a loopback server injecting a random fault per request, and sync/async
drivers checking the client's invariants (every request ends within its deadline; a success
has exactly its own body; every failure is a wirekit error naming the port; no fd, thread
or pool slot left). tests/client/test_chaos_soak.py runs it briefly; by hand:

    python -m tests.support.chaos [seed] [sync|async|both] [retry0|retry]

(Written by the session-16 chaos review.) The "late_extra" fault (an unsolicited response
20 ms after the answer) is left out of the soak test: bytes that come after the idle check
and before the next answer cannot be told from that answer, by any HTTP/1.1 client.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import gzip
import hashlib
import os
import random
import socket
import struct
import sys
import threading
import time
import traceback
import warnings
from typing import Any

import wirekit

OK_KINDS = [
    "ok_cl",
    "ok_chunked",
    "ok_gzip_cl",
    "ok_gzip_chunked",
    "continue100",
    "extra_after",
    "late_extra",
    "conn_close",
    "idle_close",
    "status503",
]
FAIL_KINDS = [
    "close_before",
    "rst_before",
    "rst_mid_head",
    "rst_mid_body",
    "truncated_close",
    "stall",
    "trickle",
    "garbage",
]
ALL_KINDS = OK_KINDS + FAIL_KINDS
STALL = 1.0
TRICKLE_INTERVAL = 0.1


def body_for(rid: int, size: int) -> bytes:
    seed = hashlib.sha256(str(rid).encode()).digest()
    return (seed * (size // 32 + 1))[:size]


def _rst(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class ChaosServer:
    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(512)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.socks: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stop_event.is_set():
            try:
                sock, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            t = threading.Thread(target=self._handle, args=(sock,), daemon=True)
            with self.lock:
                self.socks.append(sock)
                self.threads.append(t)
            t.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.acceptor.join(5)
        self.listener.close()
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        for t in self.threads:
            t.join(5)
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()

    def _handle(self, sock: socket.socket) -> None:
        buf = b""
        sock.settimeout(0.2)
        try:
            while not self.stop_event.is_set():
                while b"\r\n\r\n" not in buf:
                    try:
                        data = sock.recv(65536)
                    except TimeoutError:
                        if self.stop_event.is_set():
                            return
                        continue
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
                _, rid, kind, size = target.split("/")
                with self.lock:
                    self.counts[kind] += 1
                if not self._respond(sock, int(rid), kind, int(size)):
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _respond(self, sock: socket.socket, rid: int, kind: str, size: int) -> bool:
        body = body_for(rid, size)
        base = [b"X-Id: %d" % rid, b"X-Sum: " + hashlib.sha256(body).hexdigest().encode()]
        wire = body
        chunked = kind in ("ok_chunked", "ok_gzip_chunked")
        if kind.startswith("ok_gzip"):
            wire = gzip.compress(body)
            base.append(b"Content-Encoding: gzip")
        status = b"HTTP/1.1 200 OK"
        if kind == "status503":
            status = b"HTTP/1.1 503 Service Unavailable"
            base.append(b"Retry-After: 0")
        if kind == "conn_close":
            base.append(b"Connection: close")
        if chunked:
            base.append(b"Transfer-Encoding: chunked")
            parts = b""
            for i in range(0, len(wire), 700):
                piece = wire[i : i + 700]
                parts += b"%x\r\n%s\r\n" % (len(piece), piece)
            payload = parts + b"0\r\n\r\n"
        else:
            base.append(b"Content-Length: %d" % len(wire))
            payload = wire
        head = status + b"\r\n" + b"\r\n".join(base) + b"\r\n\r\n"
        full = head + payload
        sock.settimeout(5)
        if kind == "close_before":
            sock.close()
            return False
        if kind == "rst_before":
            _rst(sock)
            return False
        if kind == "rst_mid_head":
            sock.sendall(head[: len(head) // 2])
            _rst(sock)
            return False
        if kind == "rst_mid_body":
            sock.sendall(head + payload[: len(payload) // 2])
            time.sleep(0.01)
            _rst(sock)
            return False
        if kind == "truncated_close":
            sock.sendall(head + payload[: len(payload) // 2])
            sock.shutdown(socket.SHUT_WR)
            time.sleep(0.05)
            sock.close()
            return False
        if kind == "stall":
            self.stop_event.wait(STALL)
            sock.close()
            return False
        if kind == "trickle":
            for i in range(len(full)):
                if self.stop_event.wait(TRICKLE_INTERVAL):
                    break
                sock.sendall(full[i : i + 1])
            sock.close()
            return False
        if kind == "garbage":
            sock.sendall(b"SSH-2.0-OpenSSH_9.0\r\nnot http at all\r\n\r\n")
            time.sleep(0.05)
            sock.close()
            return False
        if kind == "continue100":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            time.sleep(0.005)
            sock.sendall(full)
            return True
        if kind == "extra_after":
            sock.sendall(full + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Id: -1\r\n\r\nEXTRA")
            return True
        sock.sendall(full)
        if kind == "late_extra":
            time.sleep(0.02)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Id: -1\r\n\r\nEXTRA")
            return True
        if kind == "conn_close":
            time.sleep(0.01)
            sock.close()
            return False
        if kind == "idle_close":
            time.sleep(0.03)
            sock.close()
            return False
        return True


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kinds: collections.Counter[str] = collections.Counter()
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.violations: list[str] = []
        self.max_elapsed = 0.0

    def violation(self, text: str) -> None:
        with self.lock:
            if len(self.violations) < 50:
                self.violations.append(text)

    def outcome(self, kind: str, what: str, elapsed: float) -> None:
        with self.lock:
            self.kinds[kind] += 1
            self.outcomes[f"{kind}:{what}"] += 1
            self.max_elapsed = max(self.max_elapsed, elapsed)


TOTAL = 2.0
MARGIN = 1.5  # generous: a loaded CI machine is slow, a hang is far longer
ALLOWED = (wirekit.TransportError, wirekit.DecodingError, wirekit.StreamError)


def check_response(stats: Stats, rid: int, kind: str, size: int, resp, content: bytes) -> None:
    expected = body_for(rid, size)
    if resp.headers.get("x-id") != str(rid):
        stats.violation(f"{rid} {kind}: got X-Id {resp.headers.get('x-id')}")
    if content != expected:
        stats.violation(f"{rid} {kind}: body mismatch len {len(content)} vs {len(expected)}")
    if kind in FAIL_KINDS and not (size == 0 and kind in ("rst_mid_body", "truncated_close")):
        stats.violation(f"{rid} {kind}: success for a failing kind")
    want = 503 if kind == "status503" else 200
    if resp.status_code != want:
        stats.violation(f"{rid} {kind}: status {resp.status_code}")


def check_error(stats: Stats, rid: int, kind: str, exc: BaseException, port: int) -> str:
    name = type(exc).__name__
    if not isinstance(exc, ALLOWED):
        stats.violation(
            f"{rid} {kind}: non-wirekit {name}: {exc!r}\n"
            + "".join(traceback.format_exception(exc))[-1500:]
        )
    elif (
        isinstance(exc, wirekit.TransportError)
        and f"{port}" not in str(exc)
        and not isinstance(exc, wirekit.StreamError)
    ):
        stats.violation(f"{rid} {kind}: message without port: {name}: {exc}")
    if kind in OK_KINDS and not isinstance(exc, (wirekit.DeadlineExceeded, wirekit.PoolTimeout)):
        print(f"   note: {rid} {kind} failed: {name}: {exc} / cause {exc.__cause__!r}")
    return name


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _plan(seed: int, n: int, kinds: list[str]) -> list[tuple[int, str, int, float]]:
    """Per request: its id, fault kind, body size and a random number for its choices."""
    rng = random.Random(seed)
    return [
        (i, rng.choice(kinds), rng.choice([0, 10, 1000, 70000]), rng.random()) for i in range(n)
    ]


def _client_options(retry: bool) -> dict[str, Any]:
    options: dict[str, Any] = {
        "limits": wirekit.Limits(max_connections=4),
        "timeout": wirekit.Timeout(TOTAL, read=0.3),
        "trust_env": False,
    }
    if not retry:
        options["retry"] = 0
    return options


# ---------------------------------------------------------------- sync
def run_sync(
    seed: int, retry: bool, n: int = 500, cap: float = 30.0, kinds: list[str] = ALL_KINDS
) -> Stats:
    plan = _plan(seed, n, kinds)
    stats = Stats()
    server = ChaosServer()
    base = f"http://127.0.0.1:{server.port}"
    kwargs = _client_options(retry)
    client = wirekit.Client(**kwargs)
    tl = threading.local()
    events: dict[int, list] = collections.defaultdict(list)

    def trace(event, info):
        rid = getattr(tl, "rid", None)
        if rid is not None:
            events[rid].append((round(time.monotonic() - t_start, 3), event))

    t_start = time.monotonic()
    client.trace = trace
    it = iter(plan)
    it_lock = threading.Lock()
    end = time.monotonic() + cap

    def worker() -> None:
        while time.monotonic() < end:
            with it_lock:
                item = next(it, None)
            if item is None:
                return
            rid, kind, size, r = item
            url = f"{base}/{rid}/{kind}/{size}"
            t0 = time.monotonic()
            tl.rid = rid
            try:
                if r < 0.2:
                    with client.stream("GET", url) as resp:
                        got = b""
                        for chunk in resp.iter_bytes():
                            got += chunk
                            if r < 0.1:
                                break
                        if r < 0.1:
                            if not body_for(rid, size).startswith(got):
                                stats.violation(f"{rid} {kind}: stream prefix mismatch")
                            what = "broke"
                        else:
                            check_response(stats, rid, kind, size, resp, got)
                            what = "ok"
                else:
                    resp = client.get(url)
                    check_response(stats, rid, kind, size, resp, resp.content)
                    what = "ok"
            except BaseException as exc:
                what = check_error(stats, rid, kind, exc, server.port)
                if kind in OK_KINDS and isinstance(exc, wirekit.ReadError):
                    print("     trace", rid, events[rid], "start", round(t0 - t_start, 3))
            el = time.monotonic() - t0
            if el > TOTAL + MARGIN:
                stats.violation(f"{rid} {kind}: took {el:.2f}s ({what})")
            stats.outcome(kind, what, el)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(cap + 10)
    counts = client.transport.connection_counts()
    if counts["open"] != counts["idle"]:
        stats.violation(f"after run: pool counts {counts} (lent-out connections leaked)")
    with wirekit.Client(timeout=1.0, retry=0) as _:
        pass
    t0 = time.monotonic()
    with contextlib.suppress(Exception):
        pass
    _final_requests_sync(stats, client, base, server.port)
    print("sync final-requests took", round(time.monotonic() - t0, 2))
    client.close()
    server.stop()
    stats.server_counts = server.counts  # type: ignore[attr-defined]
    return stats


def _final_requests_sync(stats: Stats, client, base: str, port: int) -> None:
    # every slot must be free: 4 requests in parallel succeed quickly (max_connections=4)
    results: list[object] = []

    def one(i: int) -> None:
        try:
            r = client.get(f"{base}/{100000 + i}/ok_cl/10", timeout=wirekit.Timeout(1.0, pool=0.5))
            results.append(r.status_code)
        except Exception as exc:
            results.append(exc)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(5)
    if results != [200] * 4:
        stats.violation(f"final requests: {results}")


# ---------------------------------------------------------------- async
async def run_async(
    seed: int, retry: bool, n: int = 600, cap: float = 30.0, kinds: list[str] = ALL_KINDS
) -> Stats:
    plan = _plan(seed, n, kinds)
    stats = Stats()
    server = ChaosServer()
    base = f"http://127.0.0.1:{server.port}"
    kwargs = _client_options(retry)
    client = wirekit.AsyncClient(**kwargs)
    it = iter(plan)
    end = time.monotonic() + cap

    async def one(rid: int, kind: str, size: int, r: float) -> str:
        url = f"{base}/{rid}/{kind}/{size}"
        if r < 0.2:
            async with client.stream("GET", url) as resp:
                got = b""
                async for chunk in resp.aiter_bytes():
                    got += chunk
                    if r < 0.1:
                        break
                if r < 0.1:
                    if not body_for(rid, size).startswith(got):
                        stats.violation(f"{rid} {kind}: stream prefix mismatch")
                    return "broke"
                check_response(stats, rid, kind, size, resp, got)
                return "ok"
        resp = await client.get(url)
        check_response(stats, rid, kind, size, resp, resp.content)
        return "ok"

    async def worker() -> None:
        while time.monotonic() < end:
            item = next(it, None)
            if item is None:
                return
            rid, kind, size, r = item
            t0 = time.monotonic()
            mode = int(r * 1000) % 10  # 0: wait_for, 1: cancel
            try:
                if mode == 0:
                    what = await asyncio.wait_for(one(rid, kind, size, r), 0.01 + (r * 7 % 0.3))
                elif mode == 1:
                    task = asyncio.ensure_future(one(rid, kind, size, r))
                    await asyncio.sleep(r * 13 % 0.2)
                    task.cancel()
                    try:
                        what = await task
                    except asyncio.CancelledError:
                        what = "cancelled"
                else:
                    what = await one(rid, kind, size, r)
            except TimeoutError as exc:
                if isinstance(exc, wirekit.TimeoutException):
                    what = check_error(stats, rid, kind, exc, server.port)
                else:
                    what = "wait_for-timeout"
            except BaseException as exc:
                what = check_error(stats, rid, kind, exc, server.port)
            el = time.monotonic() - t0
            if el > TOTAL + MARGIN:
                stats.violation(f"{rid} {kind}: took {el:.2f}s ({what})")
            stats.outcome(kind, what, el)

    await asyncio.gather(*(worker() for _ in range(32)))
    await asyncio.sleep(0.05)
    gc.collect()
    counts = client.transport.connection_counts()
    if counts["open"] != counts["idle"]:
        stats.violation(f"after run: pool counts {counts} (lent-out connections leaked)")
    results = await asyncio.gather(
        *(
            client.get(f"{base}/{100000 + i}/ok_cl/10", timeout=wirekit.Timeout(1.0, pool=0.5))
            for i in range(4)
        ),
        return_exceptions=True,
    )
    if [getattr(r, "status_code", r) for r in results] != [200] * 4:
        stats.violation(f"final requests: {results}")
    await client.aclose()
    await asyncio.to_thread(server.stop)
    stats.server_counts = server.counts  # type: ignore[attr-defined]
    return stats


def report(name: str, stats: Stats) -> None:
    print(f"== {name}: {sum(stats.kinds.values())} requests, max elapsed {stats.max_elapsed:.2f}s")
    by_what = collections.Counter()
    for k, v in stats.outcomes.items():
        by_what[k.split(":", 1)[1]] += v
    print("  outcomes:", dict(by_what))
    print("  per kind:", dict(sorted(stats.outcomes.items())))
    for v in stats.violations:
        print("  VIOLATION:", v)


def main() -> int:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else random.randrange(1 << 30)
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    retry = (sys.argv[3] if len(sys.argv) > 3 else "retry") == "retry"
    print("seed", seed, which, "retry" if retry else "retry=0")
    warnings.simplefilter("error")
    base_threads = set(threading.enumerate())
    fds0 = fd_count()
    bad = 0
    if which in ("sync", "both"):
        s = run_sync(seed, retry)
        report("sync", s)
        bad += len(s.violations)
    if which in ("async", "both"):
        s = asyncio.run(run_async(seed, retry))
        report("async", s)
        bad += len(s.violations)
    gc.collect()
    time.sleep(0.3)
    fds1 = fd_count()
    extra = [
        t
        for t in threading.enumerate()
        if t not in base_threads and t.is_alive() and not t.name.startswith("wirekit-dns")
    ]
    print("fds before/after", fds0, fds1, "threads left", [t.name for t in extra])
    if fds1 != fds0:
        print("  VIOLATION: fd leak", os.listdir("/proc/self/fd"))
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                print("   ", fd, os.readlink(f"/proc/self/fd/{fd}"))
        bad += 1
    if extra:
        print("  VIOLATION: threads left", extra)
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
