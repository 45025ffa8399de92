"""Fixtures for the web pages: a fresh media root and database per test, keys per role, a real browser.

The browser is the system Chromium (Debian's ``chromium``) driven by Playwright; no browser build is
ever downloaded. Without Chromium or Playwright the browser tests skip locally and fail in CI.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from runtime.config import Settings
from store import db
from store.models import Recording
from tests.conftest import require_or_skip
from tests.support.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions"]


def find_chromium() -> str | None:
    """The system Chromium (or Chrome) on PATH."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


READY = {
    "title": "春季新品直播 Spring launch",
    "source": "tus",
    "original_filename": "spring_live.mp4",
    "size_bytes": 123_456_789,
    "status": "ready",
    "duration": 3725.4,
    "container": "mov,mp4,m4a,3gp,3g2,mj2",
    "video_codec": "h264",
    "audio_codec": "aac",
    "width": 1280,
    "height": 720,
    "rotation": 0,
    "fps": 29.97002997,
    "variable_frame_rate": False,
    "audio_sample_rate": 48000,
    "audio_channels": 2,
}


@pytest.fixture
def add_recording(settings: Settings) -> Callable[..., str]:
    """Insert a recording row (defaults: a ready 720p MP4) and return its id."""

    def add(**fields: Any) -> str:
        with db.session_scope(settings.database_url) as session:
            row = Recording(**{**READY, **fields})
            session.add(row)
            session.flush()
            return row.id

    return add


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless system Chromium for the session, launched by Playwright."""
    executable = find_chromium()
    if executable is None:
        require_or_skip("no Chromium on PATH (apt-get install chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context and page; an uncaught script error on any page fails the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()
    assert not errors, f"uncaught script errors: {errors}"


def sign_in(page: Page, base: str, secret: str, next_page: str = "/upload") -> None:
    """Sign in through the login form, which then goes on to ``next_page``."""
    page.goto(f"{base}/login?next={next_page}")
    page.fill("#key", secret)
    page.click("form.form [type=submit]")
    page.wait_for_url(f"{base}{next_page}")
    page.wait_for_load_state("load")
