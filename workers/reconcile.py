"""The reconciler: the database says what should run; make sure the broker has a message for it.

Re-sends jobs that are queued but were never sent (the broker was down at enqueue time), queued
jobs sent before the Redis broker last restarted (it keeps nothing on disk here) or long ago and
never started (message lost), and running jobs whose heartbeat stopped (worker killed: stale after
``Settings.stale_seconds``, 4 missed beats by default). A live worker beats from a thread however long
its ffmpeg runs, so a long healthy job is never taken for dead; and re-sending a running job is a
compare-and-set on its stale heartbeat, so a late beat wins. Jobs out of attempts fail with a reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, false, or_, select

from pipeline import jobs
from pipeline.jobs import MAX_ATTEMPTS, QUEUED, RUNNING, as_utc, mark_cancelled, mark_failed, stale_after
from pipeline.plan import PIPELINE_KINDS
from runtime.broker import BrokerError
from runtime.config import Settings
from store.db import session_scope
from store.models import Job, utcnow
from workers.dispatch import JOB_TASKS, enqueue_job, send_job

log = logging.getLogger(__name__)

LOST_AFTER = timedelta(hours=1)
UNSENT_AFTER = timedelta(seconds=10)
BATCH = 200


@dataclass
class ReconcileReport:
    """What one pass did, by job id."""

    checked: int = 0
    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    advanced: list[str] = field(default_factory=list)  # pipelines that had stages to send
    publications_started: list[str] = field(default_factory=list)  # publish jobs made for due publications
    publications_unknown: list[str] = field(default_factory=list)  # sending when their worker died
    clicks_stored: int = 0  # buffered clicks left by API processes, stored by this pass
    sales_reattributed: list[str] = field(default_factory=list)  # credited by a click stored after them

    @property
    def changed(self) -> bool:
        return bool(
            self.resent
            or self.failed
            or self.cancelled
            or self.not_sent
            or self.advanced
            or self.publications_started
            or self.publications_unknown
        )

    def summary(self) -> str:
        return (
            f"checked {self.checked}, resent {len(self.resent)}, failed {len(self.failed)}, "
            f"cancelled {len(self.cancelled)}, not sent {len(self.not_sent)}, pipelines advanced {len(self.advanced)}, "
            f"publications started {len(self.publications_started)}, unknown {len(self.publications_unknown)}, "
            f"clicks stored {self.clicks_stored}, sales re-attributed {len(self.sales_reattributed)}"
        )


@dataclass(frozen=True)
class _Candidate:
    id: str
    kind: str
    status: str
    token: str | None
    attempts: int
    cancel_requested: bool


def reconcile(
    settings: Settings,
    *,
    now: datetime | None = None,
    stale_after: timedelta | None = None,
    lost_after: timedelta = LOST_AFTER,
    unsent_after: timedelta = UNSENT_AFTER,
    max_attempts: int = MAX_ATTEMPTS,
) -> ReconcileReport:
    """One pass. Safe to run in several processes at once: every change is a compare-and-set.

    ``unsent_after`` leaves a just-created job to the sender that is about to publish it;
    ``lost_after`` should exceed how long a message may legitimately wait in a busy queue.
    """
    now = now or utcnow()
    stale_after = stale_after if stale_after is not None else jobs.stale_after(settings)
    report = ReconcileReport()
    restarted = broker_started_at(settings)
    for job in _candidates(
        settings,
        now=now,
        stale_after=stale_after,
        lost_after=lost_after,
        unsent_after=unsent_after,
        broker_started=restarted,
    ):
        report.checked += 1
        if job.kind not in JOB_TASKS:
            report.skipped.append(job.id)
            log.warning("job=%s kind=%s has no task; left alone", job.id, job.kind)
            continue
        if job.cancel_requested or job.attempts >= max_attempts:
            _finish(settings, job, now=now, report=report)
            continue
        stale_before = now - stale_after if job.status == RUNNING else None
        if send_job(
            settings, job.id, expect_status=job.status, expect_token=job.token, stale_before=stale_before, now=now
        ):
            report.resent.append(job.id)
            log.info("job=%s kind=%s was %s with no live message; re-sent", job.id, job.kind, job.status)
        else:
            report.not_sent.append(job.id)
    _drive_pipelines(settings, report)
    _publications(settings, report)
    _clicks(settings, report)
    return report


#: The reconciler takes only click files at least this old: fresh ones are the live drainer's.
CLICK_FILES_MIN_AGE = 30.0


def _clicks(settings: Settings, report: ReconcileReport) -> None:
    """Store clicks a crashed or stopped API process left in its buffer (only files older than
    :data:`CLICK_FILES_MIN_AGE`: the live drainer takes the fresh ones), then credit the sales whose
    carried click was still buffered when they arrived (:func:`services.attribution.reattribute_pending`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from services.attribution import reattribute_pending
    from services.clicks import drain_clicks

    try:
        report.clicks_stored = drain_clicks(settings, min_age=CLICK_FILES_MIN_AGE)
    except SQLAlchemyError as exc:  # the files were given back: the next pass retries
        log.warning("reconcile: storing buffered clicks failed: %s", exc)
    try:
        report.sales_reattributed = reattribute_pending(settings)
    except SQLAlchemyError as exc:  # nothing committed for the failed sale: the next pass retries
        log.warning("reconcile: re-attributing sales by their clicks failed: %s", exc)


def _publications(settings: Settings, report: ReconcileReport) -> None:
    """Start due publications that have no live job; a ``sending`` one whose worker died becomes ``unknown``."""
    from pipeline.publishing import reconcile_publications

    published = reconcile_publications(settings, enqueue_job)
    report.publications_started.extend(published.started)
    report.publications_unknown.extend(published.unknown)


def _drive_pipelines(settings: Settings, report: ReconcileReport) -> None:
    """Advance every active pipeline: a stage that finished while its pipeline's next step was lost
    (a crash between commit and send) gets its successors; unsent stages are sent."""
    from pipeline.advance import active_pipelines, drive

    for pipeline_id in active_pipelines(settings, limit=BATCH):
        sent = drive(settings, pipeline_id, send=enqueue_job)
        if sent:
            report.advanced.append(pipeline_id)


def broker_started_at(settings: Settings, *, timeout: float = 2.0) -> datetime | None:
    """When a Redis/Valkey broker last started (``INFO server`` uptime); None for other brokers or when
    it cannot be asked. Redis here keeps nothing on disk: a message sent before a restart is gone."""
    from kombu import Connection
    from kombu.exceptions import KombuError
    from redis.exceptions import RedisError

    from workers.app import get_celery

    try:
        celery = get_celery(settings)
        url = str(celery.conf.broker_url)
        if not url.startswith(("redis", "rediss", "valkey")):
            return None
        options = {
            **dict(celery.conf.broker_transport_options or {}),
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
        }
        with Connection(url, connect_timeout=timeout, transport_options=options) as conn:
            info = conn.default_channel.client.info("server")
    except (OSError, KombuError, RedisError, BrokerError) as exc:
        log.debug("broker uptime unknown: %s", exc)
        return None
    # uptime is whole seconds: a second earlier is a start time the broker surely had by then
    return utcnow() - timedelta(seconds=int(info.get("uptime_in_seconds", 0)) + 1)


def _candidates(
    settings: Settings,
    *,
    now: datetime,
    stale_after: timedelta,
    lost_after: timedelta,
    unsent_after: timedelta,
    broker_started: datetime | None = None,
) -> list[_Candidate]:
    # judged by the heartbeat alone: a claim sets it, and a live worker beats however long it works
    silent = or_(
        Job.heartbeat_at < now - stale_after,
        and_(Job.heartbeat_at.is_(None), or_(Job.started_at.is_(None), Job.started_at < now - stale_after)),
    )
    # Sent before the broker (re)started: the message died with it. Re-sending one that survived
    # is harmless: claiming the job lets only one delivery run it.
    lost_in_restart = and_(Job.status == QUEUED, Job.enqueued_at < broker_started) if broker_started else false()
    stmt = (
        select(Job)
        .where(
            Job.kind.not_in(PIPELINE_KINDS),  # pipelines have no message of their own: _drive_pipelines
            or_(
                and_(Job.status == QUEUED, Job.enqueued_at.is_(None), Job.created_at < now - unsent_after),
                and_(Job.status == QUEUED, Job.enqueued_at < now - lost_after),
                lost_in_restart,
                and_(Job.status == RUNNING, silent),
            ),
        )
        .order_by(Job.created_at)
        .limit(BATCH)
    )
    with session_scope(settings.database_url) as session:
        return [
            _Candidate(j.id, j.kind, j.status, j.celery_task_id, j.attempts, bool(j.cancel_requested))
            for j in session.scalars(stmt)
        ]


def _finish(settings: Settings, job: _Candidate, *, now: datetime, report: ReconcileReport) -> None:
    with session_scope(settings.database_url) as session:
        current = session.get(Job, job.id)
        if current is None or current.status != job.status or current.celery_task_id != job.token:
            return  # changed since we looked: the next pass decides
        beat = as_utc(current.heartbeat_at)
        if current.status == RUNNING and beat is not None and now - beat < stale_after(settings):
            return  # its worker beat since we looked: it is alive, and finishes (or stops) the job itself
        if job.cancel_requested:
            if mark_cancelled(session, job.id, now=now):
                report.cancelled.append(job.id)
            return
        reason = (
            f"gave up after {job.attempts} attempts: the job never finished "
            "(its worker was lost or its message disappeared each time)"
        )
        if mark_failed(session, job.id, reason, now=now):
            report.failed.append(job.id)
