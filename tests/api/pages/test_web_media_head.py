"""``HEAD /media/clips/{id}/{file}``: the GET's headers without the body, behind the same auth."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from runtime.config import Settings
from services.storage import get_storage
from store import db
from store.models import Clip

VIDEO = b"\0\0\0\x18ftypisom" + bytes(range(256)) * 40


def _ready_clip(settings: Settings, add_recording: Callable[..., str]) -> str:
    recording = add_recording(duration=60.0)
    with db.session_scope(settings.database_url) as session:
        clip = Clip(recording_id=recording, preset="douyin", start=1.0, end=5.0, status="ready")
        session.add(clip)
        session.flush()
        clip.video_key, clip.cover_key = f"clips/{clip.id}/clip.mp4", f"clips/{clip.id}/cover.jpg"
        storage = get_storage(settings.media_root)
        storage.write_bytes(clip.video_key, VIDEO)
        storage.write_bytes(clip.cover_key, b"\xff\xd8\xff\xe0 jpeg")
        return clip.id


def test_head_gives_the_get_headers_without_a_body(
    client: TestClient, settings: Settings, make_key: Callable[[str], str], add_recording: Callable[..., str]
) -> None:
    cid = _ready_clip(settings, add_recording)
    auth = {"Authorization": f"Bearer {make_key('merchant')}"}
    url = f"/media/clips/{cid}/clip.mp4"
    get = client.get(url, headers=auth)
    head = client.head(url, headers=auth)
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    for name in ("content-length", "content-type", "accept-ranges", "etag", "last-modified", "cache-control"):
        assert head.headers[name] == get.headers[name], name
    assert head.headers["content-length"] == str(len(VIDEO)) and head.headers["content-type"] == "video/mp4"
    assert head.headers["accept-ranges"] == "bytes"
    ranged = client.head(url, headers={**auth, "Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "100"
    assert client.head(f"/media/clips/{cid}/cover.jpg", headers=auth).headers["content-type"] == "image/jpeg"


def test_head_needs_the_same_key_and_files(
    client: TestClient, settings: Settings, make_key: Callable[[str], str], add_recording: Callable[..., str]
) -> None:
    cid = _ready_clip(settings, add_recording)
    url = f"/media/clips/{cid}/clip.mp4"
    assert client.head(url).status_code == 401
    assert client.head(url, headers={"X-API-Key": "lsk_000000000000_nope"}).status_code == 401
    auth = {"Authorization": f"Bearer {make_key('merchant')}"}
    assert client.head(f"/media/clips/{cid}/poster.png", headers=auth).status_code == 404
    assert client.head(f"/media/clips/{cid}/..%2F..%2Fliveslice.db", headers=auth).status_code == 404
    assert client.head("/static/app.css").status_code == 200  # static files answer HEAD too
