"""Run one scenario through wirekit.Client and wirekit.AsyncClient and record what a user sees."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import wirekit
from tests.support.scripted import ScriptedServer

PORT_RE = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d+")
NUM_RE = re.compile(r"\d+\.\d+ s")


def norm(msg: str) -> str:
    return NUM_RE.sub("N s", PORT_RE.sub(r"\1:PORT", msg))


def describe_error(exc: BaseException) -> dict[str, Any]:
    cause = exc.__cause__
    return {
        "error": type(exc).__name__,
        "message": norm(str(exc)),
        "cause": None if cause is None else type(cause).__name__,
    }


def describe_response(r: Any) -> dict[str, Any]:
    return {
        "status": r.status_code,
        "headers": [(k.lower(), v) for k, v in r.headers.items() if k.lower() != "date"],
        "content": r.content,
        "http_version": r.http_version,
        "reason": r.reason,
        "history": len(r.history),
        "timings": sorted(r.timings),
    }


def counts(client: Any) -> dict[str, int]:
    return client.transport.connection_counts()


class TLSScriptedServer(ScriptedServer):
    """ScriptedServer whose connections are TLS (the handshake first, then the script)."""

    def __init__(self, context: ssl.SSLContext, *scripts: Any, host: str = "127.0.0.1") -> None:
        super().__init__(*scripts, host=host)
        self._tls_context = context

    def handle(self, sock: socket.socket, *extra: Any) -> None:
        sock.settimeout(10)
        try:
            tls = self._tls_context.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            extra[0].error = f"handshake: {exc}"
            extra[0].finished.set()
            return
        super().handle(tls, *extra)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def sync_run(
    make_server: Callable[[], Any], body: Callable[[Any, str], Any], **client_kw: Any
) -> dict[str, Any]:
    client_kw.setdefault("trust_env", False)
    with make_server() as server:
        client = wirekit.Client(**client_kw)
        try:
            out: dict[str, Any] = {}
            try:
                out["result"] = body(client, server.url)
            except Exception as exc:
                out["result"] = describe_error(exc)
            out["counts"] = counts(client)
            out["connections"] = (
                len(getattr(server, "connections", []) or [])
                if not isinstance(getattr(server, "connections", None), int)
                else server.connections
            )
            time.sleep(0.05)
            out["received"] = [norm(r.decode("latin-1")) for r in getattr(server, "received", [])]
            return out
        finally:
            client.close()


def async_run(
    make_server: Callable[[], Any], body: Callable[[Any, str], Any], **client_kw: Any
) -> dict[str, Any]:
    client_kw.setdefault("trust_env", False)

    async def main(url: str, server: Any) -> dict[str, Any]:
        async with wirekit.AsyncClient(**client_kw) as client:
            out: dict[str, Any] = {}
            try:
                out["result"] = await body(client, url)
            except Exception as exc:
                out["result"] = describe_error(exc)
            out["counts"] = counts(client)
            out["connections"] = (
                len(getattr(server, "connections", []) or [])
                if not isinstance(getattr(server, "connections", None), int)
                else server.connections
            )
            await asyncio.sleep(0.05)
            out["received"] = [norm(r.decode("latin-1")) for r in getattr(server, "received", [])]
            return out

    with make_server() as server:
        return asyncio.run(asyncio.wait_for(main(server.url, server), 60))


def both(
    make_server: Callable[[], Any],
    sync_body: Callable[..., Any],
    async_body: Callable[..., Any],
    **client_kw: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    return sync_run(make_server, sync_body, **client_kw), async_run(
        make_server, async_body, **client_kw
    )


# -- common bodies --------------------------------------------------------------------------


def request_then(method: str = "GET", path: str = "/", follow_up: bool = False, **kw: Any):
    """A body doing one request (and, with follow_up, a second GET to see the reuse)."""

    def sync_body(client: Any, url: str) -> Any:
        r = client.request(method, url + path, **kw)
        out = describe_response(r)
        if follow_up:
            out["counts_after_first"] = counts(client)
            try:
                out["second"] = describe_response(client.get(url + "/2"))
            except Exception as exc:
                out["second"] = describe_error(exc)
        return out

    async def async_body(client: Any, url: str) -> Any:
        r = await client.request(method, url + path, **kw)
        out = describe_response(r)
        if follow_up:
            out["counts_after_first"] = counts(client)
            try:
                out["second"] = describe_response(await client.get(url + "/2"))
            except Exception as exc:
                out["second"] = describe_error(exc)
        return out

    return sync_body, async_body


def diff(a: dict[str, Any], b: dict[str, Any], path: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b), key=str):
        va, vb = a.get(k, "<missing>"), b.get(k, "<missing>")
        if isinstance(va, dict) and isinstance(vb, dict):
            out += diff(va, vb, f"{path}{k}.")
        elif va != vb:
            out.append(f"{path}{k}: sync={va!r} async={vb!r}")
    return out
