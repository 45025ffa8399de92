"""The upload page, the vendored tus client, and the no-external-host rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from tusclient import client as tus_client

from api.main import STATIC_DIR
from pipeline.plan import PROCESS
from runtime.config import Settings
from store.db import session_scope
from store.models import Job, utcnow
from tests.api.pages.conftest import sign_in
from tests.support.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page, Response

ROOT = Path(__file__).resolve().parents[3]
TUS_JS = STATIC_DIR / "vendor" / "tus.min.js"
LICENSE = STATIC_DIR / "vendor" / "tus-js-client.LICENSE"
EXTERNAL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
URL = re.compile(r"https?://", re.IGNORECASE)


def test_upload_page_wires_tus(login: Callable[[str], TestClient]) -> None:
    response = login("content").get("/upload")
    assert response.status_code == 200
    html = response.text
    assert '<script src="/static/vendor/tus.min.js?v=' in html
    assert '<script src="/static/upload.js?v=' in html
    assert 'data-endpoint="/api/uploads/tus/"' in html
    assert 'data-max-bytes="53687091200"' in html  # the 50 GiB default
    for field in ('id="file"', 'id="title"', 'id="stream_started_at"', 'id="progress"', 'id="pause"'):
        assert field in html
    assert "lsk_" not in html.replace('placeholder="lsk_', "")  # the key never reaches the page


def test_vendored_tus_client_is_served_as_is(client: TestClient) -> None:
    assert "MIT" in LICENSE.read_text()
    served = client.get("/static/vendor/tus.min.js")
    assert served.status_code == 200
    assert "javascript" in served.headers["content-type"]
    assert served.content == TUS_JS.read_bytes()


@pytest.mark.browser
def test_every_script_loads_and_runs_in_chromium(
    page: Page, live_server: LiveServer, issue_key: Callable[[str], str], add_recording: Callable[..., str]
) -> None:
    """Each static script is loaded by some page and runs there without an error (the page fixture fails on one)."""
    loaded: dict[str, int] = {}

    def note(response: Response) -> None:
        path = response.url.split("?", 1)[0]
        if "/static/" in path and path.endswith(".js"):
            loaded[path.split("/static/", 1)[1]] = response.status

    page.on("response", note)
    sign_in(page, live_server.url, issue_key("admin"))
    assert page.evaluate("() => Boolean(window.tus && window.tus.isSupported)") is True
    assert page.is_enabled("#start") and page.is_hidden("#error")  # upload.js found a working tus client
    probing = add_recording(status="probing")
    page.goto(f"{live_server.url}/recordings/{probing}")
    with session_scope(live_server.settings.database_url) as session:
        process = Job(kind=PROCESS, recording_id=probing, status="running", stage="probe", started_at=utcnow())
        session.add(process)
        session.flush()
        job_id = process.id
    page.goto(f"{live_server.url}/jobs/{job_id}")
    page.wait_for_load_state("load")
    page.goto(f"{live_server.url}/targets")  # publishing.js: only the chosen channel type's fields show
    page.select_option("#target-type", "telegram")
    assert page.is_visible('input[name="config.telegram.bot_token"]')
    assert page.is_hidden('input[name="config.wecom.webhook_url"]')
    page.goto(f"{live_server.url}/publications")
    page.wait_for_load_state("load")
    page.goto(f"{live_server.url}/portal/login")  # the leader portal, with a leader's key
    page.fill("#key", issue_key("leader", "ann", leader_id="ann"))  # type: ignore[call-arg]
    page.click("form.p-form [type=submit]")
    page.wait_for_url(f"{live_server.url}/portal")
    page.wait_for_load_state("load")
    every = {path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*.js")}
    assert loaded == dict.fromkeys(every, 200)


def _rendered_pages(login: Callable[[str], TestClient], add_recording: Callable[..., str]) -> dict[str, str]:
    client = login("admin")
    probing = add_recording(status="probing")
    failed = add_recording(status="failed", error="bad file")
    pages = {path: client.get(path) for path in ("/", "/upload", f"/recordings/{probing}", f"/recordings/{failed}")}
    pages["/recordings/missing"] = client.get("/recordings/missing")
    client.post("/logout")
    pages["/login"] = client.get("/login")
    login("leader")
    pages["403"] = client.get("/recordings")
    assert {r.status_code for r in pages.values()} == {200, 403, 404}
    return {path: r.text for path, r in pages.items()}


def test_no_page_references_other_hosts(login: Callable[[str], TestClient], add_recording: Callable[..., str]) -> None:
    for path, html in _rendered_pages(login, add_recording).items():
        assert not URL.search(html), (path, URL.search(html))
        assert not EXTERNAL.search(html), (path, EXTERNAL.search(html))
        for attr in re.findall(r'(?:src|href|action)="([^"]*)"', html):
            assert attr.startswith(("/", "#", "data:")), (path, attr)


def test_no_static_file_or_template_references_other_hosts() -> None:
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file() and p != LICENSE]
    files += sorted((ROOT / "templates").glob("*.html"))
    assert TUS_JS in files and len(files) >= 8
    for path in files:
        text = path.read_text(errors="replace")
        assert not URL.search(text), (path, URL.search(text))
        assert not re.search(r"<script[^>]+src=[\"']?(?:https?:)?//", text, re.IGNORECASE), path
        assert not re.search(r"@import|url\(\s*[\"']?(?:https?:)?//", text, re.IGNORECASE), path


def test_stream_start_wall_clock_is_kept(
    settings: Settings, issue_key: Callable[[str], str], live_server: LiveServer, small_mp4: Path
) -> None:
    """The metadata exactly as upload.js sends it: wall-clock time plus the stream's zone."""
    secret = issue_key("content")
    base = f"http://127.0.0.1:{live_server.port}"
    tus = tus_client.TusClient(f"{base}/api/uploads/tus/", headers={"Authorization": f"Bearer {secret}"})
    with small_mp4.open("rb") as stream:
        tus.uploader(
            file_stream=stream,
            chunk_size=8 * 1024 * 1024,
            metadata={
                "filename": "evening.mp4",
                "filetype": "video/mp4",
                "title": "evening",
                "stream_started_at": "2024-05-01T20:00:00",
                "timezone": "Asia/Shanghai",
            },
        ).upload()
    page = TestClient(live_server.app)
    page.post("/login", data={"key": secret})
    listing = page.get("/recordings").text
    recording_id = re.findall(r'href="/recordings/([0-9a-f]{32})"', listing)[0]
    detail = page.get(f"/recordings/{recording_id}").text
    assert "evening" in detail
    assert "2024-05-01 20:00:00" in detail
