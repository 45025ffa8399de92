"""With S3 storage the WeChat landing page's cover shows: ``/m/{token}`` answers 307 to the bucket, so the
page's CSP allows the store's origin in ``img-src`` (moto over real HTTP); local storage allows only us."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from services.storage import get_storage
from store import share_links
from store.db import session_scope
from store.models import Clip, Recording
from tests.conftest import make_settings

WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.40"
)
COVER = b"\x89PNG\r\n\x1a\n cover bytes"


def _link_with_cover(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        recording = Recording(title="r", source="upload", original_filename="r.mp4", status="ready")
        session.add(recording)
        session.flush()
        clip = Clip(recording_id=recording.id, preset="douyin", start=1.0, end=3.0, status="ready", product="春茶")
        session.add(clip)
        session.flush()
        clip.cover_key = f"clips/{clip.id}/cover.png"
        link = share_links.get_or_create_link(session, clip_id=clip.id, target_url="https://shop.example.com/p/1")
        code, key = link.code, clip.cover_key
    get_storage(settings).write_bytes(key, COVER)
    return code


def _landing(settings: Settings) -> tuple[str, httpx.Response]:
    code = _link_with_cover(settings)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        page = client.get(f"/s/{code}", headers={"user-agent": WECHAT})
        assert page.status_code == 200, page.text
        match = re.search(r'<img class="cover" src="(/m/[^"]+)"', page.text)
        assert match is not None
        cover = client.get(match.group(1))
    return page.headers["content-security-policy"], cover


def test_the_landing_pages_cover_may_come_from_the_s3_origin(s3_settings: Settings, moto_endpoint: str) -> None:
    policy, cover = _landing(s3_settings)
    assert cover.status_code == 307
    location = cover.headers["location"]
    assert location.startswith(f"{moto_endpoint}/")  # where the browser is sent for the image
    assert f"img-src 'self' {moto_endpoint};" in policy  # ... which the page's CSP allows
    assert "default-src 'none';" in policy and "form-action 'none'" in policy  # nothing else widened
    fetched = httpx.get(location)
    assert fetched.status_code == 200 and fetched.content == COVER


def test_with_local_storage_the_landing_page_allows_only_this_site(tmp_path: Path) -> None:
    policy, cover = _landing(make_settings(tmp_path))
    assert cover.status_code == 200 and cover.content == COVER
    assert "img-src 'self';" in policy
