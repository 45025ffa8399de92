"""Analyze jobs run by a real ``celery worker`` process: embedded Valkey + SQLite always, Redis + PostgreSQL
when ``LIVESLICE_TEST_REDIS_URL`` and ``LIVESLICE_TEST_DATABASE_URL`` are set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from runtime.config import Settings
from store.db import session_scope
from store.highlights import highlight_payload, latest_analysis, list_highlights
from store.models import Job, utcnow
from tests.api.highlights.highlight_media import (
    SmallStream,
    add_analyze_job,
    assert_selling_moments_found,
    ingest,
    small_stream,
)
from tests.workers.conftest import WorkerHandle, running_backend, wait_for_job
from workers.dispatch import enqueue_job
from workers.reconcile import reconcile


@pytest.fixture(scope="session")
def stream(tmp_path_factory: pytest.TempPathFactory) -> SmallStream:
    return small_stream(tmp_path_factory)


@pytest.fixture(params=["embedded-sqlite", "redis-postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for one broker/database pair, with the broker running; cleaned up afterwards."""
    with running_backend(request, tmp_path, monkeypatch) as settings:
        yield settings


@pytest.mark.slow
def test_worker_process_analyses_a_recording(
    backend: Settings, run_worker_process: Callable[[Settings], WorkerHandle], stream: SmallStream
) -> None:
    settings = backend
    rec_id = ingest(settings, stream)
    job_id = add_analyze_job(settings, rec_id)
    assert enqueue_job(settings, job_id)

    worker = run_worker_process(settings)

    job = wait_for_job(settings, job_id, log=worker.log)
    assert job.status == "succeeded" and job.attempts == 1, job.error
    assert job.result is not None and job.result["auto"] == 3
    with session_scope(settings.database_url) as session:
        analysis = latest_analysis(session, recording_id=rec_id)
        assert analysis is not None and analysis.job_id == job_id
        first = [highlight_payload(row) for row in list_highlights(session, recording_id=rec_id)]
    assert_selling_moments_found(stream.plan, first)

    # An analyze job whose message never went out (broker down when it was made): the reconciler sends it.
    late_job = add_analyze_job(settings, rec_id)
    with session_scope(settings.database_url) as session:
        late = session.get(Job, late_job)
        assert late is not None
        late.created_at = utcnow() - timedelta(minutes=1)
    report = reconcile(settings)
    assert report.resent == [late_job]
    assert wait_for_job(settings, late_job, log=worker.log).status == "succeeded"
    with session_scope(settings.database_url) as session:
        analysis = latest_analysis(session, recording_id=rec_id)
        assert analysis is not None and analysis.job_id == late_job
        again = [highlight_payload(row) for row in list_highlights(session, recording_id=rec_id)]
    assert [(h["start"], h["end"], h["sku"]) for h in again] == [(h["start"], h["end"], h["sku"]) for h in first]
    assert reconcile(settings).checked == 0

    assert worker.process.stop() == 0
    assert b"liveslice.analyze_recording" in worker.log.read_bytes()
