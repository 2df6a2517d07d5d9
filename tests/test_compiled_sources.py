"""Rules for the modules scripts/compile.py compiles with mypyc, checked on their source.

Behaviour tests run on the compiled build too (``make pytest-compiled``), but a rule that only
bites in an error path is easy to break unseen; this test reads the source instead.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _compiled_modules() -> list[Path]:
    spec = importlib.util.spec_from_file_location("_compile_script", ROOT / "scripts/compile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return [ROOT / "src" / name for name in module.MODULES]


def test_compiled_modules_raise_with_chained_not_a_bare_from() -> None:
    """mypyc ignores ``raise X from cause``; ``raise chained(X, cause) from cause`` keeps it."""
    offenders = []
    modules = _compiled_modules()
    assert len(modules) > 5
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Raise) or node.cause is None:
                continue
            raised = node.exc
            if not (
                isinstance(raised, ast.Call)
                and isinstance(raised.func, ast.Name)
                and raised.func.id == "chained"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"use `raise chained(error, cause) from cause` at {offenders}"


def test_compiled_modules_never_suspend_inside_an_except_or_finally_block() -> None:
    """A compiled generator or coroutine that yields or awaits inside ``except`` leaves the
    handled exception in the thread's state (mypyc does not swap it per frame as CPython
    does): ``sys.exc_info()`` then showed a ConnectError long after the call that raised it,
    and a later compiled ``finally`` raised it again in an unrelated request. One that
    awaits inside ``finally`` loses the exception in flight: a cancelled ``serve()`` task
    returned as if it had finished."""
    offenders = []
    for path in _compiled_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            blocks = [handler.body for handler in node.handlers] + [node.finalbody]
            for block in blocks:
                for inner in (n for statement in block for n in ast.walk(statement)):
                    if isinstance(inner, ast.Await | ast.Yield | ast.YieldFrom):
                        offenders.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert not offenders, f"move the yield/await out of the except/finally block at {offenders}"
