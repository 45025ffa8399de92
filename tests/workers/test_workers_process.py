"""Real ``celery worker`` processes on real brokers and databases.

Backends: the embedded Valkey and kombu's SQLAlchemy transport always run; a real Redis runs with
``LIVESLICE_TEST_REDIS_URL``; PostgreSQL (a fresh schema) runs with ``LIVESLICE_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from runtime.config import Settings
from store.models import utcnow
from tests.conftest import make_settings
from tests.workers.conftest import WorkerHandle, add_probe_job, job_row, recording_row, running_backend, wait_for_job
from workers.dispatch import enqueue_job
from workers.reconcile import reconcile

BACKENDS = ["embedded-sqlite", "sqla-sqlite", "redis-sqlite", "embedded-postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for one broker/database pair, with the broker running; cleaned up afterwards."""
    with running_backend(request, tmp_path, monkeypatch) as settings:
        yield settings


def test_worker_process_runs_jobs(
    backend: Settings,
    run_worker_process: Callable[[Settings], WorkerHandle],
    small_mp4: Path,
    bad_file: Path,
) -> None:
    settings = backend
    good_rec, good_job = add_probe_job(settings, small_mp4)
    bad_rec, bad_job = add_probe_job(settings, bad_file)
    assert enqueue_job(settings, good_job) and enqueue_job(settings, bad_job)
    sent = job_row(settings, good_job)
    assert sent.enqueued_at is not None and sent.celery_task_id
    assert not enqueue_job(settings, good_job)  # already sent: no second message

    worker = run_worker_process(settings)

    job = wait_for_job(settings, good_job, log=worker.log)
    assert job.status == "succeeded" and job.attempts == 1, job.error
    recording = recording_row(settings, good_rec)
    assert recording.status == "ready" and (recording.width, recording.height) == (320, 240)
    job = wait_for_job(settings, bad_job, log=worker.log)
    assert job.status == "failed" and job.attempts == 1
    assert recording_row(settings, bad_rec).status == "failed"

    # A job whose message never went out (broker down at ingest): the reconciler sends it.
    late_rec, late_job = add_probe_job(settings, small_mp4, created_at=utcnow() - timedelta(minutes=1))
    report = reconcile(settings)
    assert report.resent == [late_job]
    assert wait_for_job(settings, late_job, log=worker.log).status == "succeeded"
    assert recording_row(settings, late_rec).status == "ready"
    assert reconcile(settings).checked == 0

    assert worker.process.stop() == 0  # warm shutdown
    assert b"liveslice.probe_recording" in worker.log.read_bytes()


def test_worker_on_embedded_broker_needs_it_running(tmp_path: Path) -> None:
    import subprocess

    from liveslice.serve import child_env

    settings = make_settings(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", "import workers.app as m; m.app"],
        env=child_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode != 0 and "start `liveslice serve` or set LIVESLICE_BROKER_URL" in out.stderr
