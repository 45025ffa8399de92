"""The upload page in a real headless Chromium against the real tus server (via uvicorn).

A loopback proxy drops the connection mid-upload; the page must resume, not restart, and the
stored recording must be byte-identical. Needs the system Chromium (skipped locally without it,
failed in CI).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from runtime.config import Settings
from store import db
from store.models import Recording
from studio.ffmpeg import run_ffmpeg
from tests.api.pages.conftest import sign_in
from tests.support.live_server import LiveServer
from tests.support.proxy import CuttingProxy

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

MiB = 1024 * 1024
CHUNK = 8 * MiB

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="session")
def big_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 27 MB of lossless noise (3+ tus chunks); ffmpeg makes it in under a second."""
    out = tmp_path_factory.mktemp("web-media") / "直播 replay.mp4"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "nullsrc=s=640x360:r=25:d=3,geq=lum='random(1)*255':cb=128:cr=128",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-y",
            str(out),
        ]
    )
    assert out.stat().st_size > 3 * CHUNK
    return out


def wait_done(page: Page) -> str:
    """The link the page shows once the upload is finished."""
    link = page.locator("#done a")
    link.wait_for(state="visible", timeout=90_000)
    return str(link.get_attribute("href"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored(settings: Settings, recording_id: str) -> tuple[Recording, Path]:
    with db.session_scope(settings.database_url) as session:
        row = session.get(Recording, recording_id)
        assert row is not None and row.storage_key
        return row, settings.media_root / row.storage_key


def test_upload_resumes_after_dropped_connection(
    settings: Settings,
    issue_key: Callable[[str], str],
    live_server: LiveServer,
    page: Page,
    big_video: Path,
) -> None:
    size = big_video.stat().st_size
    with CuttingProxy("127.0.0.1", live_server.port, cut_after=12 * MiB) as proxy:
        sign_in(page, proxy.url, issue_key("content"))
        page.set_input_files("#file", big_video)
        page.wait_for_function("() => document.getElementById('title').value !== ''")
        assert page.input_value("#title") == "直播 replay"  # the file's stem
        page.fill("#stream_started_at", "2024-05-01T20:00")
        page.click("#start")
        href = wait_done(page)
        assert proxy.cut_events == 1
        # resumed from the server's offset: a restart would re-send the 12 MiB before the cut
        assert size < proxy.client_bytes < size + CHUNK + 2 * MiB
    assert page.text_content("#pct") == "100%"
    assert page.is_hidden("#error")

    recording_id = href.removeprefix("/recordings/")
    row, path = stored(settings, recording_id)
    assert row.title == "直播 replay"
    assert row.original_filename == big_video.name
    assert row.timezone == "Asia/Shanghai"  # the zone field's default went along
    assert row.stream_started_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # 20:00 wall clock in Asia/Shanghai
    assert sha256(path) == sha256(big_video)


def test_upload_resumes_after_page_reload(
    settings: Settings,
    issue_key: Callable[[str], str],
    live_server: LiveServer,
    page: Page,
    big_video: Path,
) -> None:
    size = big_video.stat().st_size
    with CuttingProxy("127.0.0.1", live_server.port) as proxy:
        sign_in(page, proxy.url, issue_key("admin"))
        cdp = page.context.new_cdp_session(page)  # Playwright cannot throttle uploads itself
        cdp.send("Network.enable")
        throttle = {"offline": False, "latency": 0, "downloadThroughput": -1}
        cdp.send("Network.emulateNetworkConditions", {**throttle, "uploadThroughput": 8 * MiB})
        page.set_input_files("#file", big_video)
        page.click("#start")
        page.wait_for_function("() => document.getElementById('progress').value > 40", timeout=30_000)
        assert (page.text_content("#speed") or "").endswith("/s")
        cdp.send("Network.emulateNetworkConditions", {**throttle, "uploadThroughput": -1})
        sent_before_reload = proxy.client_bytes
        page.goto(f"{proxy.url}/upload")  # leave mid-upload; the file must be chosen again

        page.set_input_files("#file", big_video)
        note = page.locator("#resume-note")
        note.wait_for(state="visible")
        assert "unfinished upload" in (note.text_content() or "")
        page.click("#start")
        href = wait_done(page)
        assert sent_before_reload > CHUNK
        assert proxy.client_bytes < size + CHUNK  # nothing like a second full upload
    _row, path = stored(settings, href.removeprefix("/recordings/"))
    assert sha256(path) == sha256(big_video)


def test_server_error_is_shown(
    settings: Settings,
    issue_key: Callable[[str], str],
    live_server: LiveServer,
    page: Page,
    tmp_path: Path,
) -> None:
    fake = tmp_path / "not-a-video.mp4"
    fake.write_text("这不是视频 — a shopping list, not a recording.\n" * 500, encoding="utf-8")
    sign_in(page, live_server.url, issue_key("content"))
    page.set_input_files("#file", fake)
    page.click("#start")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=60_000)
    message = error.text_content() or ""
    assert not message.startswith("The server answered")  # the JSON detail was read, not dumped
    assert message.endswith(")") and "(" in message  # "<message> (<code>)"
    assert page.text_content("#start") == "Try again"
    with db.session_scope(settings.database_url) as session:
        assert session.query(Recording).count() == 0


def test_probing_rows_refresh_themselves(
    settings: Settings,
    issue_key: Callable[[str], str],
    live_server: LiveServer,
    page: Page,
) -> None:
    with db.session_scope(settings.database_url) as session:
        row = Recording(title="fresh upload", source="tus", original_filename="a.mp4", status="probing")
        session.add(row)
        session.flush()
        recording_id = row.id
    sign_in(page, live_server.url, issue_key("merchant"), next_page="/recordings")
    assert (page.text_content(".badge-probing") or "").strip() == "probing"
    with db.session_scope(settings.database_url) as session:
        probed = session.get(Recording, recording_id)
        assert probed is not None
        probed.status, probed.duration, probed.width, probed.height = "ready", 5.0, 640, 360
    page.wait_for_selector(".badge-ready", timeout=20_000)
    assert "640x360" in (page.text_content("body") or "")
    assert page.locator("[data-poll]").count() == 0


def test_upload_speaks_tus_in_8_mib_chunks_with_the_form_as_metadata(
    settings: Settings,
    issue_key: Callable[[str], str],
    live_server: LiveServer,
    page: Page,
    big_video: Path,
) -> None:
    """What upload.js sends: tus creation with the form's metadata, 8 MiB PATCHes, cookie auth only."""
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r) if "/api/uploads/tus/" in r.url else None)
    sign_in(page, live_server.url, issue_key("content"))
    page.set_input_files("#file", big_video)
    page.fill("#title", "双十一 evening")
    page.fill("#stream_started_at", "2024-11-11T20:00")
    page.fill("#timezone", "Asia/Tokyo")
    page.click("#start")
    wait_done(page)

    size = big_video.stat().st_size
    creations = [r for r in requests if r.method == "POST"]
    assert len(creations) == 1
    created = creations[0].all_headers()
    assert created["upload-length"] == str(size) and created["tus-resumable"] == "1.0.0"
    metadata = dict(pair.split(" ", 1) for pair in created["upload-metadata"].split(","))
    assert {key: base64.b64decode(value).decode() for key, value in metadata.items()} == {
        "filename": big_video.name,
        "filetype": "video/mp4",
        "title": "双十一 evening",
        "stream_started_at": "2024-11-11T20:00:00",  # wall clock, without a zone...
        "timezone": "Asia/Tokyo",  # ...which travels beside it
    }
    patches = [r.all_headers() for r in requests if r.method == "PATCH"]
    assert [int(h["upload-offset"]) for h in patches] == list(range(0, size, CHUNK))
    assert [int(h["content-length"]) for h in patches] == [min(CHUNK, size - o) for o in range(0, size, CHUNK)]
    assert not any("authorization" in r.all_headers() for r in requests)  # the HttpOnly cookie carries the key
    assert page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('tus::'))") == []  # forgotten

    with db.session_scope(settings.database_url) as session:
        (row,) = session.query(Recording).all()
        assert (row.title, row.timezone) == ("双十一 evening", "Asia/Tokyo")
        assert row.stream_started_at == datetime(2024, 11, 11, 11, 0, tzinfo=UTC)  # 20:00 in Tokyo
