"""The layers run one way: import-linter's contracts (pyproject.toml) hold, and a wrong import breaks them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "liveslice",
    "api",
    "workers",
    "pipeline",
    "services",
    "store",
    "runtime",
    "studio",
    "sidedata",
    "templates",
)


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the tree at ``root`` (its own pyproject.toml, its own packages first)."""
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(script), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The product packages and pyproject.toml, copied so a test can plant a wrong import."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        ("studio/planted.py", "import store.models", "Layers"),
        ("studio/planted_db.py", "import sqlalchemy", "studio and sidedata stay pure"),
        ("workers/planted.py", "import api.main", "Layers"),
        ("store/planted.py", "import services.ingest", "Layers"),
        ("pipeline/planted.py", "import fastapi", "HTTP lives at the API edge only"),
    ],
)
def test_a_wrong_import_breaks_a_contract(tree_copy: Path, module: str, wrong_import: str, contract: str) -> None:
    (tree_copy / module).write_text(f'"""Planted by a test."""\n\n{wrong_import}\n')
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    listing = " ".join(result.stdout.split())  # contract names wrap across lines in the listing
    verdict = re.search(re.escape(contract) + r".{0,200}?\b(KEPT|BROKEN)\b", listing)
    assert verdict is not None and verdict.group(1) == "BROKEN", result.stdout
    assert Path(module).stem in result.stdout


def test_no_test_folder_shadows_a_product_package() -> None:
    """A ``tests/<name>/__init__.py`` would make ``<name>`` importable as the test folder (``pytest
    tests/pipeline`` once failed on ``pipeline.clipmaking``): test folders are not packages."""
    tests = ROOT / "tests"
    packages = [init.parent.relative_to(tests) for init in tests.rglob("__init__.py")]
    assert packages == [Path("support")], packages
    assert not set(PACKAGES) & {p.parts[0] for p in packages}
