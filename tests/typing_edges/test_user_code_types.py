"""wirekit's public annotations against ordinary user code, under ``mypy --strict``.

Each test checks one snippet under ``snippets/``; all snippets are checked by ONE mypy run
(in-process, ``mypy.api.run``), shared by the tests. ``ok_*`` snippets are correct,
documented usage: mypy must report nothing for them. ``bad_*`` snippets are wrong code:
every line marked ``# expect-error`` must get an error.

(Found by the session-17 review of user code's typing; fixed since: ``HTTPTransport``'s
``verify=`` takes a path object, ``HTTPStatusError.request`` is a ``Request``, a client's
and a transport's ``with`` give the subclass (``Self``), ``dns.query``/``aquery`` return
the record type asked for, the package's lazy ``__getattr__`` is hidden from type checkers
(misspelled names were ``Any``), ``fetch`` returns ``bytes`` (or ``bytes | T`` with
``default=``), and docs/client.md's pool example narrows ``client.transport`` first.)
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # /work/main
SNIPPETS = Path(__file__).resolve().parent / "snippets"
EMPTY_CONFIG = Path(__file__).resolve().parent / "mypy.ini"

_LINE = re.compile(r"^(?P<path>[^:\n]+\.py):(?P<line>\d+): (?P<kind>error|note): (?P<msg>.*)$")


@pytest.fixture(scope="session")
def mypy_output() -> dict[str, list[tuple[int, str, str]]]:
    """Run mypy --strict once over every snippet; findings grouped by snippet file name."""
    from mypy import api

    spec = importlib.util.find_spec("wirekit")
    assert spec is not None
    assert spec.origin is not None
    assert Path(spec.origin).resolve().is_relative_to(ROOT / "src"), spec.origin
    files = sorted(str(p) for p in SNIPPETS.glob("*.py"))
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        stdout, stderr, _status = api.run(
            [
                "--strict",
                "--no-incremental",
                "--cache-dir=/tmp/review_typing_cache",
                "--python-version",
                "3.11",
                "--config-file",
                str(EMPTY_CONFIG),  # the snippets only: not the project's [tool.mypy] files
                "--show-error-codes",
                "--no-error-summary",
                "--hide-error-context",
                *files,
            ]
        )
    finally:
        os.chdir(old)
    found: dict[str, list[tuple[int, str, str]]] = {Path(f).name: [] for f in files}
    for line in stdout.splitlines():
        match = _LINE.match(line)
        if match:
            name = Path(match["path"]).name
            found.setdefault(name, []).append((int(match["line"]), match["kind"], match["msg"]))
    found["__raw__"] = [(0, "raw", stdout + stderr)]
    # The run must be real: a deliberately wrong snippet gets its errors.
    sanity = _missing_errors("sanity_wrong.py", found)
    if sanity:
        raise RuntimeError(f"mypy did not check wirekit usage (lines {sanity}):\n{stdout}{stderr}")
    return found


def _errors(name: str, found: dict[str, list[tuple[int, str, str]]]) -> list[str]:
    return [f"{name}:{line}: {msg}" for line, kind, msg in found[name] if kind == "error"]


def _missing_errors(name: str, found: dict[str, list[tuple[int, str, str]]]) -> list[int]:
    """Lines marked ``# expect-error`` that mypy let through."""
    source = (SNIPPETS / name).read_text().splitlines()
    expected = [n for n, text in enumerate(source, 1) if "# expect-error" in text]
    flagged = {line for line, kind, _ in found[name] if kind == "error"}
    return [n for n in expected if n not in flagged]


def _assert_clean(name: str, found: dict[str, list[tuple[int, str, str]]]) -> None:
    errors = _errors(name, found)
    assert not errors, f"mypy --strict rejects correct usage in snippets/{name}:\n" + "\n".join(
        errors
    )


def _assert_rejected(name: str, found: dict[str, list[tuple[int, str, str]]]) -> None:
    missing = _missing_errors(name, found)
    source = (SNIPPETS / name).read_text().splitlines()
    assert not missing, (
        f"mypy --strict accepts wrong code in snippets/{name}:\n"
        + "\n".join(f"  line {n}: {source[n - 1].strip()}" for n in missing)
        + "\nmypy said:\n"
        + ("\n".join(f"{name}:{number}: {k}: {m}" for number, k, m in found[name]) or "  (nothing)")
    )


def test_client_transport_connection_counts(
    mypy_output: dict[str, list[tuple[int, str, str]]],
) -> None:
    """docs/client.md ("Connection pool") looks at the pool through the client's transport,
    narrowed to ``HTTPTransport`` first (``Client.transport`` is typed as any transport).

    The example used to call ``client.transport.connection_counts()`` directly, which mypy
    refuses (``"Transport" has no attribute "connection_counts"``); this is the example as
    the docs now show it, type-checked."""
    _assert_clean("ok_transport_connection_counts.py", mypy_output)


def test_http_transport_verify_accepts_path(
    mypy_output: dict[str, list[tuple[int, str, str]]],
) -> None:
    """``wirekit.HTTPTransport(verify=pathlib.Path("ca.pem"))`` (and AsyncHTTPTransport).

    Expected: accepted: the transport hands ``verify`` to create_ssl_context, typed
    ``VerifyTypes = bool | str | os.PathLike[str] | ssl.SSLContext``, which fspath()s it;
    ``cert=`` on the same constructor takes path objects. mypy: ``Argument "verify" to
    "HTTPTransport" has incompatible type "Path"; expected "bool | str | SSLContext"``."""
    _assert_clean("ok_transport_verify_path.py", mypy_output)


def test_http_status_error_request_is_not_optional(
    mypy_output: dict[str, list[tuple[int, str, str]]],
) -> None:
    """httpx's documented idiom::

        except wirekit.HTTPStatusError as exc:
            print(f"... {exc.response.status_code} while requesting {exc.request.url!r}.")

    Expected: type-checks: HTTPStatusError.__init__ requires ``request: Request`` and
    raise_for_status() always gives one. mypy: ``Item "None" of "Request | None" has no
    attribute "url"  [union-attr]``: the subclass inherits WirekitError.request typed
    ``Request | None``."""
    _assert_clean("ok_http_status_error_request.py", mypy_output)


def test_client_subclass_context_manager_returns_subclass(
    mypy_output: dict[str, list[tuple[int, str, str]]],
) -> None:
    """::

        class ApiClient(wirekit.Client):
            def users(self) -> list[str]: ...
        with ApiClient(base_url="http://api.test") as api:
            api.users()
        # and the same with AsyncClient / async with

    Expected: ``api`` is an ApiClient (``__enter__`` returns self). mypy: ``"Client" has no
    attribute "users"`` and ``"AsyncClient" has no attribute "users"`` [attr-defined]:
    ``__enter__``/``__aenter__`` are annotated ``-> Client`` / ``-> AsyncClient`` instead of
    ``-> Self``."""
    _assert_clean("ok_client_subclass_enter.py", mypy_output)


def test_dns_query_record_type_follows_rdtype(
    mypy_output: dict[str, list[tuple[int, str, str]]],
) -> None:
    """docs/net/dns.md's example::

        records = dns.query("example.test", "MX", server="127.0.0.1", port=port, timeout=2)
        for record in records:
            print(record.preference, record.exchange, record.ttl)

    Expected: type-checks (an "MX" query returns MXRecord objects; likewise "TXT" and
    ``.text`` with aquery). mypy: ``Item "ARecord" of "ARecord | AAAARecord | ..." has no
    attribute "preference"  [union-attr]`` (16 such errors): query/aquery return
    ``list[Record]`` whatever the literal rdtype; they need overloads on
    ``Literal["MX"] -> list[MXRecord]`` etc."""
    _assert_clean("ok_dns_query_mx.py", mypy_output)


def test_module_getattr_hides_misspelled_names(
    mypy_output: dict[str, list[tuple[int, str, str]]],
) -> None:
    """Wrong code::

        from wirekit import AsyncClinet
        client = wirekit.Clinet(timeout=5.0)
        response = wirekit.gett("http://example.test/")
        wirekit.net.lookup("localhost")      # without import wirekit.net

    Expected: mypy --strict reports each (they raise AttributeError/ImportError at run
    time). mypy: nothing at all; every one is ``Any``: wirekit/__init__.py's lazy-loading
    ``def __getattr__(name: str) -> Any`` tells mypy that *every* attribute of the package
    exists. (Hide it from the type checker, ``if not TYPE_CHECKING:``, since the lazy names
    are already imported under TYPE_CHECKING.)"""
    _assert_rejected("bad_module_getattr.py", mypy_output)


def test_fetch_return_type_is_not_any(mypy_output: dict[str, list[tuple[int, str, str]]]) -> None:
    """Wrong code::

        text: str = wirekit.fetch("http://example.test/")
        length: int = wirekit.fetch(url, default=None, timeout=2.0)

    Expected: errors: fetch "returns the body as bytes" (docs/client.md), or ``default``
    (so ``bytes`` / ``bytes | T`` via an overload). mypy: accepted, fetch is annotated
    ``-> Any`` (and ``default: Any``)."""
    _assert_rejected("bad_fetch_any.py", mypy_output)


def test_response_headers_get_and_cookies_are_typed(
    mypy_output: dict[str, list[tuple[int, str, str]]],
) -> None:
    """``response.headers.get(name)`` is ``str | None`` (``str | T`` with a default) and
    ``response.cookies`` a ``Cookies`` jar: both were ``Any``, so ``n: int =
    response.headers.get("content-length")`` and a misspelled jar method passed."""
    _assert_clean("ok_response_headers_cookies.py", mypy_output)
    _assert_rejected("bad_response_any_leaks.py", mypy_output)
