"""Fixtures for the ingest endpoint tests: a real uvicorn server, API keys, and generated media."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from runtime.config import Settings
from store import keys as key_store
from store.db import session_scope
from studio.ffmpeg import run_ffmpeg
from tests.conftest import leader_for_key
from tests.support.live_server import LiveServer


@pytest.fixture
def serve() -> Iterator[Callable[[Settings], LiveServer]]:
    """Start a server for some settings; every server started is stopped after the test."""
    started: list[LiveServer] = []

    def start(settings: Settings) -> LiveServer:
        server = LiveServer(settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(serve: Callable[[Settings], LiveServer], settings: Settings) -> LiveServer:
    return serve(settings)


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    """Secrets by role, plus ``revoked`` (a content key that was revoked)."""
    out: dict[str, str] = {}
    with session_scope(settings.database_url) as session:
        for role in ("admin", "content", "merchant", "leader"):
            leader = leader_for_key(session, role, None)
            out[role] = key_store.create_key(session, name=f"t-{role}", role=role, leader_id=leader).secret
        revoked = key_store.create_key(session, name="t-revoked", role="content")
        key_store.revoke_key(session, key_id=revoked.id)
        out["revoked"] = revoked.secret
    return out


@pytest.fixture
def content(server: LiveServer, keys: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of ``server`` with a content key."""
    with server.client(keys["content"]) as client:
        yield client


def _ffmpeg(out: Path, *args: str) -> Path:
    if not out.exists():
        tmp = out.with_name(f"tmp-{out.name}")
        run_ffmpeg([*args, "-y", str(tmp)])
        tmp.replace(out)
    return out


@pytest.fixture(scope="session")
def noisy_mp4(media_dir: Path) -> Path:
    """About 5 MB (480x270) of hard-to-compress H.264 (moov at the end): the multi-MB resumable upload."""
    return _ffmpeg(
        media_dir / "noisy.mp4",
        "-f",
        "lavfi",
        "-i",
        "nullsrc=s=480x270:r=25:d=1,geq=lum='random(1)*255':cb=128:cr=128",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv420p",
    )


@pytest.fixture(scope="session")
def audio_only(media_dir: Path) -> Path:
    return _ffmpeg(
        media_dir / "voice.m4a", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1", "-c:a", "aac"
    )


@pytest.fixture(scope="session")
def truncated_mp4(media_dir: Path) -> Path:
    """An MP4 cut off before its moov atom (what a crashed recorder leaves)."""
    full = _ffmpeg(
        media_dir / "moov-at-end.mp4",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    )
    out = media_dir / "truncated.mp4"
    if not out.exists():
        data = full.read_bytes()
        assert data.rfind(b"moov") > data.find(b"mdat"), "fixture needs moov after mdat"
        out.write_bytes(data[: len(data) // 2])
    return out


@pytest.fixture(scope="session")
def text_file(media_dir: Path) -> Path:
    out = media_dir / "notes.txt"
    out.write_text("这不是视频 — this is a shopping list, not a recording.\n" * 200, encoding="utf-8")
    return out
