"""Sending job rows to the broker. Call after the transaction that created the job has committed.

A send first claims the job with a compare-and-set on ``celery_task_id`` (a fresh id per send),
so two senders (ingest and the reconciler) never both publish it; a failed publish undoes the claim.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from kombu.exceptions import KombuError
from sqlalchemy import or_, update

from pipeline.jobs import QUEUED
from runtime.broker import BrokerError, mask_url
from runtime.config import Settings
from store.db import session_scope
from store.models import Job, utcnow

log = logging.getLogger(__name__)

#: job kind -> (task name, queue)
JOB_TASKS: dict[str, tuple[str, str]] = {
    "probe": ("liveslice.probe_recording", "analysis"),
    "analyze": ("liveslice.analyze_recording", "analysis"),
    "render": ("liveslice.render_clip", "render"),
    "variant": ("liveslice.render_variant", "render"),  # one leader's variant, on first request
    # pipeline stages (see pipeline.plan); the pipeline jobs themselves have no task: stages drive them
    "signals": ("liveslice.stage_signals", "analysis"),
    "highlights": ("liveslice.stage_highlights", "analysis"),
    "find_product": ("liveslice.stage_find_product", "analysis"),
    "clip_render": ("liveslice.stage_clip", "render"),
    "clip_variants": ("liveslice.stage_clip", "render"),
    "clip_covers": ("liveslice.stage_clip", "render"),
    "finalize": ("liveslice.stage_finalize", "analysis"),
    "publish": ("liveslice.publish", "publish"),
}
PUBLISH_ERRORS: tuple[type[BaseException], ...] = (BrokerError, KombuError, OSError)


class UnknownJobKind(ValueError):
    """No task is registered for a job kind."""


def task_for(kind: str) -> tuple[str, str]:
    """The (task name, queue) that runs jobs of ``kind``."""
    try:
        return JOB_TASKS[kind]
    except KeyError:
        raise UnknownJobKind(f"no task runs jobs of kind {kind!r}; known: {', '.join(sorted(JOB_TASKS))}") from None


def task_subject(job: Job) -> str | None:
    """The task's positional argument: the clip of a render job or clip stage, the variant of a variant
    job, the pipeline of a pipeline-wide stage, else the job's recording."""
    if job.kind == "variant":
        return str((job.options or {}).get("variant_id") or "") or None
    if job.kind == "render" or job.kind.startswith("clip_"):
        return str((job.options or {}).get("clip_id") or "") or None
    if job.kind in ("finalize", "find_product"):
        return job.parent_id
    if job.kind == "publish":
        return str((job.options or {}).get("publication_id") or "") or None
    return job.recording_id


def task_limits(job: Job) -> dict[str, int]:
    """Per-message Celery time limits stored on the job (renders scale with the clip's duration)."""
    limits = (job.options or {}).get("time_limits")
    if not limits:
        return {}
    soft, hard = (int(v) for v in limits)
    return {"soft_time_limit": soft, "time_limit": hard}


def enqueue_job(settings: Settings, job_id: str, *, countdown: float | None = None) -> bool:
    """Send a queued, never-sent job's task; True if it was sent now.

    False if the broker is unavailable (warning logged, job left queued and unsent: the reconciler
    sends it later, so this delays the job but never loses it), or if the job was sent already.
    """
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None:
            log.warning("job=%s not found; nothing to enqueue", job_id)
            return False
        if job.status != QUEUED or job.enqueued_at is not None:
            log.info(
                "job=%s is %s and %s; not sent again",
                job_id,
                job.status,
                "was sent already" if job.enqueued_at else "not queued",
            )
            return False
        token = job.celery_task_id
    return send_job(settings, job_id, expect_status=QUEUED, expect_token=token, countdown=countdown)


def send_job(
    settings: Settings,
    job_id: str,
    *,
    expect_status: str,
    expect_token: str | None,
    stale_before: datetime | None = None,
    now: datetime | None = None,
    countdown: float | None = None,
) -> bool:
    """Publish the job's task if the row still has ``expect_status`` and ``expect_token`` (and, with
    ``stale_before``, a heartbeat older than that: a running job whose worker beat late stays its own).

    On success the row is ``queued`` with a new ``celery_task_id`` and ``enqueued_at``. Returns False
    if another sender won the race or publishing failed (the row is then restored).
    """
    now = now or utcnow()
    token = uuid.uuid4().hex
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None:
            return False
        name, queue = task_for(job.kind)
        subject, previous_enqueued, limits = task_subject(job), job.enqueued_at, task_limits(job)
        token_matches = Job.celery_task_id.is_(None) if expect_token is None else Job.celery_task_id == expect_token
        stale = [] if stale_before is None else [or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale_before)]
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == expect_status, token_matches, *stale)
            .values(status=QUEUED, celery_task_id=token, enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            log.info("job=%s was sent by someone else; skipping", job_id)
            return False
    try:
        from workers.app import get_celery

        celery = get_celery(settings)
        later: dict[str, float] = {"countdown": countdown} if countdown else {}
        celery.send_task(name, args=[subject], kwargs={"job_id": job_id}, queue=queue, task_id=token, **limits, **later)
    except PUBLISH_ERRORS as exc:
        log.warning("job=%s not sent (left %s for the reconciler): %s", job_id, expect_status, exc)
        with session_scope(settings.database_url) as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.celery_task_id == token)
                .values(status=expect_status, celery_task_id=expect_token, enqueued_at=previous_enqueued)
                .execution_options(synchronize_session=False)
            )
        return False
    log.info("job=%s task=%s sent to %s on %s", job_id, token, queue, mask_url(str(celery.conf.broker_url)))
    return True
