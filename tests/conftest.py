"""Shared fixtures: isolated settings and database, API keys, small generated media, real services.

A test that needs something real this machine may lack (a service, a browser, a font, a library)
calls :func:`require_or_skip`: locally it skips and says why; with ``LIVESLICE_REQUIRE_SERVICES=1``
(set by ``.ci/run``) it fails, and any skip that got through anyway fails the session.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.main import create_app
from runtime.config import Settings
from store import keys as key_store
from store import leaders as leader_store
from store.db import get_engine, session_scope, upgrade
from store.models import Leader
from studio.ffmpeg import run_ffmpeg

REDIS_ENV = "LIVESLICE_TEST_REDIS_URL"
DATABASE_ENV = "LIVESLICE_TEST_DATABASE_URL"
AMQP_ENV = "LIVESLICE_TEST_AMQP_URL"
REQUIRE_ENV = "LIVESLICE_REQUIRE_SERVICES"


def services_required() -> bool:
    """True when every test must run (CI): ``LIVESLICE_REQUIRE_SERVICES`` is set and not 0/false/no."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def require_or_skip(reason: str) -> NoReturn:
    """Skip the test with ``reason``, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: this test must run here)", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.needs(available, reason)``: the marker form of :func:`require_or_skip`."""
    for mark in item.iter_markers("needs"):
        available, reason = mark.args
        if not available:
            require_or_skip(reason)


_skipped: list[str] = []


def _note_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_skip(report)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Backstop: with services required, a skip (from any source) fails the run."""
    if services_required() and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if services_required() and _skipped:
        terminalreporter.section(f"skipped although {REQUIRE_ENV} is set", red=True)
        for nodeid in _skipped:
            terminalreporter.line(nodeid or "(collection)", red=True)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's LIVESLICE_* configuration."""
    for name in list(os.environ):
        if name.startswith("LIVESLICE_") and not name.startswith("LIVESLICE_TEST_") and name != REQUIRE_ENV:
            monkeypatch.delenv(name, raising=False)
    from runtime.config import get_settings

    get_settings.cache_clear()


def make_settings(root: Path, **overrides: object) -> Settings:
    """Settings rooted at ``root`` with a migrated SQLite database (unless a URL is given)."""
    values: dict[str, object] = {"media_root": root / "media", "secret_key": "test-secret", "min_free_bytes": 0}
    values.update(overrides)
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    settings.ensure_dirs()
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def leader_for_key(session: Session, role: str, leader_id: str | None) -> str | None:
    """The leader a test's leader key belongs to: ``leader_id`` (made if missing), else a new one."""
    if role != "leader":
        return None
    if leader_id is None:
        return leader_store.create_leader(session, name="Test Leader").id
    if session.get(Leader, leader_id) is None:
        leader_store.create_leader(session, name=leader_id, leader_id=leader_id)
    return leader_id


@pytest.fixture
def issue_key(settings: Settings) -> Callable[[str], str]:
    """Create an API key with a role and return its secret."""

    def issue(role: str, name: str = "test", leader_id: str | None = None) -> str:
        with session_scope(settings.database_url) as session:
            leader = leader_for_key(session, role, leader_id)
            return key_store.create_key(session, name=f"{name}-{role}", role=role, leader_id=leader).secret

    return issue


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media-fixtures")


@pytest.fixture(scope="session")
def small_mp4(media_dir: Path) -> Path:
    """A 2 s 320x240 H.264/AAC MP4 with faststart."""
    out = media_dir / "small.mp4"
    if not out.exists():
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=25:duration=2",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000:duration=2",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
                "-movflags",
                "+faststart",
                "-y",
                str(out),
            ]
        )
    return out


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        require_or_skip(f"{REDIS_ENV} is not set: the test needs a real Redis (.ci/run sets it)")
    return url


@pytest.fixture
def amqp_url() -> str:
    url = os.environ.get(AMQP_ENV)
    if not url:
        require_or_skip(f"{AMQP_ENV} is not set: the test needs a real RabbitMQ (.ci/run sets it)")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    base = os.environ.get(DATABASE_ENV)
    if not base:
        require_or_skip(f"{DATABASE_ENV} is not set: the test needs a real PostgreSQL (.ci/run sets it)")
    schema = f"ls_test_{secrets.token_hex(4)}"
    admin = get_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def make_key(settings: Settings) -> Callable[..., str]:
    """Create a key with ``role`` and return its secret."""

    def make(role: str, leader_id: str | None = None) -> str:
        with session_scope(settings.database_url) as session:
            return key_store.create_key(
                session, name=f"{role}-tester", role=role, leader_id=leader_for_key(session, role, leader_id)
            ).secret

    return make


@pytest.fixture
def login(client: TestClient, make_key: Callable[..., str]) -> Callable[..., TestClient]:
    """Sign ``client`` in through the real form with a new key of ``role``."""

    def do(role: str, leader_id: str | None = None) -> TestClient:
        response = client.post("/login", data={"key": make_key(role, leader_id)}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return client

    return do
