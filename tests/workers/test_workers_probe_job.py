"""The probe job body, in-process (no Celery), on real media made with ffmpeg."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from liveslice.serve import settings_env
from pipeline.jobs import MAX_ATTEMPTS, Heartbeat, claim_job
from pipeline.probing import run_probe_job
from runtime.config import Settings, get_settings
from services.media_files import recording_source
from store.db import session_scope
from store.models import Job, utcnow
from tests.workers.conftest import AddJob, job_row, recording_row


def test_good_file_makes_recording_ready_with_facts(settings: Settings, add_job: AddJob, small_mp4: Path) -> None:
    recording_id, job_id = add_job(small_mp4)

    run_probe_job(settings, recording_id)

    recording = recording_row(settings, recording_id)
    assert recording.status == "ready" and recording.error is None
    assert (recording.width, recording.height, recording.rotation) == (320, 240, 0)
    assert recording.video_codec == "h264" and recording.audio_codec == "aac"
    assert recording.audio_sample_rate == 48000 and recording.audio_channels == 1
    assert recording.duration is not None and abs(recording.duration - 2.0) < 0.1
    assert recording.fps == 25.0 and recording.variable_frame_rate is False  # the worker's probe is thorough
    assert recording.container and "mp4" in recording.container
    assert recording.probe is not None and recording.probe["width"] == 320
    job = job_row(settings, job_id)
    assert job.status == "succeeded" and job.attempts == 1 and job.progress == 1.0
    assert job.started_at is not None and job.finished_at is not None and job.error is None
    assert job.result is not None and job.result["recording_id"] == recording_id


def test_bad_file_fails_recording_and_job_with_reason(settings: Settings, add_job: AddJob, bad_file: Path) -> None:
    recording_id, job_id = add_job(bad_file)

    run_probe_job(settings, recording_id, job_id=job_id)

    recording = recording_row(settings, recording_id)
    assert recording.status == "failed"
    assert recording.error and "not a media file" in recording.error
    job = job_row(settings, job_id)
    assert job.status == "failed" and job.error == recording.error
    assert job.result == {"code": "not_media"} and job.attempts == 1


def test_missing_file_fails_at_once(settings: Settings, add_job: AddJob) -> None:
    recording_id, job_id = add_job(None)

    run_probe_job(settings, recording_id, job_id=job_id)

    assert recording_row(settings, recording_id).status == "failed"
    job = job_row(settings, job_id)
    assert job.status == "failed" and "missing" in (job.error or "") and job.attempts == 1


def test_running_twice_is_safe(settings: Settings, add_job: AddJob, small_mp4: Path) -> None:
    recording_id, job_id = add_job(small_mp4)
    run_probe_job(settings, recording_id, job_id=job_id)
    first = recording_row(settings, recording_id)
    finished = job_row(settings, job_id).finished_at

    run_probe_job(settings, recording_id, job_id=job_id)  # a redelivered message
    run_probe_job(settings, recording_id)  # a direct call

    second = recording_row(settings, recording_id)
    assert second.status == "ready" and second.probe == first.probe and second.duration == first.duration
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
    job = job_row(settings, job_id)
    assert job.status == "succeeded" and job.attempts == 1 and job.finished_at == finished


def test_without_a_job_reprobes_the_recording(settings: Settings, add_job: AddJob, small_mp4: Path) -> None:
    recording_id, job_id = add_job(small_mp4)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).values(status="cancelled"))  # finished: the job is left alone
        session.execute(update(Job).where(Job.id == job_id).values(recording_id=None))

    run_probe_job(settings, recording_id)

    recording = recording_row(settings, recording_id)
    assert recording.status == "ready" and recording.width == 320
    assert job_row(settings, job_id).status == "cancelled"


def test_registered_path_is_probed_in_place(settings: Settings, add_job: AddJob, small_mp4: Path) -> None:
    recording_id, _ = add_job(small_mp4, registered=True)
    assert recording_source(settings, recording_row(settings, recording_id)) == small_mp4

    run_probe_job(settings, recording_id)

    assert recording_row(settings, recording_id).status == "ready"


def test_claim_skips_a_job_running_in_a_live_worker(settings: Settings, add_job: AddJob) -> None:
    _, job_id = add_job(None)
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Job).values(status="running", attempts=1, heartbeat_at=utcnow(), celery_task_id="task-a")
        )

    assert claim_job(settings, job_id, task_id="task-b") is None  # a duplicate message
    assert claim_job(settings, job_id, task_id="task-a") is None  # its own, redelivered after a visibility timeout
    job = job_row(settings, job_id)
    assert job.status == "running" and job.attempts == 1


def test_claim_takes_over_a_job_whose_worker_died(settings: Settings, add_job: AddJob) -> None:
    _, job_id = add_job(None)
    old = utcnow() - timedelta(minutes=10)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).values(status="running", attempts=1, heartbeat_at=old, celery_task_id="x"))

    claimed = claim_job(settings, job_id, task_id="y")

    assert claimed is not None and claimed.attempt == 2
    assert job_row(settings, job_id).status == "running"


def test_claim_fails_a_job_out_of_attempts(settings: Settings, add_job: AddJob, small_mp4: Path) -> None:
    recording_id, job_id = add_job(small_mp4)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).values(attempts=MAX_ATTEMPTS))

    run_probe_job(settings, recording_id, job_id=job_id)

    job = job_row(settings, job_id)
    assert job.status == "failed" and f"after {MAX_ATTEMPTS} attempts" in (job.error or "")
    assert recording_row(settings, recording_id).status == "failed"


def test_cancelled_job_is_not_run(settings: Settings, add_job: AddJob, small_mp4: Path) -> None:
    recording_id, job_id = add_job(small_mp4)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).values(cancel_requested=True))

    run_probe_job(settings, recording_id, job_id=job_id)

    assert job_row(settings, job_id).status == "cancelled"
    assert recording_row(settings, recording_id).width is None


def test_task_hooks_requeue_on_retry_and_fail_on_give_up(
    settings: Settings, add_job: AddJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.tasks import probe_recording

    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    recording_id, job_id = add_job(None)
    assert claim_job(settings, job_id) is not None

    probe_recording.on_retry(
        OperationalError("SELECT 1", {}, Exception("database is locked")),
        "t1",
        (recording_id,),
        {"job_id": job_id},
        None,
    )
    job = job_row(settings, job_id)
    assert job.status == "queued" and job.stage == "retrying" and "database is locked" in (job.error or "")

    assert claim_job(settings, job_id, task_id="t1") is not None
    probe_recording.on_failure(ConnectionError("broker gone"), "t1", (recording_id,), {"job_id": job_id}, None)
    job = job_row(settings, job_id)
    assert job.status == "failed" and job.error == "ConnectionError: broker gone" and job.attempts == 2
    assert recording_row(settings, recording_id).status == "failed"


def test_heartbeat_records_progress_and_sees_cancellation(settings: Settings, add_job: AddJob) -> None:
    _, job_id = add_job(None)
    assert claim_job(settings, job_id) is not None
    with Heartbeat(settings, job_id, interval=0.05) as beat:
        before = job_row(settings, job_id).heartbeat_at
        time.sleep(0.3)
        assert job_row(settings, job_id).heartbeat_at != before  # the thread beats on its own
        assert beat.beat(stage="decode", progress=1.7) is False
        with session_scope(settings.database_url) as session:
            session.execute(update(Job).values(cancel_requested=True))
        assert beat.beat() is True and beat.cancel_requested
    job = job_row(settings, job_id)
    assert job.stage == "decode" and job.progress == 1.0
