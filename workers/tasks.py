"""Thin Celery tasks: they take IDs, call a job body, and keep the job row honest on retry and give-up."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from pipeline import stages
from pipeline.advance import drive, parent_of
from pipeline.analysis import run_analyze_job
from pipeline.jobs import TRANSIENT_ERRORS, fail_job, requeue_job
from pipeline.probing import run_probe_job
from pipeline.rendering import run_render_job
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


def _continue(job_id: str | None) -> None:
    if job_id:
        _drive_parent(get_settings(), job_id)


@shared_task(name="liveslice.probe_recording", bind=True, base=JobTask, **RETRY_OPTIONS)
def probe_recording(self: JobTask, recording_id: str, job_id: str | None = None) -> None:
    """Probe a recording thoroughly and store its facts (see :func:`pipeline.probing.run_probe_job`)."""
    run_probe_job(get_settings(), recording_id, job_id=job_id, task_id=self.request.id)
    _continue(job_id)


@shared_task(name="liveslice.analyze_recording", bind=True, base=JobTask, **RETRY_OPTIONS)
def analyze_recording(self: JobTask, recording_id: str, job_id: str) -> None:
    """Find a recording's highlights and store them (sent to the ``analysis`` queue by ``workers.dispatch``)."""
    log.info("job=%s analysing recording %s", job_id, recording_id)
    run_analyze_job(get_settings(), job_id, task_id=self.request.id)


@shared_task(name="liveslice.render_clip", bind=True, base=JobTask, **RETRY_OPTIONS)
def render_clip(self: JobTask, clip_id: str, job_id: str) -> None:
    """Render a prepared clip: base, cover, poster, leader variants (``render`` queue, see ``workers.dispatch``)."""
    log.info("job=%s rendering clip %s", job_id, clip_id)
    run_render_job(get_settings(), job_id, task_id=self.request.id)


@shared_task(name="liveslice.stage_signals", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_signals(self: JobTask, recording_id: str, job_id: str) -> None:
    """Pipeline stage 2: decode the recording's signals into the cache (``analysis`` queue)."""
    stages.run_signals_stage(get_settings(), job_id, task_id=self.request.id)
    _continue(job_id)


@shared_task(name="liveslice.stage_highlights", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_highlights(self: JobTask, recording_id: str, job_id: str) -> None:
    """Pipeline stage 3: pick the highlights and make their clip rows (``analysis`` queue)."""
    stages.run_highlights_stage(get_settings(), job_id, task_id=self.request.id)
    _continue(job_id)


@shared_task(name="liveslice.stage_find_product", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_find_product(self: JobTask, pipeline_id: str, job_id: str) -> None:
    """A product job's first stage: the SKU's best moments across recordings (``analysis`` queue)."""
    stages.run_find_product_stage(get_settings(), job_id, task_id=self.request.id)
    _continue(job_id)


@shared_task(name="liveslice.stage_clip", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_clip(self: JobTask, clip_id: str, job_id: str) -> None:
    """Pipeline stages 4-6 for one clip: base render, leader variants, covers and posters (``render`` queue)."""
    stages.run_clip_stage(get_settings(), job_id, task_id=self.request.id)
    _continue(job_id)


@shared_task(name="liveslice.stage_finalize", bind=True, base=JobTask, **RETRY_OPTIONS)
def stage_finalize(self: JobTask, pipeline_id: str, job_id: str) -> None:
    """Pipeline stage 7: write the manifest; the pipeline then ends (``analysis`` queue)."""
    stages.run_finalize_stage(get_settings(), job_id, task_id=self.request.id)
    _continue(job_id)
