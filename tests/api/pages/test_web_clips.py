"""Clips over the API and on the web: render through the job, file URLs with Range, roles, the gallery."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.rendering import run_render_job
from runtime.config import Settings
from services.storage import get_storage
from store.db import session_scope
from store.highlights import add_manual_highlight
from store.models import Clip, Job
from tests.services.clips.clip_media import BUY_URL, SMALL, make_source, qr_texts, register_presets, store_recording

LILY = "https://ls.example.com/s/lily"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("web-clips") / "live.mp4")


@pytest.fixture
def recording(settings: Settings, source: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    register_presets(monkeypatch)
    return store_recording(settings, source)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _highlight(settings: Settings, recording: str) -> str:
    with session_scope(settings.database_url) as session:
        return add_manual_highlight(session, recording_id=recording, start=4.5, end=6.0).id


@pytest.fixture
def ready_clip(
    settings: Settings, client: TestClient, make_key: Callable[[str], str], recording: str
) -> dict[str, Any]:
    """A clip made through the API from a highlight (with one leader), its job run by the worker's job body."""
    headers = _auth(make_key("content"))
    body = {
        "highlight_id": _highlight(settings, recording),
        "preset": SMALL.name,
        "leaders": [{"name": "Lily", "share_url": LILY}],
    }
    created = client.post(f"/api/recordings/{recording}/clips", json=body, headers=headers)
    assert created.status_code == 202, created.text
    started = created.json()
    assert started["status"] == "queued" and created.headers["location"] == f"/api/clips/{started['clip_id']}"
    queued = client.get(started["url"], headers=headers).json()
    assert queued["files"] == {"video": None, "cover": None, "poster": None}
    again = client.post(f"/api/recordings/{recording}/clips", json=body, headers=headers).json()
    assert (again["clip_id"], again["job_id"]) == (started["clip_id"], started["job_id"])  # no second render

    run_render_job(settings, started["job_id"])  # what the worker runs for liveslice.render_clip
    with session_scope(settings.database_url) as session:
        job = session.get(Job, started["job_id"])
        assert job is not None and job.kind == "render" and job.status == "succeeded", job and job.error
    clip = client.get(started["url"], headers=headers).json()
    assert clip["status"] == "ready", clip["error"]
    return clip


def test_a_clip_renders_through_its_job_and_is_listed(
    ready_clip: dict[str, Any], client: TestClient, make_key: Callable[[str], str], recording: str
) -> None:
    clip = ready_clip
    cid = clip["id"]
    assert (clip["start"], clip["end"], clip["sku"]) == (4.5, 6.0, "LS-0002")  # on air mid-highlight
    assert clip["product"]["price"] == "59.90" and clip["reason"] == "set by hand"
    assert clip["files"] == {
        "video": f"/media/clips/{cid}/clip.mp4",
        "cover": f"/media/clips/{cid}/cover.jpg",
        "poster": f"/media/clips/{cid}/poster.png",
    }
    (variant,) = clip["variants"]
    assert variant["leader_name"] == "Lily" and variant["share_url"] == LILY
    assert variant["video"] == f"/media/clips/{cid}/clip.lily.mp4"
    assert variant["poster"] == f"/media/clips/{cid}/poster.lily.png"
    headers = _auth(make_key("merchant"))
    listed = client.get(f"/api/recordings/{recording}/clips", headers=headers).json()
    assert [c["id"] for c in listed["items"]] == [cid]
    assert client.get("/api/clips", headers=headers).json()["total"] == 1


def test_clip_files_are_served_with_range_support(
    ready_clip: dict[str, Any], client: TestClient, make_key: Callable[[str], str], settings: Settings
) -> None:
    headers = _auth(make_key("merchant"))
    url = ready_clip["files"]["video"]
    whole = client.get(url, headers=headers)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    stored = get_storage(settings.media_root).local_path(f"clips/{ready_clip['id']}/clip.mp4").read_bytes()
    assert whole.content == stored and int(whole.headers["content-length"]) == ready_clip["size_bytes"]
    part = client.get(url, headers={**headers, "Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 0-99/{len(stored)}" and part.content == stored[:100]
    tail = client.get(url, headers={**headers, "Range": f"bytes={len(stored) - 10}-"})
    assert tail.status_code == 206 and tail.content == stored[-10:]
    assert client.get(url, headers={**headers, "Range": f"bytes={len(stored) + 5}-"}).status_code == 416
    cover = client.get(ready_clip["files"]["cover"], headers=headers)
    assert cover.headers["content-type"] == "image/jpeg" and cover.content[:2] == b"\xff\xd8"
    poster = client.get(ready_clip["files"]["poster"], headers=headers)
    assert poster.headers["content-type"] == "image/png"
    png = settings.media_root / "poster-check.png"
    png.write_bytes(poster.content)
    # no share URL given: the clip's share link, which this app redirects to the product page
    (link,) = qr_texts(png)
    assert link.startswith(f"{settings.public_base_url}/s/") and link == ready_clip["share_url"]
    followed = client.get(link.removeprefix(settings.public_base_url), follow_redirects=False)
    assert followed.status_code == 302
    assert followed.headers["location"].startswith(BUY_URL.replace("0001", "0002") + "?lsclid=")
    for name in ("liveslice.db", "..%2F..%2Fliveslice.db", "clip.nobody.mp4"):
        assert client.get(f"/media/clips/{ready_clip['id']}/{name}", headers=headers).status_code == 404
    assert client.get(url).status_code == 401


def test_leaders_fetch_clips_but_not_recordings(
    ready_clip: dict[str, Any], client: TestClient, make_key: Callable[[str], str], recording: str
) -> None:
    leader = _auth(make_key("leader", "lily"))
    assert client.get(f"/api/clips/{ready_clip['id']}", headers=leader).status_code == 200
    variant = client.get(ready_clip["variants"][0]["video"], headers=leader)
    assert variant.status_code == 200 and variant.headers["content-type"] == "video/mp4"
    assert client.get(ready_clip["files"]["video"], headers={**leader, "Range": "bytes=0-99"}).status_code == 206
    assert client.get(f"/api/recordings/{recording}", headers=leader).status_code == 403
    assert client.get("/api/recordings", headers=leader).status_code == 403
    made = client.post(f"/api/recordings/{recording}/clips", json={"start": 1, "end": 2}, headers=leader)
    assert made.status_code == 403
    upload = client.post("/api/recordings", files={"file": ("x.mp4", b"x")}, headers=leader)
    assert upload.status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"start": 1, "end": 2, "sku": "NOPE"}, "unknown SKU 'NOPE'"),
        ({"start": 3, "end": 3}, "must be before end"),
        ({"start": 6, "end": 20}, "outside the recording"),
        ({"start": 1, "end": 2, "preset": "myspace"}, "unknown preset"),
        ({"highlight_id": "nope"}, "no highlight 'nope'"),
        ({"start": 1, "end": 2, "leaders": [{"name": "A", "share_url": "file:///etc/passwd"}]}, "http or https"),
    ],
)
def test_bad_clip_requests_are_422(
    client: TestClient, make_key: Callable[[str], str], recording: str, body: dict[str, Any], message: str
) -> None:
    answer = client.post(f"/api/recordings/{recording}/clips", json=body, headers=_auth(make_key("content")))
    assert answer.status_code == 422 and message in answer.json()["detail"]["message"], answer.text
    assert client.get("/api/clips", headers=_auth(make_key("content"))).json()["total"] == 0


def test_gallery_previews_play_from_this_host(
    ready_clip: dict[str, Any], login: Callable[[str], TestClient], recording: str
) -> None:
    client = login("leader", "lily")
    page = client.get("/clips")
    assert page.status_code == 200
    html, cid = page.text, ready_clip["id"]
    assert (
        f'<video class="clip-video" controls preload="metadata" playsinline poster="/media/clips/{cid}/cover.jpg" '
        f'src="/media/clips/{cid}/clip.mp4"></video>'
    ) in html
    assert f'<img src="/media/clips/{cid}/poster.png"' in html and f'href="/media/clips/{cid}/clip.lily.mp4"' in html
    assert "防晒喷雾 Sun Spray" in html and "¥59.9" in html and "Lily" in html
    assert f'href="/recordings/{recording}"' not in html  # leaders cannot open recordings: no link
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "img-src 'self' data:" in csp and "media-src 'self';" in csp
    for url in re.findall(r'(?:src|href|poster)="([^"]+)"', html):
        assert url.startswith(("/", "#", "data:")), url  # nothing from another host
    assert client.get(f"/recordings/{recording}").status_code == 403


def test_recording_page_lists_its_clips(
    ready_clip: dict[str, Any], login: Callable[[str], TestClient], recording: str
) -> None:
    html = login("content").get(f"/recordings/{recording}").text
    assert 'id="clips"' in html and f'src="/media/clips/{ready_clip["id"]}/clip.mp4"' in html
    assert "clips.css" in html
    gallery = login("content").get(f"/clips?recording={recording}").text
    assert f'href="/recordings/{recording}"' in gallery and "Clips of" in gallery


def test_recording_page_without_clips_says_how_to_make_one(login: Callable[[str], TestClient], recording: str) -> None:
    html = login("merchant").get(f"/recordings/{recording}").text
    assert "No clips yet" in html and f"liveslice render {recording}" in html


def test_gallery_shows_unfinished_and_failed_clips_without_files(
    settings: Settings, login: Callable[[str], TestClient], recording: str
) -> None:
    with session_scope(settings.database_url) as session:
        for status, start, error in (("queued", 1.0, None), ("failed", 2.0, "ffmpeg could not render the clip")):
            session.add(
                Clip(
                    recording_id=recording,
                    preset="douyin",
                    mode="accurate",
                    start=start,
                    end=start + 1,
                    status=status,
                    error=error,
                    options={},
                    video_key=f"clips/x{start}/clip.mp4",
                )
            )
    html = login("merchant").get("/clips").text
    assert 'data-status="queued"' in html and 'data-status="failed"' in html
    assert "ffmpeg could not render the clip" in html
    assert "<video" not in html and "Download video" not in html  # nothing to play or fetch yet
