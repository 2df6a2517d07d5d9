"""Fixtures for the command-line tests: run the real entry point in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.net.dns_server import DNSServer, running_dns_server

# Colour switches a developer's shell might carry; each test sets what it needs.
_COLOUR_VARIABLES = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _COLOUR_VARIABLES}
    env.update(extra)
    return env


@pytest.fixture
def wirekit() -> Callable[..., Result]:
    """Run ``python -m wirekit.cli ARGS`` (the console script's code path) and capture it."""

    def run(*args: str) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "wirekit.cli", *args],
            capture_output=True,
            text=True,
            timeout=50,
            env=cli_environment(),
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def dns_server() -> Iterator[DNSServer]:
    with running_dns_server() as server:
        yield server
