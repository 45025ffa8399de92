"""Multipart ``POST /api/recordings`` against a real server: streamed to disk, probed, stored, or refused cleanly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from runtime.config import Settings
from store.db import session_scope
from store.models import Job, Recording
from studio.ffmpeg import run_ffmpeg
from tests.api.ingest.helpers import leftovers, sha256
from tests.support.live_server import LiveServer


def _post_file(client: httpx.Client, path: Path, name: str | None = None, **fields: str) -> httpx.Response:
    with path.open("rb") as handle:
        return client.post("/api/recordings", files={"file": (name or path.name, handle)}, data=fields)


def test_upload_is_probed_and_stored_byte_identical(content: httpx.Client, settings: Settings, small_mp4: Path) -> None:
    response = _post_file(
        content,
        small_mp4,
        "直播 replay.mp4",
        title="Spring sale live",
        stream_started_at="2024-05-01T20:00:00",
        timezone="Asia/Shanghai",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["title"] == "Spring sale live"
    assert body["source"] == "upload"
    assert body["original_filename"] == "直播 replay.mp4"
    assert body["stream_started_at"].startswith("2024-05-01T12:00:00+00:00")  # 20:00 in Shanghai, kept as UTC
    probe = body["probe"]
    assert probe["duration"] == pytest.approx(2.0, abs=0.15)
    assert (probe["width"], probe["height"]) == (320, 240)
    assert (probe["video_codec"], probe["audio_codec"]) == ("h264", "aac")
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, body["id"])
        assert recording is not None and recording.storage_key
        stored = settings.media_root / recording.storage_key
        jobs = session.scalars(select(Job).where(Job.recording_id == recording.id)).all()
    assert sha256(stored) == sha256(small_mp4)
    assert recording.size_bytes == small_mp4.stat().st_size
    assert [j.kind for j in jobs] == ["probe"]
    assert list((settings.media_root / "uploads").iterdir()) == []  # the staging file was moved, not copied


@pytest.mark.parametrize(
    ("fixture", "code", "words"),
    [
        ("text_file", "not_media", "notes.txt"),
        ("audio_only", "no_video", "no video"),
        ("truncated_mp4", "truncated_mp4", "truncated.mp4"),
        ("empty", "zero_length", "empty"),
    ],
)
def test_unusable_files_get_422_and_leave_nothing(
    content: httpx.Client,
    settings: Settings,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fixture: str,
    code: str,
    words: str,
) -> None:
    if fixture == "empty":
        path = tmp_path / "empty.mp4"
        path.write_bytes(b"")
    else:
        path = request.getfixturevalue(fixture)
    response = _post_file(content, path)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code
    assert words in detail["message"]
    assert ".part" not in detail["message"]  # names the user's file, not our staging file
    assert leftovers(settings) == []


def test_size_limit_from_content_length_and_while_streaming(
    serve: Callable[[Settings], LiveServer], settings: Settings, keys: dict[str, str], noisy_mp4: Path
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 1_000_000})
    server = serve(small)
    with server.client(keys["content"]) as client:
        declared = _post_file(client, noisy_mp4)
        assert declared.status_code == 413, declared.text
        assert declared.json()["detail"]["code"] == "too_large"
        assert "LIVESLICE_MAX_UPLOAD_BYTES" in declared.json()["detail"]["message"]

        boundary = "liveslice-test-boundary"

        def chunked() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'.encode()
            with noisy_mp4.open("rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk
            yield f"\r\n--{boundary}--\r\n".encode()

        streamed = client.post(
            "/api/recordings",
            content=chunked(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert streamed.status_code == 413, streamed.text
        assert streamed.json()["detail"]["code"] == "too_large"
    assert leftovers(settings) == []


def test_not_enough_disk_space_is_507(
    serve: Callable[[Settings], LiveServer], settings: Settings, keys: dict[str, str], small_mp4: Path
) -> None:
    server = serve(settings.model_copy(update={"min_free_bytes": 1 << 60}))
    with server.client(keys["content"]) as client:
        response = _post_file(client, small_mp4)
    assert response.status_code == 507, response.text
    assert "LIVESLICE_MIN_FREE_BYTES" in response.json()["detail"]["message"]
    assert leftovers(settings) == []


def test_malformed_requests_are_refused_with_reasons(
    content: httpx.Client, settings: Settings, small_mp4: Path
) -> None:
    wrong_type = content.post("/api/recordings", json={"file": "x"})
    assert wrong_type.status_code == 415
    assert "multipart/form-data" in wrong_type.json()["detail"]["message"]

    no_file = content.post("/api/recordings", files={"title": (None, "only a title")})
    assert no_file.status_code == 400
    assert "'file'" in no_file.json()["detail"]["message"]

    bad_zone = _post_file(content, small_mp4, timezone="Mars/Olympus")
    assert bad_zone.status_code == 422
    assert "Mars/Olympus" in bad_zone.json()["detail"]["message"]

    bad_time = _post_file(content, small_mp4, stream_started_at="yesterday evening")
    assert bad_time.status_code == 422
    assert "ISO 8601" in bad_time.json()["detail"]["message"]

    boundary = "cut-short"
    cut = content.post(
        "/api/recordings",
        content=f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'.encode()
        + small_mp4.read_bytes()[:1000],
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert cut.status_code == 400
    assert "closing boundary" in cut.json()["detail"]["message"]
    assert leftovers(settings) == []


def test_a_recording_without_audio_is_accepted_with_a_warning(
    content: httpx.Client, server: LiveServer, keys: dict[str, str], media_dir: Path, small_mp4: Path
) -> None:
    silent = media_dir / "silent.mp4"
    if not silent.exists():
        run_ffmpeg(["-y", "-i", str(small_mp4), "-an", "-c:v", "copy", str(silent)])
    response = _post_file(content, silent)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["probe"]["audio_codec"] is None
    assert len(body["warnings"]) == 1 and "no audio track" in body["warnings"][0]
    assert "no audio track" in content.get(f"/api/recordings/{body['id']}").json()["warnings"][0]
    page = httpx.get(f"{server.url}/recordings/{body['id']}", cookies={"liveslice_key": keys["content"]})
    assert page.status_code == 200 and "Warning: the recording has no audio track" in page.text
    with_audio = _post_file(content, small_mp4, "with-audio.mp4").json()
    assert with_audio["warnings"] == []
