"""The upload page in a real headless Chromium against the real tus server (via uvicorn).

A loopback proxy drops the connection mid-upload; the page must resume, not restart, and the
stored recording must be byte-identical. Skipped when no Chromium is installed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtime.config import Settings
from store import db
from store.models import Recording
from studio.ffmpeg import run_ffmpeg
from tests.support.live_server import LiveServer
from tests.support.proxy import CuttingProxy
from tests.web.web_browser import Browser, find_chromium

CHROMIUM = find_chromium()
MiB = 1024 * 1024
CHUNK = 8 * MiB

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed")]


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


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    assert CHROMIUM is not None
    with Browser(CHROMIUM, tmp_path / "profile") as b:
        yield b


def sign_in(browser: Browser, base: str, secret: str, page: str = "/upload") -> None:
    """Sign in through the login form, which then goes on to ``page``."""
    browser.goto(f"{base}/login?next={page}")
    browser.eval(f"document.getElementById('key').value = {secret!r}; document.querySelector('form.form').submit(); 1")
    browser.wait_for(f"location.pathname === {page!r} && document.readyState === 'complete'")


def wait_done(browser: Browser) -> str:
    """The link the page shows once the upload is finished."""
    return str(
        browser.wait_for(
            "!document.getElementById('done').hidden && document.querySelector('#done a').getAttribute('href')",
            timeout=90,
        )
    )


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
    browser: Browser,
    big_video: Path,
) -> None:
    size = big_video.stat().st_size
    with CuttingProxy("127.0.0.1", live_server.port, cut_after=12 * MiB) as proxy:
        sign_in(browser, proxy.url, issue_key("content"))
        browser.set_files("#file", big_video)
        assert browser.wait_for("document.getElementById('title').value") == "直播 replay"
        browser.eval("document.getElementById('stream_started_at').value = '2024-05-01T20:00:00'; 1")
        browser.eval("document.getElementById('start').click(); 1")
        href = wait_done(browser)
        assert proxy.cut_events == 1
        # resumed from the server's offset: a restart would re-send the 12 MiB before the cut
        assert size < proxy.client_bytes < size + CHUNK + 2 * MiB
    assert browser.eval("document.getElementById('pct').textContent") == "100%"
    assert browser.eval("document.getElementById('error').hidden") is True

    recording_id = href.removeprefix("/recordings/")
    row, path = stored(settings, recording_id)
    assert row.title == "直播 replay"
    assert row.original_filename == big_video.name
    assert row.timezone == "Asia/Shanghai"  # the zone field's default went along
    assert row.stream_started_at is not None  # the instant itself: test_stream_start_wall_clock_is_kept
    assert sha256(path) == sha256(big_video)


def test_upload_resumes_after_page_reload(
    settings: Settings,
    issue_key: Callable[[str], str],
    live_server: LiveServer,
    browser: Browser,
    big_video: Path,
) -> None:
    size = big_video.stat().st_size
    with CuttingProxy("127.0.0.1", live_server.port) as proxy:
        sign_in(browser, proxy.url, issue_key("admin"))
        browser.send("Network.enable")
        browser.send(
            "Network.emulateNetworkConditions",
            offline=False,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=8 * MiB,
        )
        browser.set_files("#file", big_video)
        browser.eval("document.getElementById('start').click(); 1")
        browser.wait_for("document.getElementById('progress').value > 40", timeout=30)
        assert browser.eval("document.getElementById('speed').textContent").endswith("/s")
        browser.send(
            "Network.emulateNetworkConditions", offline=False, latency=0, downloadThroughput=-1, uploadThroughput=-1
        )
        sent_before_reload = proxy.client_bytes
        browser.goto(f"{proxy.url}/upload")  # leave mid-upload; the file must be chosen again

        browser.set_files("#file", big_video)
        note = browser.wait_for(
            "!document.getElementById('resume-note').hidden && document.getElementById('resume-note').textContent"
        )
        assert "unfinished upload" in note
        browser.eval("document.getElementById('start').click(); 1")
        href = wait_done(browser)
        assert sent_before_reload > CHUNK
        assert proxy.client_bytes < size + CHUNK  # nothing like a second full upload
    _row, path = stored(settings, href.removeprefix("/recordings/"))
    assert sha256(path) == sha256(big_video)


def test_server_error_is_shown(
    settings: Settings,
    issue_key: Callable[[str], str],
    live_server: LiveServer,
    browser: Browser,
    tmp_path: Path,
) -> None:
    fake = tmp_path / "not-a-video.mp4"
    fake.write_text("这不是视频 — a shopping list, not a recording.\n" * 500, encoding="utf-8")
    base = f"http://127.0.0.1:{live_server.port}"
    sign_in(browser, base, issue_key("content"))
    browser.set_files("#file", fake)
    browser.eval("document.getElementById('start').click(); 1")
    message = browser.wait_for(
        "!document.getElementById('error').hidden && document.getElementById('error').textContent", timeout=60
    )
    assert not message.startswith("The server answered")  # the JSON detail was read, not dumped
    assert message.endswith(")") and "(" in message  # "<message> (<code>)"
    assert browser.eval("document.getElementById('start').textContent") == "Try again"
    with db.session_scope(settings.database_url) as session:
        assert session.query(Recording).count() == 0


def test_probing_rows_refresh_themselves(
    settings: Settings,
    issue_key: Callable[[str], str],
    live_server: LiveServer,
    browser: Browser,
) -> None:
    with db.session_scope(settings.database_url) as session:
        row = Recording(title="fresh upload", source="tus", original_filename="a.mp4", status="probing")
        session.add(row)
        session.flush()
        recording_id = row.id
    base = f"http://127.0.0.1:{live_server.port}"
    sign_in(browser, base, issue_key("merchant"), page="/recordings")
    assert browser.eval("document.querySelector('.badge-probing').textContent.trim()") == "probing"
    with db.session_scope(settings.database_url) as session:
        probed = session.get(Recording, recording_id)
        assert probed is not None
        probed.status, probed.duration, probed.width, probed.height = "ready", 5.0, 640, 360
    browser.wait_for("document.querySelector('.badge-ready') !== null", timeout=20)
    assert browser.eval("document.body.textContent.includes('640x360')") is True
    assert browser.eval("document.querySelector('[data-poll]')") is None
