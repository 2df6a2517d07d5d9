"""Puts bench/ on ``sys.path`` so the self-tests import the harness modules as run.py does."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = str(Path(__file__).resolve().parent.parent)
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)
