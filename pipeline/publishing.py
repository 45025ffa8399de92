"""The publish job: one delivery attempt of a publication (``services.delivery.deliver``) under the job
lifecycle, on the ``publish`` queue; and the dispatch that starts due publications.

A publication gets a fresh ``publish`` job each time it becomes due (its ``job_id`` points at the latest);
the job row names it in ``options["publication_id"]``. :func:`dispatch` starts publications right after
the commit that made them due (with a Celery countdown when due within a minute); the reconciler's
:func:`reconcile_publications` starts whatever is due and has no live job, and turns a ``sending``
publication whose worker died into ``unknown``. A compare-and-set on ``job_id`` and on the publication's
status keeps two dispatchers from sending one post twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from pipeline.jobs import ACTIVE, QUEUED
from pipeline.lifecycle import JobContext, JobOutcome, run_job
from runtime.config import Settings
from services.delivery import deliver
from services.publishing import DUE_STATES, as_utc, due_publication_ids, expire_stuck_sending
from store.db import session_scope
from store.models import Job, Publication, utcnow

log = logging.getLogger(__name__)

PUBLISH_KIND = "publish"
#: A publication due within this many seconds is sent now with a Celery countdown.
COUNTDOWN_LIMIT = 60.0

#: ``send(settings, job_id, countdown=None) -> bool``: ``workers.dispatch.enqueue_job``, or in process a runner.
Sender = Callable[..., bool]


def start_publication_job(
    settings: Settings, publication_id: str, send: Sender, *, countdown: float = 0.0
) -> str | None:
    """Give a due (or soon due) publication a new queued ``publish`` job and send it; the job id, or None
    when it has a live job already or is not waiting to be sent."""
    with session_scope(settings.database_url) as session:
        publication = session.get(Publication, publication_id)
        if publication is None or publication.status not in DUE_STATES:
            return None
        previous = publication.job_id
        if previous is not None:
            job = session.get(Job, previous)
            if job is not None and job.status in ACTIVE:
                return None  # queued or running: that job sends it
        job = Job(kind=PUBLISH_KIND, status=QUEUED, stage="publish", options={"publication_id": publication_id})
        session.add(job)
        session.flush()
        won = session.execute(
            update(Publication)
            .where(
                Publication.id == publication_id,
                Publication.status.in_(DUE_STATES),  # never re-point a row a worker has claimed meanwhile
                Publication.job_id.is_(None) if previous is None else Publication.job_id == previous,
            )
            .values(job_id=job.id)
            .execution_options(synchronize_session=False)
        )
        if getattr(won, "rowcount", 0) != 1:
            session.rollback()
            return None
        job_id = job.id
    if countdown > 0:
        send(settings, job_id, countdown=countdown)
    else:
        send(settings, job_id)
    return job_id


def dispatch(settings: Settings, publication_ids: Iterable[str], send: Sender) -> list[str]:
    """After a commit: start each publication due now, or within :data:`COUNTDOWN_LIMIT` (countdown).
    Later ones are left to the reconciler. Returns the job ids started."""
    started = []
    now = utcnow()
    for publication_id in publication_ids:
        with session_scope(settings.database_url) as session:
            publication = session.get(Publication, publication_id)
            due = as_utc(publication.due_at) if publication is not None else None
        if due is None:
            continue
        delay = (due - now).total_seconds()
        if delay > COUNTDOWN_LIMIT:
            continue
        job_id = start_publication_job(settings, publication_id, send, countdown=max(0.0, delay))
        if job_id:
            started.append(job_id)
    return started


def follow_up(settings: Settings, publication_id: str, send: Sender) -> str | None:
    """After an attempt: a publication deferred or retried within a minute is sent again with a countdown."""
    started = dispatch(settings, [publication_id], send)
    return started[0] if started else None


@dataclass
class PublishReport:
    started: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def reconcile_publications(settings: Settings, send: Sender, *, limit: int = 200) -> PublishReport:
    """Start every publication due now without a live job; turn dead ``sending`` ones into ``unknown``."""
    report = PublishReport()
    with session_scope(settings.database_url) as session:
        report.unknown = expire_stuck_sending(settings, session)
        due = due_publication_ids(session, limit=limit)
    for publication_id in due:
        job_id = start_publication_job(settings, publication_id, send)
        if job_id:
            report.started.append(job_id)
    if report.unknown:
        log.warning("publications %s were sending when their worker stopped: now unknown", report.unknown)
    return report


def run_publish_job(
    settings: Settings,
    job_id: str,
    *,
    task_id: str | None = None,
    send: Sender | None = None,
    request_timeout: float | None = None,
) -> JobOutcome:
    """One delivery attempt under :func:`pipeline.lifecycle.run_job`; safe to run twice (the claim on the
    publication is a compare-and-set). ``send`` starts a leader's variant render when it is missing."""

    def body(ctx: JobContext) -> dict[str, Any]:
        publication_id = str(ctx.job.options.get("publication_id") or "")
        status = deliver(settings, publication_id, job_id=ctx.job.id, send=send, request_timeout=request_timeout)
        return {"publication_id": publication_id, "status": status}

    return run_job(settings, job_id, body, task_id=task_id)
