"""``wirekit get|post|put|patch|delete|head URL [ITEMS]``: one HTTP request from the shell.

httpie-style request items (see :mod:`wirekit.cli._items`), the body on stdout (pretty JSON
on a terminal, the exact bytes otherwise), heads with ``-v``/``-h``, a phase waterfall with
``--timing``, and resumable downloads with ``-o FILE --continue``.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.json import JSON
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from wirekit._models.messages import Request, Response
from wirekit._models.url import URL
from wirekit.cli._items import ItemError, RequestItems, parse_items
from wirekit.cli._output import (
    EXIT_FAILURE,
    EXIT_HTTP_CLIENT_ERROR,
    EXIT_HTTP_SERVER_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    Output,
    OutputError,
    add_common_options,
    exit_code_for,
    positive_seconds,
    write_stdout_bytes,
)
from wirekit.client._sync.client import Client
from wirekit.client.auth import BasicAuth, DigestAuth
from wirekit.client.config import (
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    Timeout,
)
from wirekit.errors import InvalidURL, WirekitError

__all__ = [
    "DOWNLOAD_CHUNK_BYTES",
    "METHODS",
    "TIMING_BAR_WIDTH",
    "DownloadError",
    "add_parser",
    "client_timeout",
    "complete_url",
    "run",
]

#: The commands this module adds, each sending the method of the same name.
METHODS = ("get", "post", "put", "patch", "delete", "head")
#: Bytes read from the network per write to the ``-o`` file (a balance of syscalls and memory).
DOWNLOAD_CHUNK_BYTES = 64 * 1024
#: Characters of the longest bar in the ``--timing`` waterfall.
TIMING_BAR_WIDTH = 36

# RFC 9110 §14.4: "Content-Range: bytes first-last/complete" (complete may be "*").
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
# httpie's Accept for JSON requests: prefer JSON, accept anything.
_JSON_ACCEPT = "application/json, */*;q=0.5"

_EPILOG = """\
request items (httpie style; a backslash escapes a separator: \\: \\= \\@):
  Name:Value      request header             q==v          query parameter
  field=value     JSON string (or form) field field:=json  raw JSON value (42, true, [1])
  field@file      file upload (multipart/form-data)

examples:
  wirekit get http://127.0.0.1:8000/json q==search Accept:application/json
  wirekit post http://127.0.0.1:8000/anything name=ada age:=36 -v
  wirekit post http://127.0.0.1:8000/upload --form title=report file@report.pdf
  wirekit get http://127.0.0.1:8000/big.iso -o big.iso --continue
  wirekit head http://127.0.0.1:8000/ --timing

output: the body on stdout (raw bytes unless stdout is a terminal); --json prints status,
headers, timings (ms) and the body (text, or base64 when it is not UTF-8).
exit codes: 0 for 1xx-3xx, 4 for 4xx, 5 for 5xx; 6 DNS, 7 refused, 8 timeout, 9 TLS,
10 other network error, 2 bad command line.
"""


def _redirect_count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


class _IntermixedParser(argparse.ArgumentParser):
    """Lets options come after request items (``URL a=1 --form b@f``), as in httpie.

    Plain argparse takes URL and ITEM... in one go when it first meets a positional, so
    items after an option become "unrecognized arguments"; intermixed parsing fixes that.
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing:  # parse_known_intermixed_args calls back in here
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def add_parser(subparsers: Any) -> None:
    for method in METHODS:
        # add_help=False: -h means --headers here (as in httpie); --help still works.
        parser = subparsers.add_parser(
            method,
            help=f"send an HTTP {method.upper()} request and print the answer",
            description=f"Send one HTTP {method.upper()} request to URL and print the response.",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            add_help=False,
        )
        # The subparsers action builds its parsers from one class; switch this one to the
        # subclass above (adds no state of its own, so the swap is safe).
        parser.__class__ = _IntermixedParser
        _add_arguments(parser)
        parser.set_defaults(handler=run, method=method.upper())


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--help", action="help", help="show this help and exit")
    parser.add_argument("url", metavar="URL", help="http:// or https:// URL")
    parser.add_argument("items", nargs="*", metavar="ITEM", help="request items (see below)")
    body = parser.add_mutually_exclusive_group()
    body.add_argument(
        "-f", "--form", action="store_true", help="send fields form-encoded (multipart with files)"
    )
    body.add_argument(
        "-j",
        "--json-body",
        action="store_true",
        help="send fields as a JSON object (the default when there are fields)",
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "-v", "--verbose", action="store_true", help="print request and response heads too"
    )
    shown.add_argument("-h", "--headers", action="store_true", help="print only the response head")
    parser.add_argument(
        "--timing", action="store_true", help="print a waterfall of the request's phases"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="save the body to FILE")
    parser.add_argument(
        "-c",
        "--continue",
        dest="resume",
        action="store_true",
        help="with -o: resume a partial FILE (Range request)",
    )
    parser.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow redirects (default: yes)",
    )
    parser.add_argument(
        "--max-redirects",
        type=_redirect_count,
        default=DEFAULT_MAX_REDIRECTS,
        metavar="N",
        help=f"redirects to follow at most (default {DEFAULT_MAX_REDIRECTS})",
    )
    parser.add_argument("-a", "--auth", metavar="USER:PASS", help="credentials")
    parser.add_argument(
        "--auth-type", choices=("basic", "digest"), default="basic", help="default: basic"
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        metavar="S",
        help="total deadline in seconds, no phase limited to less (default: the client's, "
        f"{DEFAULT_TOTAL_TIMEOUT:g} s in all and {DEFAULT_READ_TIMEOUT:g} s of silence)",
    )
    parser.add_argument(
        "-k", "--insecure", action="store_true", help="do NOT verify TLS certificates"
    )
    parser.add_argument("--proxy", metavar="URL", help="http://, socks5:// or socks5h:// proxy")
    add_common_options(parser)


# -- building the request --------------------------------------------------------------------
#: "scheme://" at the start of a URL (RFC 3986 §3.1 scheme characters).
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def complete_url(url: str) -> str:
    """httpie's shorthands: ``:8000/x`` is localhost, and a URL without a scheme is http://."""
    if url.startswith(":"):
        return "http://localhost" + url
    if not _HAS_SCHEME.match(url):  # not "://" anywhere: a query may hold a whole URL
        return "http://" + url
    return url


def _request_options(args: argparse.Namespace, items: RequestItems) -> dict[str, Any]:
    """Keyword arguments for ``Client.request`` from the items and body options."""
    options: dict[str, Any] = {"headers": list(items.headers)}
    if items.query:
        options["params"] = list(items.query)
    multipart = bool(items.files)
    if (args.form or multipart) and items.json_fields:
        names = ", ".join(name for name, _ in items.json_fields)
        raise ItemError(f"raw JSON fields ({names}) cannot be sent in a form; drop --form/@files")
    if multipart:
        if args.json_body:
            raise ItemError("file uploads (field@file) are sent as multipart, not --json-body")
        options["files"] = list(items.files)
        if items.fields:
            options["data"] = list(items.fields)
    elif args.form:
        if items.fields:
            options["data"] = list(items.fields)
    elif items.fields or items.json_fields or args.json_body:
        document: dict[str, Any] = dict(items.fields)
        document.update(items.json_fields)
        if document or args.method not in ("GET", "HEAD", "DELETE"):
            options["json"] = document
        headers = {name.lower() for name, _ in items.headers}
        if "accept" not in headers:
            options["headers"].append(("Accept", _JSON_ACCEPT))
    return options


def _auth(args: argparse.Namespace) -> BasicAuth | DigestAuth | None:
    if args.auth is None:
        return None
    user, colon, password = args.auth.partition(":")
    if not colon:
        raise ItemError("--auth needs USER:PASSWORD (a colon between them)")
    return DigestAuth(user, password) if args.auth_type == "digest" else BasicAuth(user, password)


# -- printing ----------------------------------------------------------------------------
def _request_head(request: Request) -> str:
    url = request.url
    target = url.raw_path
    host = url.netloc
    lines = [f"{request.method} {target} HTTP/1.1"]
    if "host" not in request.headers:
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in request.headers.multi_items()]
    return "\n".join(lines)


def _response_head(response: Response) -> str:
    lines = [f"{response.http_version} {response.status_code} {response.reason}"]
    lines += [f"{name}: {value}" for name, value in response.headers.multi_items()]
    return "\n".join(lines)


def _print_head(out: Output, head: str) -> None:
    first, _, rest = head.partition("\n")
    out.line((first, "bold cyan"))
    for line in rest.splitlines():
        name, _, value = line.partition(": ")
        out.line((name, "cyan"), ": ", value)
    out.line("")


def _print_body(out: Output, response: Response) -> None:
    content = response.content
    if not content:
        return
    if not sys.stdout.isatty():
        # Exactly the bytes received: pipes and redirects (> file) must stay byte-exact.
        write_stdout_bytes(content)
        return
    content_type = response.headers.get("content-type", "").lower()
    if "json" in content_type:
        try:
            out.print(JSON(response.text))
            return
        except ValueError:
            pass  # declared JSON but is not: show it as text
    try:
        text = content.decode(response.encoding or "utf-8")
    except (LookupError, UnicodeDecodeError):
        out.line((f"[binary body: {len(content)} bytes; use -o FILE to save it]", "yellow"))
        return
    out.print(Text(text), end="" if text.endswith("\n") else "\n")


def _phases(timings: dict[str, float]) -> list[tuple[str, float, float]]:
    """(phase, start, end) in seconds from the start, for the phases the request went through.

    Every timing is the time from the request's start to the end of its phase (so a phase
    starts where the one before it ended); a phase a reused connection skipped is absent."""
    rows: list[tuple[str, float, float]] = []
    clock = 0.0
    for key, label in (
        ("dns", "DNS"),
        ("connect", "connect"),
        ("tls", "TLS"),
        ("request_sent", "send"),
        ("first_byte", "waiting (first byte)"),
        ("body_done", "download"),
    ):
        end = timings.get(key)
        if end is None:
            continue
        end = max(end, clock)
        rows.append((label, clock, end))
        clock = end
    return rows


def _print_waterfall(out: Output, response: Response, *, to_stderr: bool = False) -> None:
    rows = _phases(response.timings)
    total = max([end for _, _, end in rows] + [response.elapsed or 0.0])
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    # No column wraps, so a phase name is never split over two lines (scripts read this
    # table); at 80 columns, the width of piped output, every column fits whole.
    table.add_column("phase", no_wrap=True)
    table.add_column("start ms", justify="right", no_wrap=True)
    table.add_column("took ms", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, overflow="crop")
    scale = TIMING_BAR_WIDTH / total if total > 0 else 0.0
    for name, start, end in rows:
        offset = min(round(start * scale), TIMING_BAR_WIDTH - 1)
        width = max(1, min(round((end - start) * scale), TIMING_BAR_WIDTH - offset))
        bar = Text(" " * offset) + Text("█" * width, style="green")
        table.add_row(name, f"{start * 1000:.2f}", f"{(end - start) * 1000:.2f}", bar)
    table.add_row(Text("total", style="bold"), "", f"{total * 1000:.2f}", "")
    if to_stderr:
        out.errors.print(table)
    else:
        out.print(table)


def _summary(
    response: Response, *, code: int, body: bytes | None, saved_to: str | None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "ok": code == EXIT_OK,
        "exit_code": code,
        "method": response.request.method,
        "url": str(response.url),
        "status": response.status_code,
        "reason": response.reason,
        "http_version": response.http_version,
        "headers": [[name, value] for name, value in response.headers.multi_items()],
        "redirects": [str(hop.url) for hop in response.history],
        "elapsed_ms": round((response.elapsed or 0.0) * 1000, 3),
        "timings_ms": {key: round(value * 1000, 3) for key, value in response.timings.items()},
    }
    if saved_to is not None:
        document["saved_to"] = saved_to
    elif body is not None:
        try:
            document["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            document["body_base64"] = base64.b64encode(body).decode("ascii")
    return document


def _status_code(out: Output, response: Response) -> int:
    status = response.status_code
    if status < 400:
        return EXIT_OK
    if not out.json_mode:
        out.errors.print(
            Text("error: ", style="bold red")
            + Text(f"{response.url.host} answered {status} {response.reason}")
        )
    return EXIT_HTTP_SERVER_ERROR if status >= 500 else EXIT_HTTP_CLIENT_ERROR


# -- downloads ---------------------------------------------------------------------------
class DownloadError(Exception):
    """The server's answer does not fit the partial file (exit code 1, file left as it was)."""


def _progress(total: int | None, completed: int) -> Progress | None:
    """A progress bar on stderr, only when stderr is a terminal (never in logs or pipes)."""
    if not sys.stderr.isatty():
        return None
    console = Console(file=sys.stderr)
    progress = Progress(
        TextColumn("[bold]downloading"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    progress.add_task("download", total=total, completed=completed)
    return progress


def _close_quietly(file: IO[bytes]) -> None:
    """Close a file a failure already interrupts (its own error would hide that one)."""
    try:
        file.close()
    except OSError:
        pass


def _download(
    client: Client, args: argparse.Namespace, options: dict[str, Any], out: Output
) -> tuple[Response, int, str]:
    """Stream the body to ``args.output``; returns (response, exit code, note)."""
    path = Path(args.output)
    have = path.stat().st_size if args.resume and path.is_file() else 0
    headers: list[tuple[str, str]] = list(options.pop("headers"))
    # Identity: the saved bytes must be the resource itself, and byte ranges of a
    # compressed representation would not line up with the file on disk (RFC 9110 §14.1.2).
    headers.append(("Accept-Encoding", "identity"))
    if have:
        headers.append(("Range", f"bytes={have}-"))
    with client.stream(args.method, args.url, headers=headers, **options) as response:
        status = response.status_code
        if status == 416 and have:
            # RFC 9110 §15.5.17: the 416 names the full length ("bytes */LENGTH"); only a
            # file of exactly that length is complete, anything else is a different file.
            length_text = response.headers.get("content-range", "").rpartition("/")[2].strip()
            if length_text != str(have):
                raise DownloadError(
                    f"{response.url.host} answered 416 for bytes {have}- and the resource is "
                    f"{length_text or 'of unknown length'} bytes: {path} ({have} bytes) is not "
                    "a part of it; remove it to download again"
                )
            return response, EXIT_OK, f"{path} is already complete ({have} bytes)"
        if status >= 400:
            response.read()
            return response, _status_code(out, response), ""
        if have and status not in (200, 206):
            # Resuming: only the rest (206) or the whole resource again (200) may touch FILE.
            raise DownloadError(
                f"{response.url.host} answered {status} {response.reason} to a resumed "
                f"download: {path} left unchanged"
            )
        mode = "wb"
        start = 0
        if status == 206 and have:
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if match is None or int(match.group(1)) != have:
                raise DownloadError(
                    f"{response.url.host} answered 206 with Content-Range "
                    f"{response.headers.get('content-range')!r}, not bytes {have}-: "
                    f"{path} left unchanged"
                )
            mode, start = "ab", have
        length = response.headers.get("content-length")
        total = start + int(length) if length and length.isdigit() else None
        try:
            file = path.open(mode)
        except OSError as exc:  # no such directory, a directory, no permission...
            raise OutputError(str(path), exc) from None
        progress = _progress(total, start)
        written = start
        if progress is not None:
            progress.start()
        try:
            for chunk in response.iter_raw(DOWNLOAD_CHUNK_BYTES):
                try:
                    file.write(chunk)
                except OSError as exc:  # a full disk
                    raise OutputError(str(path), exc) from None
                written += len(chunk)
                if progress is not None:
                    progress.update(progress.task_ids[0], completed=written)
            try:
                file.close()  # writes the last bytes: a full disk may show only here
            except OSError as exc:
                raise OutputError(str(path), exc) from None
        finally:
            if progress is not None:
                progress.stop()
            if not file.closed:
                _close_quietly(file)
        if start:
            how = f"resumed at byte {start}"
        elif have:
            how = f"{response.url.host} sent the whole body (status {status}): started again"
        else:
            how = "saved"
        return response, EXIT_OK, f"{how}: {path} ({written} bytes)"


# -- the command -------------------------------------------------------------------------
def _warn_insecure(out: Output) -> None:
    out.errors.print(
        Text(
            "WARNING: --insecure: TLS certificates are NOT verified; anyone on the network "
            "path can read and change this exchange.",
            style="bold red",
        )
    )


def run(args: argparse.Namespace) -> int:
    out = Output(json_mode=args.json)
    args.url = complete_url(args.url)
    try:
        items = parse_items(args.items)
        options = _request_options(args, items)
        auth = _auth(args)
        if args.resume and not args.output:
            raise ItemError("--continue needs -o FILE")
    except ItemError as exc:
        return out.error(str(exc), code=EXIT_USAGE)
    if args.insecure:
        _warn_insecure(out)
    client_options: dict[str, Any] = {}
    timeout = client_timeout(args.timeout)
    if timeout is not None:
        client_options["timeout"] = timeout
    try:
        return _send(out, args, options, auth, client_options)
    except InvalidURL as exc:
        return out.error(str(exc), code=EXIT_USAGE)
    except WirekitError as exc:
        code, message = exit_code_for(exc)
        host = _host_of(args.url)
        if host and host not in message:
            # Some client messages (the total deadline) do not say where: the user must know.
            message = f"{args.method} {host}: {message}"
        return out.error(message, code=code)


def client_timeout(seconds: float | None) -> Timeout | None:
    """The client's Timeout for ``--timeout S`` (None: the client's default).

    S is the deadline of the whole request, and no phase may stop it sooner: the client's
    per-phase limits (30 s of read silence...) would otherwise end a request that --timeout
    allows (a slow server thinking for 40 s with --timeout 60)."""
    if seconds is None:
        return None
    return Timeout(seconds, connect=seconds, read=seconds, write=seconds, pool=seconds)


def _host_of(url: str) -> str:
    try:
        return URL(url).netloc
    except WirekitError:
        return ""


def _send(
    out: Output,
    args: argparse.Namespace,
    options: dict[str, Any],
    auth: BasicAuth | DigestAuth | None,
    client_options: dict[str, Any],
) -> int:
    with Client(
        verify=not args.insecure,
        proxy=args.proxy,
        follow_redirects=args.follow,
        max_redirects=args.max_redirects,
        auth=auth,
        retry=0,  # a command line run answers at once; the user retries by hand
        **client_options,
    ) as client:
        if args.output:
            try:
                response, code, note = _download(client, args, options, out)
            except DownloadError as exc:
                return out.error(str(exc), code=EXIT_FAILURE)
            return _report(out, args, response, code, note=note, saved_to=args.output)
        response = client.request(args.method, args.url, **options)
    return _report(out, args, response, _status_code(out, response))


def _report(
    out: Output,
    args: argparse.Namespace,
    response: Response,
    code: int,
    *,
    note: str = "",
    saved_to: str | None = None,
) -> int:
    if out.json_mode:
        body = None if saved_to is not None or args.method == "HEAD" else response.content
        document = _summary(response, code=code, body=body, saved_to=saved_to)
        if note:
            document["note"] = note
        out.json(document)
        return code
    if args.verbose:
        for hop in [*response.history, response]:
            _print_head(out, _request_head(hop.request))
            _print_head(out, _response_head(hop))
    elif args.headers:
        _print_head(out, _response_head(response))
    if saved_to is not None:
        if note:
            out.errors.print(Text(note))
    elif not args.headers and args.method != "HEAD":
        _print_body(out, response)
    elif args.method == "HEAD" and not args.verbose and not args.headers:
        _print_head(out, _response_head(response))
    if args.timing:
        # After raw body bytes sent to a pipe or a file (> body.bin), the table goes to
        # stderr: what stdout holds stays exactly the body.
        raw_body_out = (
            saved_to is None
            and not args.headers
            and args.method != "HEAD"
            and bool(response.content)
            and not sys.stdout.isatty()
        )
        _print_waterfall(out, response, to_stderr=raw_body_out)
    return code
