"""The tree stays lint-clean and type-checks: ruff (lint and format) and mypy over the product packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [
    "liveslice",
    "api",
    "workers",
    "pipeline",
    "services",
    "store",
    "runtime",
    "studio",
    "distribution",
    "sidedata",
]


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name(name)
    return subprocess.run([str(script), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing_and_the_code_is_formatted() -> None:
    lint = _tool("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    layout = _tool("ruff", "format", "--check", ".")
    assert layout.returncode == 0, layout.stdout + layout.stderr


def test_mypy_passes_on_the_product_packages() -> None:
    result = _tool("mypy", *PRODUCT)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
