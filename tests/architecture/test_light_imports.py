"""The API process loads no media library: PyAV, numpy and Pillow load only where media is decoded or drawn.

Each check runs in a fresh interpreter, so what other tests imported does not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("av", "numpy", "PIL", "cv2", "moviepy", "scenedetect")


def loaded_after(code: str, tmp_path: Path, libraries: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of ``libraries`` a fresh interpreter has imported after running ``code`` in the tree's root."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {list(libraries)!r} if m in sys.modules]))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env.update(PYTHONPATH=str(ROOT), LIVESLICE_MEDIA_ROOT=str(tmp_path / "media"))
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_create_app_loads_no_media_library(tmp_path: Path) -> None:
    assert loaded_after("import api.main\napi.main.create_app()", tmp_path) == []


def test_create_app_loads_no_celery(tmp_path: Path) -> None:
    """Celery loads only when a job is sent (``workers.dispatch``), not with the API's routes."""
    assert loaded_after("import api.main\napi.main.create_app()", tmp_path, ("celery", "billiard")) == []


@pytest.mark.parametrize(
    "module",
    [
        "studio.render.presets",
        "studio.cards.content",
        "studio.cards.theme",
        "studio.clip.types",
        "studio.highlights.run",
        "studio.highlights.record",
        "store.highlights",
        "services.clips",
        "pipeline.analysis",
    ],
)
def test_light_modules_stay_light(module: str, tmp_path: Path) -> None:
    assert loaded_after(f"import {module}", tmp_path) == []


def test_lazy_packages_still_export_everything(tmp_path: Path) -> None:
    """Every name a package re-exports lazily resolves (and is the submodule's own object)."""
    code = """
import importlib
for package in ("studio.render", "studio.cards", "studio.highlights", "studio.signals"):
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(n for names in module._SOURCES.values() for n in names.split()), package
    for name in module.__all__:
        assert getattr(module, name) is not None, (package, name)
    assert set(module.__all__) <= set(dir(module)), package
"""
    assert set(loaded_after(code, tmp_path)) >= {"numpy", "PIL", "av"}
