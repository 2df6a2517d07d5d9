"""Raw HTTP replies for the review tests (served by tests.support.scripted.ScriptedServer)."""

from __future__ import annotations


def reply(
    body: bytes, *headers: bytes, status: bytes = b"200 OK", chunk: int | None = None
) -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers)
    if chunk is None:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"
