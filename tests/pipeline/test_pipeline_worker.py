"""A processing job through real ``celery worker`` processes on every broker and database it runs on:
embedded Valkey and SQLite, Redis and PostgreSQL, RabbitMQ; two workers on separate queues."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveslice.serve import SupervisedProcess, start_worker
from pipeline.advance import create_pipeline, drive
from pipeline.clipmaking import pipeline_options
from pipeline.status import job_view
from runtime.config import Settings
from services.sidedata_import import import_side_data
from store.db import session_scope
from store.models import Clip, Job
from tests.services.clips.clip_media import CATALOG
from tests.workers.conftest import running_backend
from workers.dispatch import enqueue_job

BACKENDS = ["embedded-sqlite", "redis-postgres", "amqp-sqlite"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    with running_backend(request, tmp_path, monkeypatch) as settings:
        yield settings


def test_a_job_runs_through_an_analysis_worker_and_a_render_worker(
    backend: Settings,
    talk_source: Path,
    tmp_path: Path,
) -> None:
    settings = backend
    from services.ingest import ingest_file
    from store.db import get_sessionmaker

    session = get_sessionmaker(settings.database_url)()
    try:
        rec = ingest_file(settings, session, talk_source, filename="live.mp4", origin="upload", move=False)
        for kind, text in (("catalog", CATALOG), ("timeline", "sku,start,end\nLS-0001,0,30\n")):
            import_side_data(
                settings,
                session,
                kind=kind,
                data=text.encode(),
                filename=f"{kind}.csv",
                recording_id=None if kind == "catalog" else rec.recording.id,
            )
    finally:
        session.close()
    options = pipeline_options(
        clips=1, weight_preset="audio-only", min_len=3.0, max_len=4.0, leaders=[{"name": "Lily"}]
    )
    with session_scope(settings.database_url) as db:
        job, _ = create_pipeline(db, kind="process", recording_id=rec.recording.id, options=options)
        job_id = job.id
    drive(settings, job_id, send=enqueue_job)
    logs: list[Path] = []
    workers: list[SupervisedProcess] = []
    for queue in ("analysis", "render"):
        logs.append(tmp_path / f"{queue}.log")
        workers.append(start_worker(settings, queues=[queue], concurrency=1, stdout=logs[-1].open("wb")))
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with session_scope(settings.database_url) as db:
                row = db.get(Job, job_id)
                assert row is not None
                view = job_view(db, row)
            if view["status"] not in ("queued", "running"):
                break
            time.sleep(0.3)
        tails = "\n".join(p.read_text(errors="replace")[-2000:] for p in logs)
        assert view["status"] == "succeeded", (view["error"], tails)
    finally:
        for worker in workers:
            worker.stop()
    analysis_log, render_log = (p.read_text(errors="replace") for p in logs)
    ran = "Task liveslice.stage_{}["  # Celery's line for a task run (the banner lists every task by name only)
    assert ran.format("highlights") in analysis_log and ran.format("clip") not in analysis_log
    assert ran.format("clip") in render_log and ran.format("signals") not in render_log
    with session_scope(settings.database_url) as db:
        clips = db.query(Clip).all()
        assert len(clips) == 1 and clips[0].status == "ready" and [v.leader_name for v in clips[0].variants] == ["Lily"]
