"""Crash safety with real worker processes on a real Redis: ``kill -9`` mid-render, and a Redis restart
while a job waits. The database is the truth; the reconciler re-sends what the broker lost."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from liveslice.serve import child_env, worker_argv
from pipeline.advance import create_pipeline, drive
from pipeline.clipmaking import pipeline_options
from pipeline.status import job_view
from runtime.config import Settings
from services.ingest import ingest_file
from store import keys as key_store
from store.db import get_sessionmaker, session_scope
from store.models import Clip, Job
from studio.render import get_preset, validate_output
from tests.conftest import make_settings
from tests.workers.conftest import _celery_config_module
from workers.app import _celery_for
from workers.dispatch import enqueue_job
from workers.reconcile import reconcile

pytestmark = pytest.mark.redis
FAST_BEATS = {"heartbeat_seconds": 0.5, "stale_after_seconds": 2.0}


class Workers:
    """Real ``celery worker`` processes in their own process groups, so a test can kill -9 one whole."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings, self.logs, self.procs = settings, logs, []  # type: list[subprocess.Popen[bytes]]

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            worker_argv(concurrency=1),
            env=child_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker, its pool child and the ffmpeg it runs
        proc.wait(timeout=20)

    def tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2500:] for p in sorted(self.logs.glob("worker-*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[Settings], Workers]]:
    made: list[Workers] = []

    def make(settings: Settings) -> Workers:
        made.append(Workers(settings, tmp_path))
        return made[-1]

    yield make
    for w in made:
        w.stop_all()


def redis_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> Iterator[Settings]:
    prefix = f"lstest-{secrets.token_hex(4)}:"
    _celery_config_module(tmp_path, monkeypatch, prefix)
    settings = make_settings(tmp_path, broker_url=url, **FAST_BEATS)
    _celery_for.cache_clear()
    try:
        yield settings
    finally:
        _celery_for.cache_clear()
        try:
            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass  # a private server that is already gone


def start_job(settings: Settings, source: Path, **options: object) -> str:
    session = get_sessionmaker(settings.database_url)()
    try:
        rec = ingest_file(settings, session, source, filename="live.mp4", origin="upload", move=False)
    finally:
        session.close()
    with session_scope(settings.database_url) as session:
        job, _ = create_pipeline(
            session,
            kind="process",
            recording_id=rec.recording.id,
            options=pipeline_options(weight_preset="audio-only", **options),
        )  # type: ignore[arg-type]
        job_id = job.id
    drive(settings, job_id, send=enqueue_job)
    return job_id


def view(settings: Settings, job_id: str) -> dict:
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job_view(session, job)


def reconcile_until_done(settings: Settings, job_id: str, workers: Workers, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reconcile(settings)  # what serve / worker --beat run every LIVESLICE_RECONCILE_SECONDS
        state = view(settings, job_id)
        if state["status"] in ("succeeded", "failed", "cancelled"):
            return state
        time.sleep(0.5)
    pytest.fail(f"job still {view(settings, job_id)['status']}\n{workers.tail()}")


def test_kill_9_mid_render_then_a_worker_finishes_the_job(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    talk_source: Path,
    workers: Callable[[Settings], Workers],
) -> None:
    for settings in redis_settings(tmp_path, monkeypatch, redis_url):
        pool = workers(settings)
        job_id = start_job(settings, talk_source, clips=1, min_len=8.0, max_len=10.0)
        first = pool.start()
        deadline = time.monotonic() + 180
        render = None
        while time.monotonic() < deadline and render is None:
            stages = view(settings, job_id)["stages"]
            render = next(
                (
                    s
                    for s in stages
                    if s["key"].startswith("render:") and s["status"] == "running" and s["progress"] >= 0.1
                ),
                None,
            )
            time.sleep(0.1)
        assert render is not None, pool.tail()
        clip_id = render["key"].split(":", 1)[1]
        with session_scope(settings.database_url) as session:
            key = key_store.create_key(session, name="t", role="admin").secret
        client = TestClient(create_app(settings))
        pool.kill(first)
        response = client.get(f"/media/clips/{clip_id}/clip.mp4", headers={"X-API-Key": key})
        assert response.status_code == 404  # mid-render: nothing is served
        pool.start()
        state = reconcile_until_done(settings, job_id, pool)
        assert state["status"] == "succeeded", (state["error"], pool.tail())
        stage = next(s for s in state["stages"] if s["key"] == render["key"])
        assert stage["attempts"] == 2  # killed once, taken over once
        with session_scope(settings.database_url) as session:
            assert session.scalar(select(func.count()).select_from(Clip)) == len(state["clips"]) == 1
            clip = session.get(Clip, clip_id)
            assert clip is not None and clip.status == "ready"
            video = settings.media_root / (clip.video_key or "")
        validate_output(video, preset=get_preset("douyin"), expected_duration=clip.duration)
        assert [p.name for p in video.parent.iterdir() if p.name.startswith(".")] == []  # no temp leftovers
        served = client.get(f"/media/clips/{clip_id}/clip.mp4", headers={"X-API-Key": key})
        assert served.status_code == 200 and served.content == video.read_bytes()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_server(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    assert binary is not None
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            if client.ping():
                return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


@pytest.mark.needs(shutil.which("redis-server") is not None, "no redis-server binary to restart (apt: redis-server)")
def test_a_redis_restart_while_a_job_waits_loses_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    workers: Callable[[Settings], Workers],
    talk_source: Path,
) -> None:
    port = _free_port()
    server = _redis_server(port, tmp_path)
    try:
        for settings in redis_settings(tmp_path, monkeypatch, f"redis://127.0.0.1:{port}/0"):
            job_id = start_job(settings, talk_source, clips=1, min_len=3.0, max_len=4.0)  # douyin: no test presets
            assert view(settings, job_id)["stages"][0]["status"] == "queued"  # sent, waiting: no worker yet
            client = redis.Redis(port=port)
            assert client.dbsize() > 0
            time.sleep(1.5)  # the job waits (restart detection goes by Redis' uptime, in whole seconds)
            server.terminate()
            server.wait(timeout=20)
            server = _redis_server(port, tmp_path)  # empty: the waiting message is gone
            assert client.dbsize() == 0
            pool = workers(settings)
            pool.start()
            state = reconcile_until_done(settings, job_id, pool)
            assert state["status"] == "succeeded", (state["error"], pool.tail())
            assert all(c["status"] == "ready" for c in state["clips"]) and state["clips"]
    finally:
        server.terminate()
        server.wait(timeout=20)
