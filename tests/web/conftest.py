"""Fixtures for the web pages: a fresh media root and database per test, keys per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runtime.config import Settings
from store import db
from store.models import Recording
from tests.support.live_server import LiveServer

READY = {
    "title": "春季新品直播 Spring launch",
    "source": "tus",
    "original_filename": "spring_live.mp4",
    "size_bytes": 123_456_789,
    "status": "ready",
    "duration": 3725.4,
    "container": "mov,mp4,m4a,3gp,3g2,mj2",
    "video_codec": "h264",
    "audio_codec": "aac",
    "width": 1280,
    "height": 720,
    "rotation": 0,
    "fps": 29.97002997,
    "variable_frame_rate": False,
    "audio_sample_rate": 48000,
    "audio_channels": 2,
}


@pytest.fixture
def add_recording(settings: Settings) -> Callable[..., str]:
    """Insert a recording row (defaults: a ready 720p MP4) and return its id."""

    def add(**fields: Any) -> str:
        with db.session_scope(settings.database_url) as session:
            row = Recording(**{**READY, **fields})
            session.add(row)
            session.flush()
            return row.id

    return add


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    yield server
    server.stop()
