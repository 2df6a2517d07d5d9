"""Entry point of the ``wirekit`` command: dispatches to one module per subcommand."""

from __future__ import annotations

import sys

#: wirekit.cli._output.EXIT_INTERRUPTED, spelled out: importing _output (rich) is part of
#: the slow start a Ctrl-C may interrupt.
_EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C while the command modules import (about half a second: rich, dnspython, the
    # client), before app.run's own handler is in place: exit 130, no traceback.
    try:
        from wirekit.cli.app import run

        return run(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        return _EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
