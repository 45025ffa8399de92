"""Job row lifecycle: claim, heartbeat, succeed, fail, requeue. The database is the source of truth.

Every transition is a conditional UPDATE in its own transaction, so duplicate deliveries of a
task (acks_late redelivery, a reconciler re-send) cannot both run a job or undo a finished one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from pipeline.errors import TRANSIENT_ERRORS as TRANSIENT_ERRORS  # re-exported
from runtime.config import Settings
from store.db import session_scope
from store.models import Job, Recording, utcnow

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
ACTIVE = (QUEUED, RUNNING)
#: Starts of one job (task retries, worker losses) before it is failed for good.
MAX_ATTEMPTS = 8


def stale_after(settings: Settings) -> timedelta:
    """A running job whose heartbeat is older than this lost its worker: the reconciler re-sends it and
    a delivery may take it over. A live worker beats every ``heartbeat_seconds`` however long it works."""
    return timedelta(seconds=settings.stale_seconds)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes (stored as UTC); make them comparable with aware ones."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker now runs."""

    id: str
    kind: str
    recording_id: str | None
    attempt: int
    options: dict[str, Any] = field(default_factory=dict)


def latest_job_id(settings: Settings, *, recording_id: str, kind: str) -> str | None:
    """The newest job of ``kind`` for a recording, if any."""
    with session_scope(settings.database_url) as session:
        stmt = (
            select(Job.id)
            .where(Job.recording_id == recording_id, Job.kind == kind)
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return session.scalars(stmt).first()


def claim_job(
    settings: Settings, job_id: str, *, task_id: str | None = None, now: datetime | None = None
) -> ClaimedJob | None:
    """Mark the job running (attempts + 1) and return it, or ``None`` if there is nothing to do.

    Nothing to do: the job is gone, finished, cancelled, out of attempts, or running in a live worker
    (a fresh heartbeat). That includes Redis redelivering a long task's message after its visibility
    timeout: a job never runs twice at once. A job whose worker died is taken over once its heartbeat
    is stale (the reconciler re-sends it): a compare-and-set on that stale heartbeat, so a late beat
    of a live worker wins.
    """
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None:
            log.warning("job=%s not found; nothing to do", job_id)
            return None
        if job.status in TERMINAL:
            log.info("job=%s kind=%s already %s; nothing to do", job.id, job.kind, job.status)
            return None
        beat = as_utc(job.heartbeat_at)
        if job.status == RUNNING and beat and now - beat < stale_after(settings):
            # checked before the cancel flag: a live worker sees that flag at its next beat and stops its own
            # work; cancelling the row here would let the pipeline move on while that worker still writes
            log.info("job=%s kind=%s is running in a live worker; skipping delivery task=%s", job.id, job.kind, task_id)
            return None
        if job.cancel_requested:
            mark_cancelled(session, job.id, now=now)
            log.info("job=%s kind=%s cancelled before it started", job.id, job.kind)
            return None
        if job.attempts >= MAX_ATTEMPTS:
            mark_failed(session, job.id, f"gave up after {job.attempts} attempts", now=now)
            return None
        result = session.execute(
            update(Job)
            .where(
                Job.id == job.id,
                Job.status == job.status,
                Job.attempts == job.attempts,
                Job.heartbeat_at.is_(None) if job.heartbeat_at is None else Job.heartbeat_at == job.heartbeat_at,
            )
            .values(
                status=RUNNING,
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
                progress=0.0,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            log.info("job=%s was claimed by another delivery", job.id)
            return None
        claimed = ClaimedJob(job.id, job.kind, job.recording_id, job.attempts + 1, dict(job.options or {}))
    log.info(
        "job=%s kind=%s recording=%s attempt=%d started",
        claimed.id,
        claimed.kind,
        claimed.recording_id,
        claimed.attempt,
    )
    return claimed


def mark_succeeded(
    session: Session,
    job_id: str,
    result: dict[str, Any],
    *,
    attempt: int | None = None,
    now: datetime | None = None,
) -> bool:
    """In ``session``'s transaction: active -> succeeded. False if the job had finished, or (with
    ``attempt``) was taken over by a later attempt."""
    values = {"status": SUCCEEDED, "result": result, "error": None, "progress": 1.0, "stage": "done"}
    return _finish(session, job_id, values, attempt=attempt, now=now)


def mark_failed(
    session: Session,
    job_id: str,
    error: str,
    *,
    result: dict[str, Any] | None = None,
    attempt: int | None = None,
    now: datetime | None = None,
) -> bool:
    """In ``session``'s transaction: queued/running -> failed; a failed probe also fails its recording."""
    values: dict[str, Any] = {"status": FAILED, "error": error, "stage": "failed"}
    if result is not None:
        values["result"] = result
    done = _finish(session, job_id, values, attempt=attempt, now=now)
    if done:
        job = session.get(Job, job_id)
        if job is not None and job.kind == "probe" and job.recording_id:
            session.execute(
                update(Recording)
                .where(Recording.id == job.recording_id, Recording.status == "probing")
                .values(status="failed", error=error)
                .execution_options(synchronize_session=False)
            )
        log.warning("job=%s failed: %s", job_id, error)
    return done


def mark_cancelled(session: Session, job_id: str, *, attempt: int | None = None, now: datetime | None = None) -> bool:
    return _finish(session, job_id, {"status": CANCELLED, "stage": "cancelled"}, attempt=attempt, now=now)


def _finish(
    session: Session, job_id: str, values: dict[str, Any], *, attempt: int | None, now: datetime | None
) -> bool:
    now = now or utcnow()
    fence = [Job.attempts == attempt] if attempt is not None else []
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(ACTIVE), *fence)
        .values(finished_at=now, heartbeat_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return bool(getattr(result, "rowcount", 0))


def fail_job(settings: Settings, job_id: str, error: str) -> bool:
    """Fail an active job in its own transaction (used when a task gives up)."""
    with session_scope(settings.database_url) as session:
        return mark_failed(session, job_id, error)


def requeue_job(settings: Settings, job_id: str, error: str, *, now: datetime | None = None) -> bool:
    """running -> queued after a transient error; Celery re-sends the same task id with a countdown."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING)
            .values(status=QUEUED, stage="retrying", error=f"retrying after: {error}", enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


class Heartbeat:
    """While a job runs, bump ``heartbeat_at`` every ``interval`` seconds (and report progress).

    ``cancel_requested`` turns true once someone asks the job to stop. With ``attempt`` (the claim's),
    a beat is fenced to that attempt: it also wins back a job the reconciler re-sent after a late beat
    (queued again, not yet claimed), and ``lost`` turns true once a later attempt has taken the job over.
    """

    def __init__(
        self, settings: Settings, job_id: str | None, *, attempt: int | None = None, interval: float | None = None
    ) -> None:
        self.settings = settings
        self.job_id = job_id
        self.attempt = attempt
        self.interval = interval if interval is not None else settings.heartbeat_seconds
        self.cancel_requested = False
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def should_stop(self) -> bool:
        """Cancellation was asked, or the job now belongs to another attempt."""
        return self.cancel_requested or self.lost

    def beat(self, *, stage: str | None = None, progress: float | None = None, now: datetime | None = None) -> bool:
        """Record liveness (and optional stage/progress) at ``now``; returns whether the job should stop."""
        if self.job_id is None:
            return False
        values: dict[str, Any] = {"heartbeat_at": now or utcnow()}
        if stage is not None:
            values["stage"] = stage
        if progress is not None:
            values["progress"] = max(0.0, min(1.0, progress))
        mine = [Job.status == RUNNING]
        if self.attempt is not None:
            mine = [Job.attempts == self.attempt, or_(Job.status == RUNNING, Job.status == QUEUED)]
            values["status"] = RUNNING
        try:
            with session_scope(self.settings.database_url) as session:
                result = session.execute(
                    update(Job)
                    .where(Job.id == self.job_id, *mine)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if self.attempt is not None and getattr(result, "rowcount", 0) != 1:
                    self.lost = True
                    log.warning("job=%s attempt %d was taken over or finished elsewhere", self.job_id, self.attempt)
                self.cancel_requested = bool(session.scalar(select(Job.cancel_requested).where(Job.id == self.job_id)))
        except sa_exc.SQLAlchemyError as exc:
            log.warning("job=%s heartbeat failed: %s", self.job_id, exc)
        return self.should_stop

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def __enter__(self) -> Heartbeat:
        if self.job_id is not None:
            self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.job_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
