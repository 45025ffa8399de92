"""Fixtures for clip rendering (the media helpers live in ``tests/services/clips/clip_media.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config import Settings
from tests.services.clips.clip_media import corrupt_copy, make_source, register_presets, store_recording


@pytest.fixture(scope="session")
def clip_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("clip-source") / "live.mp4")


@pytest.fixture
def corrupt_source(clip_source: Path, tmp_path: Path) -> Path:
    return corrupt_copy(clip_source, tmp_path / "corrupt.mp4")


@pytest.fixture
def small_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    register_presets(monkeypatch)


@pytest.fixture
def stored_recording(settings: Settings, clip_source: Path) -> str:
    return store_recording(settings, clip_source)
