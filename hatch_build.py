"""Hatch build hook: a regular wheel carries the mypyc-compiled modules of scripts/compile.py.

Editable installs (``pip install -e``, what ``make`` uses) stay pure Python, so a changed
``.py`` is never shadowed by a stale extension. A wheel build compiles when it can; without a
C compiler it warns and builds the pure-Python wheel, unless ``WIREKIT_REQUIRE_COMPILED=1``
(then it fails). ``WIREKIT_PURE=1`` skips compiling.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable" or os.environ.get("WIREKIT_PURE"):
            return
        output = self._output = Path(tempfile.mkdtemp(prefix="wirekit-compiled-"))
        try:
            built = _compile(Path(self.root), output)
        except BaseException as exc:  # SystemExit from the script included
            if os.environ.get("WIREKIT_REQUIRE_COMPILED"):
                raise RuntimeError(f"wirekit: compiling with mypyc failed: {exc}") from exc
            warnings.warn(
                f"wirekit: building a pure-Python wheel (mypyc compile failed: {exc})",
                stacklevel=1,
            )
            return
        for extension in built:
            build_data["force_include"][str(extension)] = str(extension.relative_to(output))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        output = getattr(self, "_output", None)
        if output is not None:
            shutil.rmtree(output, ignore_errors=True)  # the wheel has its copies now


def _compile(root: Path, output: Path) -> list[Path]:
    spec = importlib.util.spec_from_file_location(
        "_wirekit_compile", root / "scripts" / "compile.py"
    )
    if spec is None or spec.loader is None:
        raise RuntimeError("scripts/compile.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    built: list[Path] = module.build(output)
    return built
