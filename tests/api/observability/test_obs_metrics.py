"""/metrics: jobs by state from real rows, queue depth from a real Redis, broker down, access rules."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from store.db import session_scope
from store.models import Job
from tests.api.observability.conftest import LOOPBACK, sample, scrape
from tests.conftest import make_settings
from workers.app import CONFIG_ENV, _celery_for, celery_config

Logs = Callable[[], list[dict[str, Any]]]


def _dead_broker_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there any more


@pytest.fixture
def dead_broker_settings(tmp_path: Path) -> Iterator[Settings]:
    _celery_for.cache_clear()
    yield make_settings(tmp_path, broker_url=_dead_broker_url())
    _celery_for.cache_clear()


def _add_jobs(settings: Settings, *pairs: tuple[str, str]) -> None:
    with session_scope(settings.database_url) as session:
        for kind, state in pairs:
            session.add(Job(kind=kind, status=state, stage=kind))


def test_jobs_by_state_and_broker_down(dead_broker_settings: Settings, json_logs: Logs) -> None:
    settings = dead_broker_settings
    _add_jobs(settings, ("probe", "queued"), ("probe", "queued"), ("probe", "failed"), ("analyze", "running"))
    text = scrape(settings, **{"X-Request-ID": "req-42"})

    assert sample(text, "liveslice_jobs", kind="probe", status="queued") == 2
    assert sample(text, "liveslice_jobs", kind="probe", status="failed") == 1
    assert sample(text, "liveslice_jobs", kind="probe", status="succeeded") == 0  # known states are explicit zeros
    assert sample(text, "liveslice_jobs", kind="analyze", status="running") == 1
    assert sample(text, "liveslice_database_up") == 1
    assert sample(text, "liveslice_broker_up") == 0
    assert sample(text, "liveslice_queue_depth") is None  # absent rather than a false zero
    warnings = [e for e in json_logs() if e["logger"] == "api.metrics" and "broker unreachable" in e["message"]]
    assert warnings and warnings[0]["request_id"] == "req-42"


def test_embedded_broker_not_running_reads_as_down(settings: Settings) -> None:
    text = scrape(settings)  # default broker: the embedded Valkey, which nobody started here
    assert sample(text, "liveslice_broker_up") == 0 and sample(text, "liveslice_database_up") == 1


def test_request_id_is_made_or_echoed(dead_broker_settings: Settings) -> None:
    with TestClient(create_app(dead_broker_settings), client=LOOPBACK) as client:
        made = client.get("/metrics").headers["x-request-id"]
        echoed = client.get("/metrics", headers={"X-Request-ID": "abc.123"}).headers["x-request-id"]
        unsafe = client.get("/metrics", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"]
    assert len(made) == 32 and echoed == "abc.123" and unsafe not in ("a b\tc", made)


def test_metrics_access(tmp_path: Path) -> None:
    _celery_for.cache_clear()
    open_settings = make_settings(tmp_path / "a", broker_url=_dead_broker_url())
    with TestClient(create_app(open_settings)) as remote:  # TestClient's default client is not loopback
        assert remote.get("/metrics").status_code == 403
    token = secrets.token_urlsafe(16)
    locked = make_settings(tmp_path / "b", broker_url=_dead_broker_url(), metrics_token=token)
    with TestClient(create_app(locked)) as remote:
        assert remote.get("/metrics").status_code == 401
        assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = remote.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and "liveslice_broker_up" in ok.text
    _celery_for.cache_clear()


def test_queue_depth_from_real_redis(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"lsobs-{secrets.token_hex(4)}:"
    folder = tmp_path / "celeryconf"
    folder.mkdir()
    module = f"lsobs_celeryconf_{prefix[6:14]}"
    (folder / f"{module}.py").write_text(f"broker_transport_options = {{'global_keyprefix': {prefix!r}}}\n")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv(CONFIG_ENV, module)
    _celery_for.cache_clear()
    settings = make_settings(tmp_path, broker_url=redis_url)
    from workers.app import get_celery

    celery = get_celery(settings)
    try:
        for n in range(3):
            celery.send_task("liveslice.render_clip", args=[f"clip{n}", "job"], queue="render")
        celery.send_task("liveslice.analyze_recording", args=["rec", "job"], queue="analysis")
        text = scrape(settings)
        assert sample(text, "liveslice_broker_up") == 1
        assert sample(text, "liveslice_queue_depth", queue="render") == 3
        assert sample(text, "liveslice_queue_depth", queue="analysis") == 1
        assert sample(text, "liveslice_queue_depth", queue="publish") == 0
    finally:
        _celery_for.cache_clear()
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


def test_flower_events_enabled_in_config() -> None:
    config = celery_config("redis://127.0.0.1:6379/0")
    assert config["worker_send_task_events"] is True and config["task_send_sent_event"] is True
    sqla = celery_config("sqla+sqlite:///x.sqlite")  # no fanout there: events would go nowhere
    assert sqla["worker_send_task_events"] is False


def test_celery_dash_a_target_imports_with_events(tmp_path: Path) -> None:
    """``celery -A workers.app flower`` resolves the module-level ``app``, with task events on."""
    code = (
        "from celery.app.utils import find_app; app = find_app('workers.app'); "
        "print(app.main, app.conf.worker_send_task_events, app.conf.task_send_sent_event, "
        "sorted(q.name for q in app.conf.task_queues))"
    )
    env = {"PATH": "/usr/bin:/bin", "LIVESLICE_BROKER_URL": _dead_broker_url(), "LIVESLICE_MEDIA_ROOT": str(tmp_path)}
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["liveslice", "True", "True", "['analysis',", "'publish',", "'render']"]


def test_queue_depth_on_sqla_transport(tmp_path: Path) -> None:
    _celery_for.cache_clear()
    settings = make_settings(tmp_path, broker_url="sqla")
    from workers.app import get_celery

    try:
        for n in range(2):
            get_celery(settings).send_task("liveslice.render_clip", args=[f"clip{n}", "job"], queue="render")
        text = scrape(settings)
    finally:
        _celery_for.cache_clear()
    assert sample(text, "liveslice_broker_up") == 1
    assert sample(text, "liveslice_queue_depth", queue="render") == 2
    assert sample(text, "liveslice_queue_depth", queue="analysis") == 0
