"""One job's lifecycle, shared by every job body (probe, analyse, render, the pipeline's stages, and
whatever comes next): claim the row with a compare-and-set, beat a heartbeat, report progress, stop on
a cancel request, classify what the body raised (:mod:`pipeline.errors`) and record the outcome.

A body takes a :class:`JobContext` and returns its result (a JSON-safe dict), or a :class:`Done` whose
``finish(session)`` runs in the transaction that marks the job succeeded (so an analysis and its clip
rows commit with the job, or not at all). ``on_failure(session, job, message)`` runs in the transaction
that fails the job (the probe fails its recording there).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pipeline.errors import CANCEL_ERRORS, PERMANENT_ERRORS, TRANSIENT_ERRORS, JobCancelled, error_code
from pipeline.jobs import (
    CANCELLED,
    FAILED,
    SUCCEEDED,
    ClaimedJob,
    Heartbeat,
    claim_job,
    mark_cancelled,
    mark_failed,
    mark_succeeded,
)
from runtime.config import Settings
from store.db import session_scope
from studio.highlights.run import DETECT_SHARE as DETECT_SHARE  # re-exported
from studio.highlights.run import LOAD_SHARE as LOAD_SHARE
from studio.highlights.run import DetectionProgress, ProgressCallback

log = logging.getLogger(__name__)

SKIPPED, LOST = "skipped", "lost"
PROGRESS_INTERVAL = 1.0  # seconds between progress writes to the job row


class ProgressReporter(DetectionProgress):
    """:class:`~studio.highlights.run.DetectionProgress` that, with a job's ``heartbeat``, also writes the
    progress to the job row (at most once a second, and at each new stage) and stops a cancelled job
    (:class:`JobCancelled`). ``step`` is the share of detection one signal takes (see :meth:`detector`).
    """

    def __init__(self, callback: ProgressCallback | None, signals: int = 1, heartbeat: Heartbeat | None = None) -> None:
        super().__init__(callback, signals)
        self.heartbeat = heartbeat
        self.last_write = 0.0
        self.stage = ""

    def __call__(self, stage: str, fraction: float, *, force: bool = False) -> None:
        super().__call__(stage, fraction)
        now = time.monotonic()
        if self.heartbeat is None:
            return
        if force or stage != self.stage or now - self.last_write >= PROGRESS_INTERVAL:
            self.stage, self.last_write = stage, now
            if self.heartbeat.beat(stage=stage[:32], progress=self.done):
                raise JobCancelled(f"job {self.heartbeat.job_id} was cancelled or taken over")

    def cancelled(self) -> bool:
        """For ``should_cancel`` callbacks (ffmpeg polls it): stop asked, or the job was taken over."""
        return bool(self.heartbeat and self.heartbeat.should_stop)


@dataclass(frozen=True)
class JobContext:
    """What a body gets: the claimed job, its progress reporter and the settings."""

    settings: Settings
    job: ClaimedJob
    report: ProgressReporter


@dataclass(frozen=True)
class Done:
    """A body's result, with ``finish(session)`` run in the success transaction (its dict joins the result)."""

    result: dict[str, Any]
    finish: Callable[[Session], dict[str, Any] | None] | None = None


@dataclass(frozen=True)
class JobOutcome:
    """How a run ended: ``succeeded``, ``failed``, ``cancelled``, ``skipped`` (not claimed: finished,
    running elsewhere, out of attempts) or ``lost`` (taken over by a later attempt while it ran)."""

    job_id: str
    status: str
    result: dict[str, Any] | None = None
    error: str | None = None
    code: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED


@dataclass(frozen=True)
class Failure:
    """What an error means for the job: ``status`` (failed or cancelled), the reason, and whether the
    error must propagate after it is recorded (a bug)."""

    status: str
    message: str
    code: str
    reraise: bool = False


Body = Callable[[JobContext], "dict[str, Any] | Done"]
OnFailure = Callable[[Session, ClaimedJob, str], None]


def _soft_time_limit(exc: BaseException) -> bool:
    """Celery's soft time limit hit the job. Only a Celery worker raises it, and there Celery is loaded
    already; other processes (the API, ``liveslice process``) need not import Celery to know it is not one."""
    exceptions = sys.modules.get("celery.exceptions")
    return exceptions is not None and isinstance(exc, exceptions.SoftTimeLimitExceeded)


def classify(exc: BaseException, *, kind: str = "job") -> Failure | None:
    """The one place errors are sorted. ``None``: transient (or not an ``Exception``), let it propagate
    so Celery retries with backoff (or the reconciler takes over)."""
    if isinstance(exc, TRANSIENT_ERRORS) or not isinstance(exc, Exception):
        return None
    if isinstance(exc, CANCEL_ERRORS):
        return Failure(CANCELLED, str(exc) or "cancelled", "cancelled")
    if _soft_time_limit(exc):
        return Failure(FAILED, f"{kind} took longer than its time limit", "timeout")
    if isinstance(exc, PERMANENT_ERRORS):
        return Failure(FAILED, str(exc) or type(exc).__name__, error_code(exc))
    return Failure(FAILED, f"unexpected error: {type(exc).__name__}: {exc}", "internal", reraise=True)


def run_job(
    settings: Settings,
    job_id: str,
    body: Body,
    *,
    task_id: str | None = None,
    on_progress: ProgressCallback | None = None,
    on_failure: OnFailure | None = None,
) -> JobOutcome:
    """Claim job ``job_id``, run ``body`` under a heartbeat, and record success or why it failed.

    Safe to run twice: a job that is finished, cancelled or running in a live worker is ``skipped``.
    ``on_progress(stage, fraction)`` sees the job's rising progress (unthrottled) and ``("done", 1.0)``.
    Transient errors propagate; the others are recorded (see :func:`classify`), bugs then re-raised.
    """
    claimed = claim_job(settings, job_id, task_id=task_id)
    if claimed is None:
        return JobOutcome(job_id, SKIPPED)
    try:
        with Heartbeat(settings, job_id, attempt=claimed.attempt) as heartbeat:
            report = ProgressReporter(on_progress, 1, heartbeat)
            report(claimed.kind, 0.0, force=True)
            done = body(JobContext(settings, claimed, report))
        outcome = _succeed(settings, claimed, done if isinstance(done, Done) else Done(done))
    except BaseException as exc:
        failure = classify(exc, kind=claimed.kind)
        if failure is None:
            raise
        outcome = _record_failure(settings, claimed, failure, on_failure)
        if failure.reraise:
            raise
        return outcome
    if outcome.succeeded and on_progress is not None:
        on_progress("done", 1.0)
    return outcome


def _succeed(settings: Settings, job: ClaimedJob, done: Done) -> JobOutcome:
    with session_scope(settings.database_url) as session:
        result = dict(done.result)
        if done.finish is not None:
            result.update(done.finish(session) or {})
        if not mark_succeeded(session, job.id, result, attempt=job.attempt):
            session.rollback()
            log.warning(
                "job=%s kind=%s was no longer this attempt's when it finished; result dropped", job.id, job.kind
            )
            return JobOutcome(job.id, LOST)
    log.info("job=%s kind=%s attempt=%d succeeded", job.id, job.kind, job.attempt)
    return JobOutcome(job.id, SUCCEEDED, result=result)


def _record_failure(settings: Settings, job: ClaimedJob, failure: Failure, on_failure: OnFailure | None) -> JobOutcome:
    with session_scope(settings.database_url) as session:
        if failure.status == CANCELLED:
            recorded = mark_cancelled(session, job.id, attempt=job.attempt)
        else:
            recorded = mark_failed(session, job.id, failure.message, result={"code": failure.code}, attempt=job.attempt)
            if recorded and on_failure is not None:
                on_failure(session, job, failure.message)
    if not recorded:
        log.warning("job=%s kind=%s was taken over before it %s", job.id, job.kind, failure.status)
        return JobOutcome(job.id, LOST, error=failure.message, code=failure.code)
    log.warning("job=%s kind=%s %s (%s): %s", job.id, job.kind, failure.status, failure.code, failure.message)
    return JobOutcome(job.id, failure.status, error=failure.message, code=failure.code)
