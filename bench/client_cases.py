"""One client benchmark case, run alone in a child process pinned to the client core.

``client_bench.py`` starts this once per (client, case) so the CPU time and peak RSS it
prints as one JSON line belong to that client alone. Every loop stops at ``--count``
requests or ``--budget`` seconds, whichever comes first, and every answer is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from _harness import percentile, pin
from responder import BIG_BODY_BYTES

HOST = "127.0.0.1"
HELLO_LENGTH = 13

#: Sync clients, and the ones that cannot share one object between threads (each thread of
#: the threads case gets its own, as a user of them would do).
SYNC_CLIENTS = ("http.client", "urllib3", "requests", "httpx", "pycurl", "wirekit", "wirekit-mypyc")
PER_THREAD_CLIENTS = frozenset({"http.client", "pycurl"})
ASYNC_CLIENTS = ("aiohttp", "httpx-async", "wirekit-async", "wirekit-async-mypyc")
#: The wirekit clients run from the compiled build (``make compile``): the same adapters, with
#: build/compiled first on the path (client_bench.py sets it; ``_check_compiled`` verifies).
COMPILED_CLIENTS = frozenset({"wirekit-mypyc", "wirekit-async-mypyc"})
CASES = ("sequential", "threads", "async", "download", "construct")

#: Requests made before measuring, per thread or task, so connections exist and lazy imports
#: are done when the clock starts.
WARMUP_REQUESTS = 20


class Unavailable(Exception):
    """The client library cannot be imported here; the case is reported "not available"."""


class WrongAnswer(Exception):
    """A response had the wrong status or body length: the numbers would mean nothing."""


def _check(client: str, status: int, length: int, expected: int) -> None:
    if status != 200 or length != expected:
        raise WrongAnswer(
            f"{client}: got status {status} with {length} body bytes, expected 200 with {expected}"
        )


class SyncAdapter(Protocol):
    def get(self, path: str, expected: int) -> None: ...
    def close(self) -> None: ...


class AsyncAdapter(Protocol):
    async def get(self, path: str, expected: int) -> None: ...
    async def close(self) -> None: ...


def _import(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as error:
        raise Unavailable(f"cannot import {module}: {error}") from error


class HttpClientAdapter:
    def __init__(self, port: int) -> None:
        import http.client

        self.connection = http.client.HTTPConnection(HOST, port)

    def get(self, path: str, expected: int) -> None:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        _check("http.client", response.status, len(body), expected)

    def close(self) -> None:
        self.connection.close()


class Urllib3Adapter:
    def __init__(self, port: int, pool_size: int) -> None:
        urllib3 = _import("urllib3")
        self.base = f"http://{HOST}:{port}"
        self.pool = urllib3.PoolManager(maxsize=pool_size, block=True)

    def get(self, path: str, expected: int) -> None:
        response = self.pool.request("GET", self.base + path)
        _check("urllib3", response.status, len(response.data), expected)

    def close(self) -> None:
        self.pool.clear()


class RequestsAdapter:
    def __init__(self, port: int, pool_size: int) -> None:
        requests = _import("requests")
        adapters = _import("requests.adapters")
        self.base = f"http://{HOST}:{port}"
        self.session = requests.Session()
        self.session.mount(
            "http://",
            adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, pool_block=True),
        )

    def get(self, path: str, expected: int) -> None:
        response = self.session.get(self.base + path)
        _check("requests", response.status_code, len(response.content), expected)

    def close(self) -> None:
        self.session.close()


class HttpxAdapter:
    def __init__(self, port: int, pool_size: int) -> None:
        httpx = _import("httpx")
        self.base = f"http://{HOST}:{port}"
        limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        self.client = httpx.Client(limits=limits)

    def get(self, path: str, expected: int) -> None:
        response = self.client.get(self.base + path)
        _check("httpx", response.status_code, len(response.content), expected)

    def close(self) -> None:
        self.client.close()


class PycurlAdapter:
    def __init__(self, port: int) -> None:
        self.pycurl = _import("pycurl")
        self.base = f"http://{HOST}:{port}"
        self.buffer = io.BytesIO()
        self.curl = self.pycurl.Curl()
        self.curl.setopt(self.pycurl.WRITEDATA, self.buffer)

    def get(self, path: str, expected: int) -> None:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.curl.setopt(self.pycurl.URL, self.base + path)
        self.curl.perform()
        status = self.curl.getinfo(self.pycurl.RESPONSE_CODE)
        _check("pycurl", status, self.buffer.getbuffer().nbytes, expected)

    def close(self) -> None:
        self.curl.close()


def _wirekit_limits(pool_size: int) -> Any:
    wirekit = _import("wirekit")
    return wirekit.Limits(max_connections=pool_size, max_idle_connections=pool_size)


class WirekitAdapter:
    def __init__(self, port: int, pool_size: int) -> None:
        wirekit = _import("wirekit")
        self.base = f"http://{HOST}:{port}"
        self.client = wirekit.Client(limits=_wirekit_limits(pool_size))

    def get(self, path: str, expected: int) -> None:
        response = self.client.get(self.base + path)
        _check("wirekit", response.status_code, len(response.content), expected)

    def close(self) -> None:
        self.client.close()


class AiohttpAdapter:
    def __init__(self, port: int, pool_size: int) -> None:
        self.aiohttp = _import("aiohttp")
        self.base = f"http://{HOST}:{port}"
        connector = self.aiohttp.TCPConnector(limit=pool_size)
        self.session = self.aiohttp.ClientSession(connector=connector)

    async def get(self, path: str, expected: int) -> None:
        async with self.session.get(self.base + path) as response:
            body = await response.read()
            _check("aiohttp", response.status, len(body), expected)

    async def close(self) -> None:
        await self.session.close()


class HttpxAsyncAdapter:
    def __init__(self, port: int, pool_size: int) -> None:
        httpx = _import("httpx")
        self.base = f"http://{HOST}:{port}"
        limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        self.client = httpx.AsyncClient(limits=limits)

    async def get(self, path: str, expected: int) -> None:
        response = await self.client.get(self.base + path)
        _check("httpx-async", response.status_code, len(response.content), expected)

    async def close(self) -> None:
        await self.client.aclose()


class WirekitAsyncAdapter:
    def __init__(self, port: int, pool_size: int) -> None:
        wirekit = _import("wirekit")
        self.base = f"http://{HOST}:{port}"
        self.client = wirekit.AsyncClient(limits=_wirekit_limits(pool_size))

    async def get(self, path: str, expected: int) -> None:
        response = await self.client.get(self.base + path)
        _check("wirekit-async", response.status_code, len(response.content), expected)

    async def close(self) -> None:
        closer = getattr(self.client, "aclose", None) or self.client.close
        await closer()


def make_sync(client: str, port: int, pool_size: int) -> SyncAdapter:
    if client == "http.client":
        return HttpClientAdapter(port)
    if client == "pycurl":
        return PycurlAdapter(port)
    builders: dict[str, Callable[[int, int], SyncAdapter]] = {
        "urllib3": Urllib3Adapter,
        "requests": RequestsAdapter,
        "httpx": HttpxAdapter,
        "wirekit": WirekitAdapter,
        "wirekit-mypyc": WirekitAdapter,
    }
    return builders[client](port, pool_size)


def make_async(client: str, port: int, pool_size: int) -> AsyncAdapter:
    builders: dict[str, Callable[[int, int], AsyncAdapter]] = {
        "aiohttp": AiohttpAdapter,
        "httpx-async": HttpxAsyncAdapter,
        "wirekit-async": WirekitAsyncAdapter,
        "wirekit-async-mypyc": WirekitAsyncAdapter,
    }
    return builders[client](port, pool_size)


class Measure:
    """Wall clock and this process's CPU time (all threads) around the measured loop."""

    def __enter__(self) -> Measure:
        self.usage = resource.getrusage(resource.RUSAGE_SELF)
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall = time.perf_counter() - self.started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu = (usage.ru_utime - self.usage.ru_utime) + (usage.ru_stime - self.usage.ru_stime)


def _summary(measure: Measure, latencies: list[float], **extra: Any) -> dict[str, Any]:
    latencies.sort()
    done = len(latencies)
    return {
        "requests": done,
        "wall_s": measure.wall,
        "requests_per_s": done / measure.wall if measure.wall else 0.0,
        "cpu_us_per_request": measure.cpu / done * 1e6 if done else None,
        "cpu_s": measure.cpu,
        "p50_ms": percentile(latencies, 0.50) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        **extra,
    }


def _loop_sync(
    adapter: SyncAdapter, path: str, expected: int, count: int, deadline: float
) -> list[float]:
    latencies: list[float] = []
    clock = time.perf_counter
    for _ in range(count):
        started = clock()
        if started > deadline:
            break
        adapter.get(path, expected)
        latencies.append(clock() - started)
    return latencies


def run_sequential(
    client: str, port: int, path: str, expected: int, count: int, budget: float
) -> dict[str, Any]:
    adapter = make_sync(client, port, 1)
    try:
        _loop_sync(adapter, path, expected, WARMUP_REQUESTS, time.perf_counter() + budget)
        with Measure() as measure:
            latencies = _loop_sync(adapter, path, expected, count, time.perf_counter() + budget)
    finally:
        adapter.close()
    return _summary(measure, latencies)


def run_threads(client: str, port: int, count: int, budget: float, threads: int) -> dict[str, Any]:
    per_thread = client in PER_THREAD_CLIENTS
    shared = None if per_thread else make_sync(client, port, threads)
    adapters = [make_sync(client, port, 1) if per_thread else shared for _ in range(threads)]
    results: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    start_gate = threading.Barrier(threads + 1)
    deadline_box: list[float] = [0.0]

    def work(index: int) -> None:
        adapter = adapters[index]
        assert adapter is not None
        try:
            _loop_sync(adapter, "/", HELLO_LENGTH, WARMUP_REQUESTS, time.perf_counter() + budget)
            start_gate.wait(timeout=budget + 30)
            results[index] = _loop_sync(
                adapter, "/", HELLO_LENGTH, count // threads, deadline_box[0]
            )
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            start_gate.abort()

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    try:
        deadline_box[0] = time.perf_counter() + budget + 5
        # Threads warm up, then all meet here: the clock starts once every one is ready.
        try:
            start_gate.wait(timeout=budget + 30)
        except threading.BrokenBarrierError:
            pass
        with Measure() as measure:
            for worker in workers:
                worker.join(timeout=budget + 60)
    finally:
        for adapter in {id(adapter): adapter for adapter in adapters}.values():
            assert adapter is not None
            adapter.close()
    if errors:
        raise errors[0]
    latencies = [value for part in results for value in part]
    return _summary(measure, latencies, threads=threads)


async def _loop_async(
    adapter: AsyncAdapter,
    path: str,
    expected: int,
    count: int,
    concurrency: int,
    deadline: float,
) -> list[float]:
    latencies: list[float] = []
    remaining = [count]
    clock = time.perf_counter

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            started = clock()
            if started > deadline:
                return
            await adapter.get(path, expected)
            latencies.append(clock() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def run_async(
    client: str, port: int, path: str, expected: int, count: int, budget: float, concurrency: int
) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        adapter = make_async(client, port, concurrency)
        try:
            # Two requests per task opens every connection; a fixed floor warms the code.
            warmup = max(WARMUP_REQUESTS, 2 * concurrency)
            await _loop_async(
                adapter, path, expected, warmup, concurrency, time.perf_counter() + budget / 2
            )
            with Measure() as measure:
                latencies = await _loop_async(
                    adapter, path, expected, count, concurrency, time.perf_counter() + budget
                )
        finally:
            await adapter.close()
        return _summary(measure, latencies, concurrency=concurrency)

    return _run_loop(main)


def _run_loop(main: Callable[[], Coroutine[Any, Any, dict[str, Any]]]) -> dict[str, Any]:
    # Every async client runs on the same loop: uvloop when installed, as wirekit uses.
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return uvloop.run(main())


def _constructor(client: str, port: int) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    """(build, dispose) of the object a user creates first with each library."""
    if client == "http.client":
        import http.client

        return (lambda: http.client.HTTPConnection(HOST, port)), (lambda made: made.close())
    if client == "pycurl":
        pycurl = _import("pycurl")
        return pycurl.Curl, (lambda made: made.close())
    if client == "urllib3":
        return _import("urllib3").PoolManager, (lambda made: made.clear())
    if client == "requests":
        return _import("requests").Session, (lambda made: made.close())
    if client == "httpx":
        return _import("httpx").Client, (lambda made: made.close())
    if client in ("wirekit", "wirekit-mypyc"):
        return _import("wirekit").Client, (lambda made: made.close())
    if client == "httpx-async":
        return _import("httpx").AsyncClient, (lambda made: made.aclose())
    if client == "aiohttp":
        return _import("aiohttp").ClientSession, (lambda made: made.close())
    if client in ("wirekit-async", "wirekit-async-mypyc"):
        build = _import("wirekit").AsyncClient

        def dispose(made: Any) -> Any:
            return (getattr(made, "aclose", None) or made.close)()

        return build, dispose
    raise ValueError(f"unknown client {client!r}")


def run_construct(client: str, port: int, count: int, budget: float) -> dict[str, Any]:
    build, dispose = _constructor(client, port)
    clock = time.perf_counter

    async def measure_all() -> dict[str, Any]:
        timings: list[float] = []
        deadline = clock() + budget
        for _ in range(count + 1):  # the first, cold one is reported apart
            if clock() > deadline:
                break
            started = clock()
            made = build()
            timings.append(clock() - started)
            outcome = dispose(made)
            if asyncio.iscoroutine(outcome):
                await outcome
        cold, warm = timings[0], sorted(timings[1:])
        return {
            "constructions": len(warm),
            "first_us": cold * 1e6,
            "median_us": percentile(warm, 0.5) * 1e6,
            "mean_us": sum(warm) / len(warm) * 1e6 if warm else None,
        }

    # Async clients must be built inside a running loop (aiohttp warns otherwise); the
    # sync ones are timed the same way so the numbers compare.
    return _run_loop(measure_all)


def _check_compiled(client: str) -> None:
    """A ``-mypyc`` client must run the compiled HTTP/1.1 core, never the pure one by mistake."""
    core = _import("wirekit._proto.http1")
    if not str(core.__file__).endswith(".so"):
        raise Unavailable(f"{client}: no compiled build on the path (run `make compile`)")


def run_case(args: argparse.Namespace) -> dict[str, Any]:
    client, case, port = args.client, args.case, args.port
    if client in COMPILED_CLIENTS:
        _check_compiled(client)
    is_async = client in ASYNC_CLIENTS
    if case == "construct":
        return run_construct(client, port, args.count, args.budget)
    if case == "threads":
        if is_async:
            raise ValueError("the threads case is for sync clients")
        return run_threads(client, port, args.count, args.budget, args.concurrency)
    if case == "async":
        if not is_async:
            raise ValueError("the async case is for async clients")
        return run_async(client, port, "/", HELLO_LENGTH, args.count, args.budget, args.concurrency)
    path, expected = ("/big", BIG_BODY_BYTES) if case == "download" else ("/", HELLO_LENGTH)
    if is_async:
        return run_async(client, port, path, expected, args.count, args.budget, 1)
    return run_sequential(client, port, path, expected, args.count, args.budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", required=True, choices=SYNC_CLIENTS + ASYNC_CLIENTS)
    parser.add_argument("--case", required=True, choices=CASES)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True, help="requests (or constructions)")
    parser.add_argument("--concurrency", type=int, default=1, help="threads or tasks")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds before stopping early")
    parser.add_argument("--core", type=int, default=None, help="pin to this CPU core")
    args = parser.parse_args()
    pin(args.core)
    try:
        result = run_case(args)
    except Unavailable as error:
        result = {"unavailable": str(error)}
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        result = {"error": f"{type(error).__name__}: {error}"}
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
