"""Serve a directory over HTTP as an ASGI 3 app: files, index pages, directory listings.

Handles conditional requests (ETag, Last-Modified), byte ranges (single and multipart),
precompressed ``.br``/``.gz`` siblings and the zero-copy ASGI extension, and refuses any
path that could leave the directory. The HTTP rules are in RFC 9110 §8.8, §13 and §14.
"""

from __future__ import annotations

import asyncio
import email.utils
import html
import mimetypes
import os
import secrets
import stat
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_LISTING_ENTRIES",
    "MAX_RANGES",
    "StaticFiles",
    "content_type_for",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Bytes read and sent per step. 64 KiB matches the usual socket send buffer: larger
#: chunks cost memory per connection without speeding up the copy.
DEFAULT_CHUNK_SIZE: Final = 64 * 1024
#: Ranges accepted in one request. More is a known amplification trick (CVE-2011-3192,
#: "Apache Killer"): the request is then answered with the whole file (RFC 9110 §14.2
#: lets a server ignore Range).
MAX_RANGES: Final = 16
#: Entries shown on a listing page; beyond it the page says how many were left out.
MAX_LISTING_ENTRIES: Final = 10_000

# Types the system mime.types files miss or get wrong (RFC 9239 made JavaScript text/).
_EXTRA_TYPES: Final = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".txt": "text/plain",
    ".md": "text/markdown",
}
# A file that *is* compressed (x.tar.gz) is served as the archive type, never with a
# Content-Encoding, or clients would silently unpack it.
_ENCODED_TYPES: Final = {
    "gzip": "application/gzip",
    "br": "application/x-brotli",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}
# RFC 8615: ".well-known" must be reachable (ACME challenges, security.txt) even though
# other dot-names are hidden.
_VISIBLE_DOTNAMES: Final = frozenset({".well-known"})
_PRECOMPRESSED: Final = (("br", ".br"), ("gzip", ".gz"))


def content_type_for(name: str) -> str:
    """The Content-Type for a file name, with ``charset=utf-8`` on text types."""
    suffix = os.path.splitext(name)[1].lower()
    media_type = _EXTRA_TYPES.get(suffix)
    if media_type is None:
        guessed, encoding = mimetypes.guess_type(name, strict=False)
        if encoding is not None:
            return _ENCODED_TYPES.get(encoding, "application/octet-stream")
        media_type = guessed or "application/octet-stream"
    if media_type.startswith("text/") or media_type == "image/svg+xml":
        return f"{media_type}; charset=utf-8"
    return media_type


@dataclass(frozen=True, slots=True)
class _Found:
    """What a URL path resolved to."""

    kind: str  # "file", "directory", "redirect", "missing"
    path: Path | None = None


def route_path(scope: Scope) -> str:
    """``scope["path"]`` without the ``root_path`` the app is mounted at (what to route on)."""
    path: str = scope.get("path", "/")
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        rest = path[len(root_path) :]
        if not rest or rest[:1] == "/":
            return rest  # "" for the mount itself: a directory without its "/", redirected
    return path


class StaticFiles:
    """An ASGI app serving the files under ``directory``.

    - ``index``: file served for a directory URL (``None``: none).
    - ``listing``: show an HTML listing for a directory without an index file.
    - ``follow_symlinks``: serve symlinks whose target is outside ``directory``; links that
      stay inside are always followed.
    - ``precompressed``: serve ``name.br``/``name.gz`` when the client accepts it and the
      sibling is at least as new as ``name``.
    - ``cache_max_age``: seconds for ``Cache-Control: public, max-age=N`` (``None``: no
      header, clients revalidate with ETag/Last-Modified).
    - ``show_hidden``: serve and list dot-names (``.env``, ``.git``); off by default.
    - ``chunk_size``, ``max_ranges``, ``max_listing_entries``: see the module constants.

    When the server offers the ``http.response.zerocopy`` scope extension, file bytes are
    sent as ``{"type": "http.response.zerocopy", "file": <open binary file>, "offset": n,
    "count": m, "more_body": bool}`` so the server can ``os.sendfile`` them; otherwise as
    ``http.response.body`` chunks. The file stays open until the app returns.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        index: str | None = "index.html",
        listing: bool = True,
        follow_symlinks: bool = False,
        precompressed: bool = True,
        cache_max_age: int | None = None,
        show_hidden: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_ranges: int = MAX_RANGES,
        max_listing_entries: int = MAX_LISTING_ENTRIES,
    ) -> None:
        root = Path(directory)
        if not root.is_dir():
            raise ValueError(f"static directory {os.fspath(directory)} does not exist")
        if chunk_size < 1024:
            raise ValueError(f"chunk_size must be at least 1024 bytes, got {chunk_size}")
        if max_ranges < 1:
            raise ValueError(f"max_ranges must be at least 1, got {max_ranges}")
        if cache_max_age is not None and cache_max_age < 0:
            raise ValueError(f"cache_max_age must be zero or more, got {cache_max_age}")
        self.directory = root
        self.index = index
        self.listing = listing
        self.follow_symlinks = follow_symlinks
        self.precompressed = precompressed
        self.cache_max_age = cache_max_age
        self.show_hidden = show_hidden
        self.chunk_size = chunk_size
        self.max_ranges = max_ranges
        self.max_listing_entries = max_listing_entries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Lifespan and websocket scopes are not ours; say so rather than hang.
            raise RuntimeError(f"StaticFiles handles only 'http' scopes, not {scope['type']!r}")
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _simple(send, 405, "Method Not Allowed", [(b"allow", b"GET, HEAD")], method)
            return
        headers = _header_map(scope.get("headers", []))
        url_path = route_path(scope)
        raw_path = scope.get("raw_path")
        # The path as the browser sent it, for a redirect: its bytes when they are not UTF-8.
        full_path: str | bytes = str(scope.get("path", "/"))
        if "\ufffd" in url_path and raw_path:
            # Not UTF-8 (a file name the listing links to by its bytes): the scope's path lost
            # them to U+FFFD; the raw bytes, decoded as the file system does, name the file.
            full_path = urllib.parse.unquote_to_bytes(bytes(raw_path))
            fs_path = os.fsdecode(full_path)
            url_path = route_path({"path": fs_path, "root_path": scope.get("root_path", "")})
        found = await asyncio.to_thread(self._lookup, url_path)
        if found.kind == "redirect":
            query = scope.get("query_string", b"")
            # One leading slash: "//evil.example/" would send the browser to another host.
            if isinstance(full_path, bytes):
                full_path = b"/" + full_path.lstrip(b"/")
            else:
                full_path = "/" + full_path.lstrip("/")
            location = urllib.parse.quote(full_path, safe="/:@!$&'()*+,;=~") + "/"
            if query:
                location += "?" + query.decode("latin-1")
            await _simple(send, 301, "", [(b"location", location.encode("latin-1"))], method)
        elif found.kind == "directory" and found.path is not None:
            page = await asyncio.to_thread(self._listing_page, found.path, url_path)
            await _send_whole(
                send,
                200,
                page,
                b"text/html; charset=utf-8",
                method,
                [(b"cache-control", b"no-cache")],
            )
        elif found.kind == "file" and found.path is not None:
            await self._serve_file(scope, send, found.path, headers, method)
        else:
            await _simple(send, 404, "Not Found", [], method)

    # -- finding the file ----------------------------------------------------------------
    def _lookup(self, url_path: str) -> _Found:
        target = self._safe_path(url_path)
        if target is None:
            return _Found("missing")
        try:
            info = target.stat()
        except (OSError, ValueError):
            return _Found("missing")
        if stat.S_ISDIR(info.st_mode):
            if not url_path.endswith("/"):
                return _Found("redirect")
            if self.index is not None:
                index_path = target / self.index
                try:
                    is_index = index_path.is_file()
                except OSError:  # a directory we may not search (EACCES): not found
                    return _Found("missing")
                if is_index and self._inside_root(index_path):
                    return _Found("file", index_path)
            return _Found("directory", target) if self.listing else _Found("missing")
        if stat.S_ISREG(info.st_mode):
            if url_path.endswith(("/", "/.")):
                # "/page.html/" is not a second name for the file (nginx and Apache: 404);
                # served, the page's relative links would resolve under it.
                return _Found("missing")
            return _Found("file", target)
        return _Found("missing")  # FIFOs, devices, sockets: never served

    def _safe_path(self, url_path: str) -> Path | None:
        """The file path for a URL path, or ``None`` if it must not be served."""
        segments: list[str] = []
        for segment in url_path.split("/"):
            if segment in ("", "."):
                continue
            if not _servable_name(segment):
                return None
            if segment.startswith(".") and not self._visible_dotname(segment):
                return None
            segments.append(segment)
        candidate = self.directory.joinpath(*segments)
        if not self._inside_root(candidate):
            return None
        return candidate

    def _visible_dotname(self, name: str) -> bool:
        return self.show_hidden or name in _VISIBLE_DOTNAMES

    def _inside_root(self, candidate: Path) -> bool:
        if self.follow_symlinks:
            return True
        real = os.path.realpath(candidate)
        # The root resolved again each time: a root that is a symlink may be repointed while
        # we serve (the atomic "current -> releases/N" swap of a deploy).
        real_root = os.path.realpath(self.directory)
        return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)

    # -- serving a file --------------------------------------------------------------------
    async def _serve_file(
        self,
        scope: Scope,
        send: Send,
        path: Path,
        headers: dict[bytes, bytes],
        method: str,
    ) -> None:
        opened = await asyncio.to_thread(self._open_variant, path, headers)
        if opened is None:
            await _simple(send, 404, "Not Found", [], method)
            return
        file, info, encoding, has_variants = opened
        try:
            await self._respond_with_file(
                scope, send, path, file, info, encoding, has_variants, headers, method
            )
        finally:
            await asyncio.to_thread(file.close)

    def _open_variant(
        self, path: Path, headers: dict[bytes, bytes]
    ) -> tuple[BinaryIO, os.stat_result, str | None, bool] | None:
        try:
            original = path.stat()
        except OSError:
            return None
        has_variants = False
        if self.precompressed:
            accepted = _accepted_encodings(headers.get(b"accept-encoding", b""))
            # A range request gets bytes of the file itself: a slice of a compressed variant
            # is something no client can decode on its own.
            ranged = b"range" in headers
            # The fresh siblings the client accepts, by its preference (q), br on a tie.
            choices: list[tuple[float, int, str, Path]] = []
            for order, (encoding, suffix) in enumerate(_PRECOMPRESSED):
                sibling = path.with_name(path.name + suffix)
                try:
                    sibling_info = sibling.stat()
                except OSError:
                    continue
                if not stat.S_ISREG(sibling_info.st_mode) or not self._inside_root(sibling):
                    continue
                if sibling_info.st_mtime_ns < original.st_mtime_ns:
                    continue  # stale: the original was edited after it was compressed
                has_variants = True
                quality = accepted.get(encoding, 0.0)
                if quality > 0 and not ranged:
                    choices.append((-quality, order, encoding, sibling))
            for _, _, encoding, sibling in sorted(choices):
                opened = _open_regular(sibling)
                if opened is not None:
                    return opened[0], opened[1], encoding, True
        opened = _open_regular(path)
        if opened is None:
            return None
        return opened[0], opened[1], None, has_variants

    async def _respond_with_file(
        self,
        scope: Scope,
        send: Send,
        path: Path,
        file: BinaryIO,
        info: os.stat_result,
        encoding: str | None,
        has_variants: bool,
        headers: dict[bytes, bytes],
        method: str,
    ) -> None:
        size = info.st_size
        etag = _etag(info, encoding)
        last_modified = email.utils.formatdate(info.st_mtime, usegmt=True).encode("ascii")
        validators: list[tuple[bytes, bytes]] = [
            (b"etag", etag),
            (b"last-modified", last_modified),
        ]
        if self.cache_max_age is not None:
            validators.append((b"cache-control", b"public, max-age=%d" % self.cache_max_age))
        if has_variants:
            validators.append((b"vary", b"Accept-Encoding"))
        content_type = content_type_for(path.name).encode("latin-1")

        precondition = _evaluate_preconditions(headers, etag, info.st_mtime)
        if precondition == 412:
            await _simple(send, 412, "Precondition Failed", validators, method)
            return
        if precondition == 304:
            await send({"type": "http.response.start", "status": 304, "headers": validators})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return

        response_headers = [*validators, (b"accept-ranges", b"bytes")]
        if encoding is not None:
            response_headers.append((b"content-encoding", encoding.encode("ascii")))

        ranges: list[tuple[int, int]] | None = None
        range_header = headers.get(b"range")
        if (
            method == "GET"
            and range_header is not None
            and _if_range_allows(headers.get(b"if-range"), etag, info.st_mtime)
        ):
            parsed = _parse_ranges(range_header, size, self.max_ranges)
            if parsed == "unsatisfiable":
                await _simple(
                    send,
                    416,
                    "Range Not Satisfiable",
                    [*validators, (b"content-range", b"bytes */%d" % size)],
                    method,
                )
                return
            if isinstance(parsed, list):
                ranges = parsed

        if not ranges:
            response_headers += [
                (b"content-type", content_type),
                (b"content-length", b"%d" % size),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": response_headers})
            if method == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await self._send_span(scope, send, file, 0, size, last=True)
            return

        if len(ranges) == 1:
            start, end = ranges[0]
            response_headers += [
                (b"content-type", content_type),
                (b"content-range", b"bytes %d-%d/%d" % (start, end, size)),
                (b"content-length", b"%d" % (end - start + 1)),
            ]
            await send({"type": "http.response.start", "status": 206, "headers": response_headers})
            await self._send_span(scope, send, file, start, end - start + 1, last=True)
            return

        # RFC 9110 §14.6: multipart/byteranges, each part with its own Content-Range.
        boundary = secrets.token_hex(16).encode("ascii")
        part_heads = [
            b"--%s\r\ncontent-type: %s\r\ncontent-range: bytes %d-%d/%d\r\n\r\n"
            % (boundary, content_type, start, end, size)
            for start, end in ranges
        ]
        closing = b"--%s--\r\n" % boundary
        total = sum(
            len(head) + (end - start + 1) + 2
            for head, (start, end) in zip(part_heads, ranges, strict=True)
        )
        total += len(closing)
        response_headers += [
            (b"content-type", b"multipart/byteranges; boundary=" + boundary),
            (b"content-length", b"%d" % total),
        ]
        await send({"type": "http.response.start", "status": 206, "headers": response_headers})
        for head, (start, end) in zip(part_heads, ranges, strict=True):
            await send({"type": "http.response.body", "body": head, "more_body": True})
            await self._send_span(scope, send, file, start, end - start + 1, last=False)
            await send({"type": "http.response.body", "body": b"\r\n", "more_body": True})
        await send({"type": "http.response.body", "body": closing, "more_body": False})

    async def _send_span(
        self, scope: Scope, send: Send, file: BinaryIO, offset: int, count: int, *, last: bool
    ) -> None:
        """Send ``count`` bytes of ``file`` from ``offset``; ``last`` ends the body."""
        extensions = scope.get("extensions") or {}
        if "http.response.zerocopy" in extensions:
            await send(
                {
                    "type": "http.response.zerocopy",
                    "file": file,
                    "offset": offset,
                    "count": count,
                    "more_body": not last,
                }
            )
            return
        if count == 0:
            if last:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        position, remaining = offset, count
        while remaining > 0:
            chunk = await asyncio.to_thread(
                _read_at, file, position, min(self.chunk_size, remaining)
            )
            if not chunk:
                # The file shrank after we sent Content-Length: the response cannot be
                # completed honestly; raising lets the server abort the connection.
                raise OSError(f"static file {getattr(file, 'name', '?')} shrank while being sent")
            position += len(chunk)
            remaining -= len(chunk)
            await send(
                {
                    "type": "http.response.body",
                    "body": chunk,
                    "more_body": remaining > 0 or not last,
                }
            )

    # -- listing ---------------------------------------------------------------------------
    def _listing_page(self, directory: Path, url_path: str) -> bytes:
        rows: list[tuple[bool, str, int, float]] = []
        hidden_left_out = 0
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.name.startswith(".") and not self._visible_dotname(entry.name):
                        continue
                    if not _servable_name(entry.name):
                        continue  # its link would be refused (404): not listed
                    if len(rows) >= self.max_listing_entries:
                        hidden_left_out += 1
                        continue
                    try:
                        if entry.is_symlink() and not self._inside_root(Path(entry.path)):
                            continue  # not served (404): not listed, nor its target's size
                        entry_info = entry.stat()
                        is_directory = entry.is_dir()
                    except OSError:
                        continue
                    rows.append((is_directory, entry.name, entry_info.st_size, entry_info.st_mtime))
        except OSError:
            rows = []
        rows.sort(key=lambda row: (not row[0], row[1].lower(), row[1]))
        shown_path = url_path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        title = html.escape(f"Index of {shown_path}")
        lines = [
            "<!DOCTYPE html>",
            '<html><head><meta charset="utf-8">',
            f"<title>{title}</title></head><body>",
            f"<h1>{title}</h1>",
            "<table><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>",
        ]
        if url_path.strip("/"):
            lines.append('<tr><td><a href="../">../</a></td><td></td><td></td></tr>')
        for is_directory, name, size, mtime in rows:
            # A name that is not UTF-8 (kept by the OS as surrogate escapes): its bytes are
            # percent-encoded for the link and shown with replacement characters.
            shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            shown += "/" if is_directory else ""
            href = urllib.parse.quote(os.fsencode(name)) + ("/" if is_directory else "")
            modified = datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(
                f'<tr><td><a href="{html.escape(href)}">{html.escape(shown)}</a></td>'
                f"<td>{'-' if is_directory else size}</td><td>{modified}</td></tr>"
            )
        lines.append("</table>")
        if hidden_left_out:
            lines.append(
                f"<p>{hidden_left_out} more entries not shown "
                f"(max_listing_entries={self.max_listing_entries}).</p>"
            )
        lines.append("</body></html>")
        return ("\n".join(lines) + "\n").encode("utf-8")


# -- helpers -------------------------------------------------------------------------------
def _servable_name(segment: str) -> bool:
    """Whether a path segment (a file name once %-decoded by the server) may be served.

    The server decoded %-escapes once; a segment that still decodes to ".." or a separator
    was double-encoded to sneak past a proxy's checks. Backslashes and NUL are refused too:
    some proxies and file systems treat a backslash as a separator."""
    if "\x00" in segment or "\\" in segment or segment == "..":
        return False
    decoded = urllib.parse.unquote(segment)
    if decoded in ("..", ".") or "/" in decoded or "\\" in decoded:
        return False
    return not (":" in segment and os.name == "nt")  # drive letters, alternate data streams


def _open_regular(path: Path) -> tuple[BinaryIO, os.stat_result] | None:
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the caller after sending
    except OSError:
        return None
    # fstat the open file: the headers then describe exactly the bytes we will read, even
    # if the path is replaced between our stat and open.
    info = os.fstat(file.fileno())
    if not stat.S_ISREG(info.st_mode):
        file.close()
        return None
    return file, info


def _read_at(file: BinaryIO, offset: int, size: int) -> bytes:
    file.seek(offset)
    return file.read(size)


def _header_map(raw: list[tuple[bytes, bytes]] | Any) -> dict[bytes, bytes]:
    """Request headers by lower-cased name; repeats joined with ", " (RFC 9110 §5.3)."""
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        key = bytes(name).lower()
        found[key] = found[key] + b", " + bytes(value) if key in found else bytes(value)
    return found


def _etag(info: os.stat_result, encoding: str | None) -> bytes:
    # Size and nanosecond mtime: changes whenever the content is rewritten, costs no
    # hashing. Each encoding is its own representation (RFC 9110 §8.8.3) and gets its own tag.
    tag = b'"%x-%x' % (info.st_size, info.st_mtime_ns)
    if encoding is not None:
        tag += b"-" + encoding.encode("ascii")
    return tag + b'"'


def _entity_tags(value: bytes) -> list[bytes] | None:
    """Entity tags in an If-(None-)Match list; ``None`` for ``*``."""
    if value.strip() == b"*":
        return None
    tags: list[bytes] = []
    for piece in value.split(b","):
        piece = piece.strip()
        if piece:
            tags.append(piece)
    return tags


def _weak_equal(left: bytes, right: bytes) -> bool:
    return left.removeprefix(b"W/") == right.removeprefix(b"W/")


def _http_date(value: bytes) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _evaluate_preconditions(headers: dict[bytes, bytes], etag: bytes, mtime: float) -> int:
    """RFC 9110 §13.2.2, in its order: 412, 304, or 0 to go on."""
    seconds = int(mtime)  # HTTP dates have one-second resolution
    if_match = headers.get(b"if-match")
    if if_match is not None:
        tags = _entity_tags(if_match)
        # Strong comparison (§8.8.3.2): weak tags never match.
        if tags is not None and not any(t == etag for t in tags if not t.startswith(b"W/")):
            return 412
    else:
        since = headers.get(b"if-unmodified-since")
        when = _http_date(since) if since is not None else None
        if when is not None and seconds > when:
            return 412
    if_none_match = headers.get(b"if-none-match")
    if if_none_match is not None:
        tags = _entity_tags(if_none_match)
        if tags is None or any(_weak_equal(t, etag) for t in tags):
            return 304
        return 0  # §13.1.3: If-Modified-Since is ignored when If-None-Match is present
    since = headers.get(b"if-modified-since")
    when = _http_date(since) if since is not None else None
    if when is not None and seconds <= when:
        return 304
    return 0


def _if_range_allows(value: bytes | None, etag: bytes, mtime: float) -> bool:
    """RFC 9110 §13.1.5: honour Range only if the validator still matches."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith((b'"', b"W/")):
        return value == etag  # strong comparison; a weak tag never matches
    when = _http_date(value)
    return when is not None and int(mtime) == int(when)


def _parse_ranges(value: bytes, size: int, max_ranges: int) -> list[tuple[int, int]] | str | None:
    """Byte ranges as inclusive (first, last) pairs, merged and sorted; ``"unsatisfiable"``;
    or ``None`` when the header is ignored (bad syntax, other unit, too many ranges)."""
    unit, _, specs = value.partition(b"=")
    if unit.strip().lower() != b"bytes" or not specs:
        return None
    pieces = [piece.strip() for piece in specs.split(b",")]
    pieces = [piece for piece in pieces if piece]
    if not pieces or len(pieces) > max_ranges:
        return None
    wanted: list[tuple[int, int]] = []
    for piece in pieces:
        first_text, dash, last_text = piece.partition(b"-")
        if not dash:
            return None
        first_text, last_text = first_text.strip(), last_text.strip()
        if (first_text and not first_text.isdigit()) or (last_text and not last_text.isdigit()):
            return None
        if not first_text:
            if not last_text:
                return None
            suffix = _range_number(last_text)
            if suffix == 0 or size == 0:
                continue  # unsatisfiable on its own
            wanted.append((max(0, size - suffix), size - 1))
            continue
        if last_text and _digits_less(last_text, first_text):
            return None  # §14.1.1: an invalid range-spec makes the whole header invalid
        first = _range_number(first_text)
        if first >= size:
            continue
        last = min(_range_number(last_text), size - 1) if last_text else size - 1
        wanted.append((first, last))
    if not wanted:
        return "unsatisfiable"
    # Overlapping or touching ranges are merged (§14.2 allows it), so "0-,0-,0-..." cannot
    # make us send the file many times over.
    wanted.sort()
    merged = [wanted[0]]
    for first, last in wanted[1:]:
        previous_first, previous_last = merged[-1]
        if first <= previous_last + 1:
            merged[-1] = (previous_first, max(previous_last, last))
        else:
            merged.append((first, last))
    return merged


#: Range numbers may have any number of digits (RFC 9110 §14.1.1), but int() refuses more
#: than 4,300 of them; past this many digits a number is past the end of any file.
_RANGE_DIGITS_MAX: Final = 18


def _range_number(digits: bytes) -> int:
    significant = digits.lstrip(b"0")
    if len(significant) > _RANGE_DIGITS_MAX:
        return 10**_RANGE_DIGITS_MAX
    return int(significant or b"0")


def _digits_less(left: bytes, right: bytes) -> bool:
    """``int(left) < int(right)`` for ASCII digit strings of any length."""
    left, right = left.lstrip(b"0"), right.lstrip(b"0")
    return (len(left), left) < (len(right), right)


def _accepted_encodings(value: bytes) -> dict[str, float]:
    """The content codings an Accept-Encoding value accepts, with their q (above zero)."""
    accepted: dict[str, float] = {}
    refused: set[str] = set()
    for item in value.decode("latin-1").split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number.strip())
                except ValueError:
                    quality = 0.0
        if name and quality > 0:
            accepted[name] = max(quality, accepted.get(name, 0.0))
        elif name:
            refused.add(name)
    wildcard = accepted.pop("*", None)
    if wildcard is not None:
        for name, _ in _PRECOMPRESSED:
            accepted.setdefault(name, wildcard)
    return {name: quality for name, quality in accepted.items() if name not in refused}


async def _simple(
    send: Send,
    status: int,
    text: str,
    extra_headers: list[tuple[bytes, bytes]],
    method: str,
) -> None:
    body = (text + "\n").encode("utf-8") if text else b""
    await _send_whole(send, status, body, b"text/plain; charset=utf-8", method, extra_headers)


async def _send_whole(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    method: str,
    extra_headers: list[tuple[bytes, bytes]],
) -> None:
    headers = [
        *extra_headers,
        (b"content-type", content_type),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send(
        {
            "type": "http.response.body",
            "body": b"" if method == "HEAD" else body,
            "more_body": False,
        }
    )
