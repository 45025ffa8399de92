"""Thin Celery tasks: they take IDs, call a job body, and keep the job row honest on retry and give-up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task

from pipeline import stages
from pipeline.advance import drive, parent_of
from pipeline.analysis import run_analyze_job
from pipeline.errors import TRANSIENT_ERRORS
from pipeline.jobs import fail_job, requeue_job
from pipeline.lifecycle import JobOutcome
from pipeline.probing import run_probe_job
from pipeline.publishing import follow_up, run_publish_job
from pipeline.rendering import run_render_job
from pipeline.variant_rendering import run_variant_job
from runtime.config import Settings, get_settings
from workers.dispatch import enqueue_job

log = logging.getLogger(__name__)

RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,  # below jobs.MAX_ATTEMPTS, so the row outlives the retries
    "acks_late": True,
    "reject_on_worker_lost": True,
}


class JobTask(Task):
    """A task bound to a job row (``job_id`` keyword): retries requeue it, giving up fails it."""

    def on_retry(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        job_id = (kwargs or {}).get("job_id")
        log.warning("job=%s task=%s retrying after %s: %s", job_id, task_id, type(exc).__name__, exc)
        if job_id:
            _best_effort(requeue_job, job_id, f"{type(exc).__name__}: {exc}")

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        job_id = (kwargs or {}).get("job_id")
        log.error("job=%s task=%s failed: %s: %s", job_id, task_id, type(exc).__name__, exc)
        if job_id:
            _best_effort(fail_job, job_id, f"{type(exc).__name__}: {exc}")
            _best_effort(_drive_parent, job_id, "")


def _best_effort(action: Any, job_id: str, message: str) -> None:
    """Update the job row; if the database is down too, the reconciler will notice the stale job."""
    try:
        action(get_settings(), job_id, message)
    except TRANSIENT_ERRORS as exc:
        log.error("job=%s could not be updated (%s); the reconciler will pick it up", job_id, exc)


def _drive_parent(settings: Settings, job_id: str, _reason: str = "") -> None:
    """A finished stage moves its pipeline on: the next stages are created and sent (after the commit)."""
    parent = parent_of(settings, job_id)
    if parent is not None:
        drive(settings, parent, send=enqueue_job)


def run_and_drive(task: Task, runner: Callable[..., JobOutcome | None], job_id: str | None, *args: str) -> None:
    """A task's whole body: ``runner(settings, *args, job_id, task_id=...)`` runs the job, then its
    pipeline (if it belongs to one) moves on, whatever the outcome: a failed stage fails its pipeline."""
    settings = get_settings()
    runner(settings, *args, job_id, task_id=task.request.id)
    if job_id:
        _drive_parent(settings, job_id)


def _probe(settings: Settings, recording_id: str, job_id: str | None, *, task_id: str | None) -> JobOutcome | None:
    return run_probe_job(settings, recording_id, job_id=job_id, task_id=task_id)


@shared_task(name="liveslice.probe_recording", bind=True, base=JobTask, **RETRY_OPTIONS)
def probe_recording(self: JobTask, recording_id: str, job_id: str | None = None) -> None:
    """Probe a recording thoroughly and store its facts (see :func:`pipeline.probing.run_probe_job`)."""
    run_and_drive(self, _probe, job_id, recording_id)


@shared_task(name="liveslice.analyze_recording", bind=True, base=JobTask, **RETRY_OPTIONS)
def analyze_recording(self: JobTask, recording_id: str, job_id: str) -> None:
    """Find a recording's highlights and store them (sent to the ``analysis`` queue by ``workers.dispatch``)."""
    run_and_drive(self, run_analyze_job, job_id)


@shared_task(name="liveslice.render_clip", bind=True, base=JobTask, **RETRY_OPTIONS)
def render_clip_task(self: JobTask, clip_id: str, job_id: str) -> None:
    """Render a prepared clip: base, cover, poster, leader variants (``render`` queue, see ``workers.dispatch``).

    Registered as ``liveslice.render_clip`` (messages in flight still route); not ``studio.render.render_clip``.
    """
    run_and_drive(self, run_render_job, job_id)


@shared_task(name="liveslice.render_variant", bind=True, base=JobTask, **RETRY_OPTIONS)
def render_variant_task(self: JobTask, variant_id: str, job_id: str) -> None:
    """Render one leader's variant video and poster of a ready clip, on first request (``render`` queue)."""
    run_and_drive(self, run_variant_job, job_id)


@shared_task(name="liveslice.stage_signals", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_signals(self: JobTask, recording_id: str, job_id: str) -> None:
    """Pipeline stage 2: decode the recording's signals into the cache (``analysis`` queue)."""
    run_and_drive(self, stages.run_signals_stage, job_id)


@shared_task(name="liveslice.stage_highlights", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_highlights(self: JobTask, recording_id: str, job_id: str) -> None:
    """Pipeline stage 3: pick the highlights and make their clip rows (``analysis`` queue)."""
    run_and_drive(self, stages.run_highlights_stage, job_id)


@shared_task(name="liveslice.stage_find_product", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_find_product(self: JobTask, pipeline_id: str, job_id: str) -> None:
    """A product job's first stage: the SKU's best moments across recordings (``analysis`` queue)."""
    run_and_drive(self, stages.run_find_product_stage, job_id)


@shared_task(name="liveslice.stage_clip", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_clip(self: JobTask, clip_id: str, job_id: str) -> None:
    """Pipeline stages 4-6 for one clip: base render, leader variants, covers and posters (``render`` queue)."""
    run_and_drive(self, stages.run_clip_stage, job_id)


@shared_task(name="liveslice.stage_finalize", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_finalize(self: JobTask, pipeline_id: str, job_id: str) -> None:
    """Pipeline stage 7: write the manifest; the pipeline then ends (``analysis`` queue)."""
    run_and_drive(self, stages.run_finalize_stage, job_id)


@shared_task(name="liveslice.publish", bind=True, base=JobTask, **RETRY_OPTIONS)
def publish(self: JobTask, publication_id: str, job_id: str) -> None:
    """One delivery attempt of a publication (``publish`` queue); a retry or rate deferral due within a
    minute is sent on at once with a countdown, later ones by the reconciler."""
    settings = get_settings()
    run_publish_job(settings, job_id, task_id=self.request.id, send=enqueue_job)
    follow_up(settings, publication_id, enqueue_job)
