"""The reconciler and dispatch against a real embedded broker (messages counted in Valkey)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import update

from pipeline.jobs import MAX_ATTEMPTS
from runtime.broker import EmbeddedBroker
from runtime.config import Settings
from store.db import session_scope
from store.models import Job, utcnow
from tests.workers.conftest import AddJob, job_row, recording_row
from workers.dispatch import UnknownJobKind, enqueue_job, send_job, task_for
from workers.reconcile import reconcile


def _queue_length(broker: EmbeddedBroker) -> int:
    assert broker.socket_path is not None
    return int(redis.Redis(unix_socket_path=str(broker.socket_path)).llen("analysis"))


def test_enqueue_without_a_broker_leaves_the_job_queued(settings: Settings, add_job: AddJob) -> None:
    _, job_id = add_job(None)

    assert enqueue_job(settings, job_id) is False

    job = job_row(settings, job_id)
    assert job.status == "queued" and job.enqueued_at is None and job.celery_task_id is None
    assert reconcile(settings, now=utcnow() + timedelta(minutes=1)).not_sent == [job_id]  # still no broker
    assert job_row(settings, job_id).enqueued_at is None


def test_unsent_job_is_sent_once(
    settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker, small_mp4: Path
) -> None:
    _, job_id = add_job(small_mp4)
    assert reconcile(settings).checked == 0  # just created: its sender is about to publish it

    later = utcnow() + timedelta(minutes=1)
    report = reconcile(settings, now=later)
    again = reconcile(settings, now=later)

    assert report.resent == [job_id] and again.checked == 0
    assert _queue_length(embedded_broker) == 1
    job = job_row(settings, job_id)
    assert job.status == "queued" and job.enqueued_at is not None and job.celery_task_id
    assert enqueue_job(settings, job_id) is False and _queue_length(embedded_broker) == 1


def test_lost_message_is_sent_again(settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker) -> None:
    _, job_id = add_job(None)
    assert enqueue_job(settings, job_id)
    first = job_row(settings, job_id).celery_task_id
    redis.Redis(unix_socket_path=str(embedded_broker.socket_path)).delete("analysis")  # the message is lost

    assert reconcile(settings, now=utcnow() + timedelta(minutes=30)).checked == 0  # may just be waiting
    report = reconcile(settings, now=utcnow() + timedelta(hours=2))

    assert report.resent == [job_id] and _queue_length(embedded_broker) == 1
    assert job_row(settings, job_id).celery_task_id != first


def test_running_job_with_a_dead_worker_is_sent_again(
    settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker
) -> None:
    recording_id, job_id = add_job(None)
    started = utcnow() - timedelta(minutes=20)
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Job).values(
                status="running", attempts=1, started_at=started, heartbeat_at=started, enqueued_at=started
            )
        )
    _, fresh_job = add_job(None)
    with session_scope(settings.database_url) as session:
        now = utcnow()
        session.execute(
            update(Job).where(Job.id == fresh_job).values(status="running", started_at=now, heartbeat_at=now)
        )

    report = reconcile(settings)

    assert report.resent == [job_id] and _queue_length(embedded_broker) == 1
    job = job_row(settings, job_id)
    assert job.status == "queued" and job.attempts == 1  # attempts count starts, not sends
    assert job_row(settings, fresh_job).status == "running"
    assert recording_row(settings, recording_id).status == "probing"


def test_job_out_of_attempts_fails_with_a_reason(
    settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker
) -> None:
    recording_id, job_id = add_job(None)
    old = utcnow() - timedelta(hours=1)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).values(status="running", attempts=MAX_ATTEMPTS, heartbeat_at=old, started_at=old))

    report = reconcile(settings)

    assert report.failed == [job_id] and _queue_length(embedded_broker) == 0
    job = job_row(settings, job_id)
    assert job.status == "failed" and "gave up after" in (job.error or "")
    recording = recording_row(settings, recording_id)
    assert recording.status == "failed" and recording.error == job.error


def test_cancel_requested_job_is_cancelled_not_sent(
    settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker
) -> None:
    _, job_id = add_job(None, created_at=utcnow() - timedelta(minutes=5))
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).values(cancel_requested=True))

    assert reconcile(settings).cancelled == [job_id]
    assert job_row(settings, job_id).status == "cancelled" and _queue_length(embedded_broker) == 0


def test_compare_and_set_lets_one_sender_win(
    settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker
) -> None:
    _, job_id = add_job(None)
    assert send_job(settings, job_id, expect_status="queued", expect_token=None)
    assert not send_job(settings, job_id, expect_status="queued", expect_token=None)  # the stale view loses
    assert _queue_length(embedded_broker) == 1


def test_unknown_job_kinds(settings: Settings, add_job: AddJob) -> None:
    _, job_id = add_job(None, created_at=utcnow() - timedelta(minutes=5))
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).values(kind="teleport"))
    with pytest.raises(UnknownJobKind, match="teleport"):
        task_for("teleport")
    assert reconcile(settings).skipped == [job_id]
    assert task_for("probe") == ("liveslice.probe_recording", "analysis")
