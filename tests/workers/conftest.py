"""Fixtures for worker tests: recordings with probe jobs, real worker processes, the embedded broker."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from liveslice.serve import SupervisedProcess, start_worker
from runtime.broker import EmbeddedBroker
from runtime.config import Settings
from services.storage import get_storage
from store.db import session_scope
from store.models import Job, Recording
from tests.conftest import make_settings
from workers.app import CONFIG_ENV, _celery_for

AddJob = Callable[..., tuple[str, str]]


def add_probe_job(
    settings: Settings,
    source: Path | None,
    *,
    created_at: datetime | None = None,
    registered: bool = False,
) -> tuple[str, str]:
    """A recording in status "probing" and its queued probe job, as ingest leaves them (no message sent).

    The file is copied into the store unless ``registered`` (then the recording points at ``source``).
    """
    with session_scope(settings.database_url) as session:
        recording = Recording(title="test", source="upload", original_filename="in.mp4", status="probing")
        session.add(recording)
        session.flush()
        if source is not None and registered:
            recording.source_path = str(source)
        elif source is not None:
            key = f"recordings/{recording.id}/source{source.suffix}"
            get_storage(settings.media_root).import_file(key, source)
            recording.storage_key = key
        else:
            recording.storage_key = f"recordings/{recording.id}/missing.mp4"
        job = Job(kind="probe", recording_id=recording.id, status="queued", stage="probe")
        if created_at is not None:
            job.created_at = created_at
        session.add(job)
        session.flush()
        return recording.id, job.id


@pytest.fixture
def add_job(settings: Settings) -> AddJob:
    def add(source: Path | None, **kwargs: Any) -> tuple[str, str]:
        return add_probe_job(settings, source, **kwargs)

    return add


def job_row(settings: Settings, job_id: str) -> Job:
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def recording_row(settings: Settings, recording_id: str) -> Recording:
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None
        session.expunge(recording)
        return recording


def wait_for_job(settings: Settings, job_id: str, *, timeout: float = 60.0, log: Path | None = None) -> Job:
    """Poll the database until the job is finished; fail with the worker's log tail on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = job_row(settings, job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    pytest.fail(f"job {job_id} still {job_row(settings, job_id).status} after {timeout}s\n{tail}")


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.mp4"
    path.write_text("these are meeting notes, not a video\n" * 50)
    return path


@pytest.fixture
def embedded_broker(settings: Settings) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(settings)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class WorkerHandle:
    def __init__(self, process: SupervisedProcess, log: Path) -> None:
        self.process = process
        self.log = log


@pytest.fixture
def run_worker_process(tmp_path: Path) -> Iterator[Callable[[Settings], WorkerHandle]]:
    """Start a real ``celery worker`` child process; it is always stopped (then killed) afterwards."""
    started: list[tuple[SupervisedProcess, Any]] = []

    def start(settings: Settings) -> WorkerHandle:
        log_path = tmp_path / f"worker-{len(started)}.log"
        log_file = log_path.open("wb")
        process = start_worker(settings, concurrency=1, stdout=log_file)
        process.stop_timeout = 20.0
        started.append((process, log_file))
        return WorkerHandle(process, log_path)

    yield start
    for process, log_file in started:
        process.stop()
        log_file.close()


def _celery_config_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    """Keep this test's keys apart on a shared Redis (a key prefix), for the worker and for us."""
    folder = tmp_path / "celeryconf"
    folder.mkdir()
    name = f"lstest_celeryconf_{prefix[7:15]}"
    (folder / f"{name}.py").write_text(f"broker_transport_options = {{'global_keyprefix': {prefix!r}}}\n")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", str(folder))
    monkeypatch.setenv(CONFIG_ENV, name)


@contextmanager
def running_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings for the ``broker-database`` pair in ``request.param``, broker running; cleaned up afterwards."""
    broker, database = request.param.split("-")
    overrides: dict[str, object] = {}
    if database == "postgres":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    prefix = ""
    if broker == "redis":
        overrides["broker_url"] = request.getfixturevalue("redis_url")
        prefix = f"lstest-{secrets.token_hex(4)}:"
        _celery_config_module(tmp_path, monkeypatch, prefix)
    elif broker == "amqp":
        overrides["broker_url"] = request.getfixturevalue("amqp_url")
    elif broker == "sqla":
        overrides["broker_url"] = "sqla"
    settings = make_settings(tmp_path, **overrides)
    _celery_for.cache_clear()
    embedded = EmbeddedBroker(settings) if broker == "embedded" else None
    if embedded is not None:
        embedded.start()
    try:
        yield settings
    finally:
        if embedded is not None:
            embedded.stop()
        _celery_for.cache_clear()
        if prefix:
            client = redis.Redis.from_url(settings.broker_url)
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)
