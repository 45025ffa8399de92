"""The app on S3 storage (moto over real HTTP): the API and a worker on different media roots share only a bucket."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from pipeline.probing import run_probe_job
from runtime.config import Settings
from services.media_files import recording_source
from services.storage import KeyNotFound, LocalStorage, get_storage, local_copy, save_outputs
from services.storage.s3 import S3Storage
from store import keys as key_store
from store.db import session_scope
from store.models import Clip, Recording
from store.recordings import MissingMedia
from tests.conftest import make_settings
from tests.support.live_server import LiveServer


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def objects(s3_client: Any, bucket: str) -> dict[str, bytes]:
    listed = s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: s3_client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def other_machine(settings: Settings, root: Path) -> Settings:
    """A worker's settings: another media root (so another cache), the same database and bucket."""
    same = ("database_url", "secret_key", "storage", "s3_bucket", "s3_endpoint_url", "s3_region")
    return Settings(_env_file=None, media_root=root / "media", **{name: getattr(settings, name) for name in same})


def content_key(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        return key_store.create_key(session, name="t-content", role="content").secret


def test_an_upload_lands_in_the_bucket_and_a_worker_elsewhere_reads_it(
    s3_settings: Settings, s3_client: Any, bucket: str, small_mp4: Path, tmp_path: Path
) -> None:
    server = LiveServer(s3_settings)
    try:
        with server.client(content_key(s3_settings)) as client, small_mp4.open("rb") as handle:
            response = client.post("/api/recordings", files={"file": ("live.mp4", handle)}, data={"title": "t"})
    finally:
        server.stop()
    assert response.status_code == 201, response.text
    recording_id = response.json()["id"]
    with session_scope(s3_settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None
    key = f"recordings/{recording_id}/source.mp4"
    assert recording.storage_key == key
    original = small_mp4.read_bytes()
    assert objects(s3_client, bucket) == {key: original}
    assert s3_client.head_object(Bucket=bucket, Key=key)["ContentType"] == "video/mp4"
    assert [p for p in (s3_settings.media_root / "recordings").rglob("*") if p.is_file()] == []  # not stored locally
    assert list((s3_settings.media_root / "uploads").iterdir()) == []  # the staging file was consumed

    worker = other_machine(s3_settings, tmp_path / "worker")
    path = recording_source(worker, recording)
    assert path.is_relative_to(worker.media_root / "cache" / "s3")  # downloaded onto the worker's disk
    assert sha(path.read_bytes()) == sha(original)
    run_probe_job(worker, recording_id)  # the worker's probe job works from the bucket alone
    with session_scope(worker.database_url) as session:
        probed = session.get(Recording, recording_id)
        assert probed is not None
        assert (probed.status, probed.width, probed.height) == ("ready", 320, 240), probed.error

    s3_client.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(MissingMedia, match=key):
        recording_source(other_machine(s3_settings, tmp_path / "third"), recording)


def test_save_outputs_uploads_what_a_worker_wrote(
    s3_settings: Settings, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    worker = other_machine(s3_settings, tmp_path / "worker")
    storage = get_storage(worker)
    assert isinstance(storage, S3Storage)
    files = {"clips/c1/clip.mp4": b"\x00video" * 1000, "clips/c1/poster.png": b"\x89PNG poster"}
    for key, data in files.items():
        out = storage.local_path(key)  # an output path: nothing exists yet, nothing is fetched
        assert out.is_relative_to(worker.media_root / "cache" / "s3") and not out.exists()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    assert objects(s3_client, bucket) == {}  # written locally is not published

    save_outputs(worker, files)
    assert objects(s3_client, bucket) == files
    assert s3_client.head_object(Bucket=bucket, Key="clips/c1/clip.mp4")["ContentType"] == "video/mp4"
    api = other_machine(s3_settings, tmp_path / "api2")
    assert local_copy(api, "clips/c1/poster.png").read_bytes() == files["clips/c1/poster.png"]
    assert local_copy(worker, "clips/c1/clip.mp4") == storage.local_path("clips/c1/clip.mp4")  # kept as the copy

    # rewritten in place (same size) but never published: the cache does not pass it off as the object
    storage.local_path("clips/c1/poster.png").write_bytes(b"\x89PNG unsaved")
    assert local_copy(worker, "clips/c1/poster.png").read_bytes() == files["clips/c1/poster.png"]

    with pytest.raises(KeyNotFound, match=r"clips/c1/cover\.jpg"):
        save_outputs(worker, ["clips/c1/cover.jpg"])
    assert "clips/c1/cover.jpg" not in objects(s3_client, bucket)


def test_save_outputs_leaves_local_storage_alone(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    storage = get_storage(settings)
    assert isinstance(storage, LocalStorage)
    out = storage.local_path("clips/c1/clip.mp4")
    out.parent.mkdir(parents=True)
    out.write_bytes(b"rendered")
    save_outputs(settings, ["clips/c1/clip.mp4"])
    assert local_copy(settings, "clips/c1/clip.mp4") == out and out.read_bytes() == b"rendered"
    with pytest.raises(KeyNotFound):
        local_copy(settings, "clips/c1/none.mp4")


def _clip_with_object(settings: Settings, *, status: str, data: bytes) -> tuple[str, str, str]:
    """A recording and a clip row; the clip's video and the recording's source stored in the bucket."""
    with session_scope(settings.database_url) as session:
        recording = Recording(title="r", source="upload", original_filename="r.mp4", status="ready")
        session.add(recording)
        session.flush()
        recording.storage_key = f"recordings/{recording.id}/source.mp4"
        clip = Clip(recording_id=recording.id, preset="douyin", start=1.0, end=3.0, status=status)
        session.add(clip)
        session.flush()
        clip.video_key = f"clips/{clip.id}/clip.mp4"
        recording_id, clip_id, source_key, video_key = recording.id, clip.id, recording.storage_key, clip.video_key
    storage = get_storage(settings)
    storage.write_bytes(source_key, b"source bytes")
    storage.write_bytes(video_key, data)
    return recording_id, clip_id, video_key


def test_a_ready_clip_file_redirects_to_a_presigned_url(
    s3_settings: Settings, s3_client: Any, bucket: str, moto_endpoint: str
) -> None:
    data = bytes(range(256)) * 40
    recording_id, clip_id, video_key = _clip_with_object(s3_settings, status="ready", data=data)
    _other, queued_id, _key = _clip_with_object(s3_settings, status="queued", data=b"not yet")
    headers = {"Authorization": f"Bearer {content_key(s3_settings)}"}
    with TestClient(create_app(s3_settings)) as client:
        answer = client.get(f"/media/clips/{clip_id}/clip.mp4", headers=headers, follow_redirects=False)
        assert answer.status_code == 307, answer.text
        assert answer.headers["cache-control"] == "no-store"
        location = answer.headers["location"]
        assert location.startswith(f"{moto_endpoint}/{bucket}/{video_key}?")
        assert "X-Amz-Signature=" in urlsplit(location).query
        head = client.head(f"/media/clips/{clip_id}/clip.mp4", headers=headers, follow_redirects=False)
        assert head.status_code == 200 and head.content == b""  # a GET-signed URL would refuse a HEAD
        assert head.headers["content-length"] == str(len(data)) and head.headers["content-type"] == "video/mp4"
        assert head.headers["accept-ranges"] == "bytes"
        assert client.head(f"/media/clips/{clip_id}/clip.mp4").status_code == 401
        assert client.get(f"/media/clips/{clip_id}/clip.mp4", follow_redirects=False).status_code == 401
        assert client.get(f"/media/clips/{queued_id}/clip.mp4", headers=headers).status_code == 404  # not ready
        assert client.get(f"/media/clips/{clip_id}/cover.jpg", headers=headers).status_code == 404  # no such file

        whole = httpx.get(location)  # what the browser does next: no API key, just the signed URL
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-type"] == "video/mp4"
        part = httpx.get(location, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]

        s3_client.delete_object(Bucket=bucket, Key=video_key)
        gone = client.get(f"/media/clips/{clip_id}/clip.mp4", headers=headers, follow_redirects=False)
        assert gone.status_code == 404 and "missing" in gone.text

        s3_client.put_object(Bucket=bucket, Key=video_key, Body=data)
        deleted = client.delete(f"/api/recordings/{recording_id}", headers=headers)
        assert deleted.status_code == 204, deleted.text
    remaining = objects(s3_client, bucket)
    assert f"recordings/{recording_id}/source.mp4" not in remaining and video_key not in remaining
    assert any(key.startswith(f"clips/{queued_id}/") for key in remaining)  # other recordings keep theirs
