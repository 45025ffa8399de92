"""Fixtures for pipeline tests: a small stored recording with side data, small presets, job options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.clipmaking import pipeline_options
from runtime.config import Settings
from studio.ffmpeg import run_ffmpeg
from tests.services.clips.clip_media import SMALL, make_source, register_presets, store_recording

CHAT = "ts,user,text,kind\n" + "".join(f"{2 + i * 0.1:.1f},u{i},上链接,comment\n" for i in range(30))
ORDERS = "ts,sku,qty,amount,order_id\n" + "".join(f"{5 + i * 0.1:.1f},LS-0002,1,59.90,O{i}\n" for i in range(20))
LEADERS = [{"id": "wang", "name": "小王团长"}, {"id": "lily", "name": "Lily"}]


@pytest.fixture(scope="session")
def pipeline_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("pipeline-source") / "live.mp4")


@pytest.fixture
def small_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    register_presets(monkeypatch)


@pytest.fixture
def recording(settings: Settings, pipeline_source: Path, small_presets: None) -> str:
    """A probed 8 s recording with catalog, timeline, transcript, chat and orders."""
    from services.sidedata_import import import_side_data
    from store.db import get_sessionmaker

    rec_id = store_recording(settings, pipeline_source)
    session = get_sessionmaker(settings.database_url)()
    try:
        for kind, name, text in (("chat", "chat.csv", CHAT), ("orders", "orders.csv", ORDERS)):
            import_side_data(settings, session, kind=kind, data=text.encode(), filename=name, recording_id=rec_id)
    finally:
        session.close()
    return rec_id


def small_options(**overrides: Any) -> dict[str, Any]:
    """Two 3-4 s clips in the small preset, with two leaders."""
    values: dict[str, Any] = {"clips": 2, "presets": [SMALL.name], "min_len": 3.0, "max_len": 4.0, "leaders": LEADERS}
    values.update(overrides)
    return pipeline_options(**values)


@pytest.fixture(scope="session")
def talk_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s of 640x360 video with a tone that swells: enough for a 10 s douyin render that takes a while."""
    out = tmp_path_factory.mktemp("crash-source") / "live.mp4"
    run_ffmpeg(
        [
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30:duration=30",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:sample_rate=48000:duration=30",
            "-af",
            "volume='if(between(t,12,20),1.0,0.1)':eval=frame",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "30",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(out),
        ],
        timeout=120,
    )
    return out
