"""The ``wirekit`` command: an argparse dispatcher over one module per subcommand.

To add a command (``get``, ``post``, ``serve``, ``bench``...), write ``wirekit/cli/NAME.py``
with two functions and add its module path to :data:`COMMAND_MODULES`:

* ``add_parser(subparsers) -> None``: call ``subparsers.add_parser(NAME, help=..., epilog=...,
  formatter_class=argparse.RawDescriptionHelpFormatter)``, add its arguments, call
  ``_output.add_common_options(parser)`` (for ``--json``) and
  ``parser.set_defaults(handler=run)``. One module may add several commands (see ifaces.py).
* ``run(args) -> int``: do the work, print through ``_output.Output(json_mode=args.json)``,
  return an exit code.
  Let wirekit errors escape: :func:`run` turns them into the shared exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from wirekit.__version__ import __version__
from wirekit.cli._output import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Output,
    OutputError,
    exit_code_for,
)
from wirekit.errors import WirekitError

__all__ = ["COMMAND_MODULES", "build_parser", "run"]

#: Modules that each add one or more subcommands, in the order ``--help`` lists them.
COMMAND_MODULES: list[str] = [
    "wirekit.cli.serve",
    "wirekit.cli.dns",
    "wirekit.cli.ping",
    "wirekit.cli.ifaces",
    "wirekit.cli.get",
    "wirekit.cli.bench",
]

_EPILOG = """\
examples:
  wirekit get :8000/json q==1 X-Trace:on   GET with a query item and a header
  wirekit post :8000/items name=widget n:=3   POST a JSON body
  wirekit get :8000/big.iso -o big.iso --continue   download, resuming
  wirekit get https://127.0.0.1:8443/ --timing   phase waterfall
  wirekit serve examples.app:app --port 8000   serve a WSGI or ASGI app
  wirekit serve --static ./public       serve a directory
  wirekit bench http://127.0.0.1:8000/ -n 10000 -c 64   load test (loopback only)
  wirekit dns localhost                 addresses from the system resolver
  wirekit dns example.org MX --server 127.0.0.1 --port 5353
  wirekit ping 127.0.0.1:8080 -c 3      TCP connect checks with timing
  wirekit mac                           this machine's hardware address
  wirekit ifaces --json                 network interfaces as JSON

exit codes: 0 ok, 1 failure, 2 usage, 3 remote target refused (bench), 4 HTTP 4xx,
5 HTTP 5xx, 6 DNS failure, 7 connection refused, 8 timeout, 9 TLS failure,
10 other network error
"""


def build_parser() -> argparse.ArgumentParser:
    """The full parser, every registered command included."""
    parser = argparse.ArgumentParser(
        prog="wirekit",
        description="Network tools: fetch URLs, serve HTTP, load-test, resolve names, "
        "check ports, list interfaces.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wirekit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def run(argv: Sequence[str]) -> int:
    """Parse ``argv``, run the command, and return the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exit_:
        # argparse exits 0 for --help/--version and 2 for usage errors.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    output = Output(json_mode=getattr(args, "json", False))
    try:
        code: int = args.handler(args)
    except WirekitError as exc:
        code, message = exit_code_for(exc)
        return output.error(message, code=code)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _reader_gone()
    except OutputError as exc:
        return _output_failed(output, exc)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:
        return _output_failed(output, OutputError("stdout", exc, stdout=True))
    return code


def _output_failed(output: Output, exc: OutputError) -> int:
    """The output could not be written (a full disk, a missing directory): one line, exit 1."""
    if not exc.stdout:
        return output.error(str(exc), code=EXIT_FAILURE)
    # stdout is broken: say so on stderr (even with --json), then drop what stdout still
    # holds so the interpreter's flush at exit does not fail again (and exit 120).
    Output(json_mode=False).error(str(exc), code=EXIT_FAILURE)
    _detach_stdout()
    return EXIT_FAILURE


def _reader_gone() -> int:
    """stdout's reader went away (``| head``): quietly, as a shell pipeline expects."""
    _detach_stdout()
    return EXIT_BROKEN_PIPE


def _detach_stdout() -> None:
    # Point fd 1 at /dev/null so the interpreter's own flush at exit cannot fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
