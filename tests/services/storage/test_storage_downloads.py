"""With S3 storage the portal's media works in a browser: ``?download=1`` reaches the store as a signed
``response-content-disposition`` (so the object answers ``attachment``), and the pages' CSP allows the
store's origin for images and video (moto over real HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

from api.main import create_app
from api.routers.clips import attachment
from runtime.config import Settings
from services.storage import get_storage, media_origin
from store import keys as key_store
from store import leaders as leader_store
from store.db import session_scope
from store.models import Clip, Recording
from tests.conftest import make_settings


def _clip(settings: Settings, data: bytes) -> str:
    with session_scope(settings.database_url) as session:
        recording = Recording(title="r", source="upload", original_filename="r.mp4", status="ready")
        session.add(recording)
        session.flush()
        clip = Clip(recording_id=recording.id, preset="douyin", start=1.0, end=3.0, status="ready", title="春季 新品")
        session.add(clip)
        session.flush()
        clip.video_key = f"clips/{clip.id}/clip.mp4"
        clip_id, key = clip.id, clip.video_key
    get_storage(settings).write_bytes(key, data)
    return clip_id


def _key(settings: Settings, role: str, leader_id: str | None = None) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        if leader_id is not None:
            leader_store.create_leader(session, name="安团长", leader_id=leader_id)
        secret = key_store.create_key(session, name=f"t-{role}", role=role, leader_id=leader_id).secret
    return {"Authorization": f"Bearer {secret}"}


def test_a_presigned_url_carries_the_disposition_the_store_answers(make_s3: Any, bucket: str) -> None:
    store = make_s3(bucket)
    store.write_bytes("clips/c/clip.mp4", b"video bytes")
    wanted = attachment("春季 新品", ".mp4")
    url = store.presigned_url("clips/c/clip.mp4", disposition=wanted)
    assert parse_qs(urlsplit(url).query)["response-content-disposition"] == [wanted]
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == b"video bytes"
    assert answer.headers["content-disposition"] == wanted
    plain = httpx.get(store.presigned_url("clips/c/clip.mp4"))
    assert plain.status_code == 200 and "content-disposition" not in plain.headers


def test_download_on_s3_redirects_to_a_url_that_saves_the_file(s3_settings: Settings) -> None:
    clip_id = _clip(s3_settings, b"clip bytes")
    headers = _key(s3_settings, "content")
    with TestClient(create_app(s3_settings)) as client:
        url = f"/media/clips/{clip_id}/clip.mp4"
        download = client.get(f"{url}?download=1", headers=headers, follow_redirects=False)
        inline = client.get(url, headers=headers, follow_redirects=False)
        head = client.head(f"{url}?download=1", headers=headers)
    assert download.status_code == 307 and inline.status_code == 307
    assert "response-content-disposition" not in inline.headers["location"]
    saved = httpx.get(download.headers["location"])  # what the browser does next
    assert saved.status_code == 200 and saved.content == b"clip bytes"
    assert saved.headers["content-disposition"] == attachment("春季 新品", ".mp4")
    assert head.status_code == 200 and head.headers["content-disposition"] == attachment("春季 新品", ".mp4")


def test_the_pages_csp_allows_media_from_the_s3_origin(s3_settings: Settings, moto_endpoint: str) -> None:
    assert media_origin(s3_settings) == moto_endpoint  # path-style: the endpoint itself
    leader = _key(s3_settings, "leader", "ann")
    with TestClient(create_app(s3_settings)) as client:
        portal = client.get("/portal", headers=leader)
        login = client.get("/login")
    assert portal.status_code == 200
    for page in (portal, login):
        policy = page.headers["content-security-policy"]
        assert f"img-src 'self' data: {moto_endpoint};" in policy
        assert f"media-src 'self' {moto_endpoint};" in policy
        assert "default-src 'self';" in policy and "script-src 'self';" in policy  # nothing else widened


def test_with_local_storage_the_pages_csp_allows_only_this_site(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert media_origin(settings) is None
    with TestClient(create_app(settings)) as client:
        policy = client.get("/login").headers["content-security-policy"]
    assert "img-src 'self' data:;" in policy and "media-src 'self';" in policy


def test_on_aws_the_origin_is_the_bucket_host_presigned_urls_use(aws_env: None, tmp_path: Path) -> None:
    def settings(style: str) -> Settings:
        root = tmp_path / style
        return make_settings(
            root, storage="s3", s3_bucket="shop-media", s3_region="eu-west-1", s3_addressing_style=style
        )

    for style, host in (("virtual", "shop-media.s3."), ("path", "s3.")):
        origin = media_origin(settings(style))
        assert origin is not None and origin.startswith(f"https://{host}") and origin.endswith(".amazonaws.com")
        url = get_storage(settings(style)).presigned_url("clips/c/clip.mp4") or ""
        assert url.startswith(f"{origin}/")  # exactly where the browser is sent
