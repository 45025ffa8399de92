"""Recovery after a worker is lost, with the default settings and time given as ``now=`` (no sleeps):
a silent job is taken over within a minute, a long job that keeps beating never is."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from pipeline.jobs import Heartbeat, claim_job, mark_succeeded
from runtime.broker import EmbeddedBroker
from runtime.config import Settings
from store.db import session_scope
from store.models import Job, utcnow
from tests.workers.conftest import AddJob, job_row
from workers.reconcile import reconcile

RECOVERY_BUDGET = timedelta(seconds=60)


def _running(settings: Settings, add_job: AddJob, at: datetime) -> str:
    """A job claimed at ``at`` by a worker (attempt 1), as a real claim leaves it."""
    _, job_id = add_job(None)
    assert claim_job(settings, job_id, task_id="worker-a", now=at) is not None
    return job_id


def _recovery_time(settings: Settings, add_job: AddJob, *, phase: float) -> timedelta:
    """A worker beats, then is killed right after that beat (the worst case); reconciler passes run
    every ``reconcile_seconds``, the first ``phase`` seconds after the kill. How long until the job is
    re-sent, and a new delivery takes it over."""
    t0 = utcnow()
    job_id = _running(settings, add_job, t0)
    killed = t0 + timedelta(seconds=settings.heartbeat_seconds)
    with Heartbeat(settings, job_id, attempt=1) as heartbeat:
        assert heartbeat.beat(now=killed) is False
    now = killed + timedelta(seconds=phase)
    while job_id not in reconcile(settings, now=now).resent:
        assert now - killed < timedelta(minutes=10), "never re-sent"
        assert job_row(settings, job_id).status == "running"
        now += timedelta(seconds=settings.reconcile_seconds)
    assert job_row(settings, job_id).status == "queued"  # re-sent: the next delivery takes over
    taken = claim_job(settings, job_id, task_id="worker-b", now=now)
    assert taken is not None and taken.attempt == 2
    return now - killed


def test_defaults_take_over_a_killed_job_within_a_minute(
    settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker
) -> None:
    times = [_recovery_time(settings, add_job, phase=phase) for phase in (0.0, 5.0, 10.0, 14.9)]

    assert max(times) <= RECOVERY_BUDGET, times
    assert min(times) >= timedelta(seconds=settings.stale_seconds), times  # not before 4 missed beats


def test_a_delivery_takes_over_a_silent_job_without_the_reconciler(settings: Settings, add_job: AddJob) -> None:
    t0 = utcnow()
    job_id = _running(settings, add_job, t0)

    assert claim_job(settings, job_id, task_id="redelivered", now=t0 + timedelta(seconds=30)) is None
    taken = claim_job(settings, job_id, task_id="redelivered", now=t0 + timedelta(seconds=settings.stale_seconds + 1))

    assert taken is not None and taken.attempt == 2


def test_a_long_healthy_job_that_keeps_beating_is_never_taken_over(
    settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker
) -> None:
    t0 = utcnow()
    job_id = _running(settings, add_job, t0)
    beat_every = timedelta(seconds=settings.heartbeat_seconds)
    heartbeat = Heartbeat(settings, job_id, attempt=1)
    now = t0
    for beat in range(1, 361):  # an hour-long render (ffmpeg busy), beating from its thread
        now = t0 + beat * beat_every
        heartbeat.beat(progress=beat / 400, now=now)
        if beat % 30 == 0:  # every five minutes the reconciler and a duplicate delivery look, just before a beat
            look = now + beat_every - timedelta(milliseconds=1)
            assert reconcile(settings, now=look).resent == []
            assert claim_job(settings, job_id, task_id="duplicate", now=look) is None

    assert heartbeat.should_stop is False
    job = job_row(settings, job_id)
    assert job.status == "running" and job.attempts == 1
    with session_scope(settings.database_url) as session:
        assert mark_succeeded(session, job_id, {"ok": True}, attempt=1)


def test_a_late_beat_beats_the_takeover(settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker) -> None:
    """A worker that was slow to beat (not dead) keeps its job: the re-send is a compare-and-set on the
    stale heartbeat, and a beat after a re-send wins the job back before another worker claims it."""
    t0 = utcnow()
    job_id = _running(settings, add_job, t0)
    late = t0 + timedelta(seconds=settings.stale_seconds + 5)
    heartbeat = Heartbeat(settings, job_id, attempt=1)

    heartbeat.beat(now=late)  # it beats just before the reconciler's pass
    assert reconcile(settings, now=late + timedelta(seconds=1)).resent == []

    later = late + timedelta(seconds=settings.stale_seconds + 5)
    assert reconcile(settings, now=later).resent == [job_id]  # silent again: re-sent
    assert heartbeat.beat(now=later + timedelta(seconds=1)) is False  # but it was alive after all
    assert job_row(settings, job_id).status == "running"
    assert claim_job(settings, job_id, task_id="resent", now=later + timedelta(seconds=2)) is None
    assert job_row(settings, job_id).attempts == 1


def test_the_old_attempt_is_fenced_out_after_a_takeover(settings: Settings, add_job: AddJob) -> None:
    t0 = utcnow()
    job_id = _running(settings, add_job, t0)
    old = Heartbeat(settings, job_id, attempt=1)
    taken = claim_job(settings, job_id, task_id="b", now=t0 + timedelta(seconds=settings.stale_seconds + 1))
    assert taken is not None and taken.attempt == 2

    assert old.beat() is True and old.lost  # the first worker learns it lost the job and stops
    with session_scope(settings.database_url) as session:
        assert not mark_succeeded(session, job_id, {"stale": True}, attempt=1)
        assert mark_succeeded(session, job_id, {"fresh": True}, attempt=2)
    assert job_row(settings, job_id).result == {"fresh": True}


def test_staleness_defaults_and_limits() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.heartbeat_seconds, defaults.stale_seconds, defaults.reconcile_seconds) == (10.0, 40.0, 15.0)
    assert timedelta(seconds=defaults.stale_seconds + defaults.reconcile_seconds) <= RECOVERY_BUDGET
    assert Settings(_env_file=None, heartbeat_seconds=30).stale_seconds == 120.0  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="at least 2"):
        Settings(_env_file=None, heartbeat_seconds=30, stale_after_seconds=40)  # type: ignore[call-arg]


def test_running_job_without_a_heartbeat_counts_from_its_start(
    settings: Settings, add_job: AddJob, embedded_broker: EmbeddedBroker
) -> None:
    t0 = utcnow()
    _, job_id = add_job(None)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).values(status="running", attempts=1, started_at=t0, heartbeat_at=None))

    assert reconcile(settings, now=t0 + timedelta(seconds=10)).resent == []
    assert reconcile(settings, now=t0 + timedelta(seconds=settings.stale_seconds + 1)).resent == [job_id]


def test_a_duplicate_delivery_does_not_cancel_a_running_job_under_its_worker(
    settings: Settings, add_job: AddJob
) -> None:
    """Cancel asked while a worker runs the job: that worker stops it at its next beat; a duplicate delivery
    must not mark the row cancelled meanwhile (the pipeline would move on while the worker still writes)."""
    t0 = utcnow()
    job_id = _running(settings, add_job, t0)
    with session_scope(settings.database_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
    assert claim_job(settings, job_id, task_id="duplicate", now=t0 + timedelta(seconds=5)) is None
    assert job_row(settings, job_id).status == "running"
    stale = t0 + timedelta(seconds=settings.stale_seconds + 1)  # its worker died: now the flag wins
    assert claim_job(settings, job_id, task_id="late", now=stale) is None
    assert job_row(settings, job_id).status == "cancelled"
