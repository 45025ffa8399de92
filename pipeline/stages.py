"""The pipeline's stage bodies: plain functions taking a stage job's id, run by thin Celery tasks
(:mod:`workers.tasks`) or in-process by ``liveslice process`` (:mod:`pipeline.local`).

Each claims its job row (so a duplicate delivery does nothing), beats a heartbeat while it works,
writes its outputs atomically and records its result. Bad input fails the stage at once with the
reason; transient errors propagate, so Celery retries with backoff. The probe stage is the probe
job (:func:`pipeline.probing.run_probe_job`); the highlights stage is the analyze job plus clip making.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from pipeline.analysis import (
    AnalyzeFailure,
    JobCancelled,
    ProgressCallback,
    ProgressReporter,
    load_analysis_input,
    run_analyze_job,
)
from pipeline.clipmaking import make_pipeline_clips
from pipeline.jobs import (
    TRANSIENT_ERRORS,
    ClaimedJob,
    Heartbeat,
    claim_job,
    mark_cancelled,
    mark_failed,
    mark_succeeded,
)
from pipeline.manifest import pipeline_manifest, save_manifest
from pipeline.probing import run_probe_job
from pipeline.product import find_product_moments
from runtime.config import Settings
from services.clips import ClipCancelled, ClipError, run_clip
from services.storage import StorageError
from store.clips import ClipNotFound
from store.db import get_sessionmaker, session_scope
from store.models import Job
from store.recordings import MissingMedia
from studio.errors import StudioError
from studio.highlights import HighlightResult
from studio.signals import AnalysisError, get_detector

log = logging.getLogger(__name__)

MEDIA_SIGNALS = ("loudness", "voice")
PERMANENT = (AnalyzeFailure, AnalysisError, StudioError, MissingMedia, StorageError, ClipError, ClipNotFound)
Body = Callable[[Settings, ClaimedJob, ProgressReporter], dict[str, Any]]


def pipeline_options(settings: Settings, job: ClaimedJob | str) -> dict[str, Any]:
    """The options of the pipeline a stage job belongs to."""
    job_id = job if isinstance(job, str) else job.id
    with session_scope(settings.database_url) as session:
        row = session.get(Job, job_id)
        parent = session.get(Job, row.parent_id) if row is not None and row.parent_id else None
        if parent is None:
            raise AnalyzeFailure(f"job {job_id} belongs to no pipeline", code="no_pipeline")
        return {"id": parent.id, "kind": parent.kind, "recording_id": parent.recording_id, **dict(parent.options)}


def run_stage(
    settings: Settings,
    job_id: str,
    body: Body,
    *,
    on_progress: ProgressCallback | None = None,
    task_id: str | None = None,
) -> None:
    """Claim the stage's job, run ``body`` under a heartbeat, record success or the reason it failed."""
    claimed = claim_job(settings, job_id, task_id=task_id)
    if claimed is None:
        return
    try:
        with Heartbeat(settings, job_id) as heartbeat:
            report = ProgressReporter(on_progress, 1, heartbeat)
            report(claimed.kind, 0.0, force=True)
            result = body(settings, claimed, report)
    except TRANSIENT_ERRORS:
        raise
    except (JobCancelled, ClipCancelled):
        with session_scope(settings.database_url) as session:
            mark_cancelled(session, job_id)
        log.info("job=%s %s cancelled", job_id, claimed.kind)
        return
    except SoftTimeLimitExceeded:
        _fail(settings, job_id, f"{claimed.kind} took longer than its time limit", code="timeout")
        return
    except PERMANENT as exc:
        _fail(settings, job_id, str(exc) or type(exc).__name__, code=getattr(exc, "code", None) or "bad_media")
        return
    except Exception as exc:
        _fail(settings, job_id, f"unexpected error: {type(exc).__name__}: {exc}", code="internal")
        raise
    with session_scope(settings.database_url) as session:
        if not mark_succeeded(session, job_id, result):
            log.warning("job=%s was no longer running when %s finished", job_id, claimed.kind)
    if on_progress is not None:
        on_progress("done", 1.0)


def _fail(settings: Settings, job_id: str, message: str, *, code: str) -> None:
    with session_scope(settings.database_url) as session:
        mark_failed(session, job_id, message, result={"code": code})
    log.warning("job=%s stage failed (%s): %s", job_id, code, message)


def signals_body(settings: Settings, job: ClaimedJob, report: ProgressReporter) -> dict[str, Any]:
    """Decode the recording's audio once (and its video at low resolution, with ``scenes``) into the
    signal cache, so the highlights stage only reads arrays."""
    if job.recording_id is None:
        raise AnalyzeFailure("the stage names no recording", code="no_recording")
    names = [*MEDIA_SIGNALS, *(["scenes"] if job.options.get("scenes") else [])]
    report.step = 1.0 / len(names)
    inp = load_analysis_input(settings, job.recording_id, report)
    available: dict[str, bool] = {}
    for index, name in enumerate(names):
        inp.progress(f"signal {name}", index / len(names))
        available[name] = get_detector(name).compute(inp).available
    return {"recording_id": job.recording_id, "signals": available}


def run_signals_stage(settings: Settings, job_id: str, **kwargs: Any) -> None:
    run_stage(settings, job_id, signals_body, **kwargs)


def run_probe_stage(settings: Settings, recording_id: str, job_id: str, **kwargs: Any) -> None:
    run_probe_job(settings, recording_id, job_id=job_id, task_id=kwargs.get("task_id"))


def run_highlights_stage(
    settings: Settings, job_id: str, *, on_progress: ProgressCallback | None = None, task_id: str | None = None
) -> None:
    """The analyze job (signals come from the cache) that also makes the clip rows, in its transaction."""
    options = pipeline_options(settings, job_id)

    def after_save(session: Session, analysis_id: str, result: HighlightResult) -> dict[str, Any]:
        return make_pipeline_clips(settings, session, recording_id=str(options["recording_id"]), options=options)

    run_analyze_job(settings, job_id, on_progress=on_progress, task_id=task_id, after_save=after_save)


def find_product_body(settings: Settings, job: ClaimedJob, report: ProgressReporter) -> dict[str, Any]:
    """A product job's one head stage: its SKU's best moments across recordings, as clip rows."""
    options = pipeline_options(settings, job)
    return find_product_moments(settings, options=options, report=report)


def run_find_product_stage(settings: Settings, job_id: str, **kwargs: Any) -> None:
    run_stage(settings, job_id, find_product_body, **kwargs)


def clip_body(settings: Settings, job: ClaimedJob, report: ProgressReporter) -> dict[str, Any]:
    """One part of one clip (base render, leader variants, or covers and posters)."""
    clip_id, part = str(job.options.get("clip_id") or ""), str(job.options.get("part") or "base")
    session = get_sessionmaker(settings.database_url)()
    try:
        clip = run_clip(
            settings,
            session,
            clip_id=clip_id,
            parts=[part],
            on_progress=lambda stage, f: report(stage, f),
            should_cancel=lambda: bool(report.heartbeat and report.heartbeat.cancel_requested),
        )
        return {
            "clip_id": clip.id,
            "part": part,
            "status": clip.status,
            "duration": clip.duration,
            "variants": len(clip.variants),
        }
    finally:
        session.close()


def run_clip_stage(settings: Settings, job_id: str, **kwargs: Any) -> None:
    run_stage(settings, job_id, clip_body, **kwargs)


def finalize_body(settings: Settings, job: ClaimedJob, report: ProgressReporter) -> dict[str, Any]:
    """The manifest of every clip the pipeline made, stored at ``exports/<job id>/manifest.json``."""
    options = pipeline_options(settings, job)
    manifest = pipeline_manifest(settings, str(options["id"]))
    key = save_manifest(settings, str(options["id"]), manifest)
    ready = sum(1 for c in manifest["clips"] if c["status"] == "ready")
    return {"manifest_key": key, "ready": ready, "failed": len(manifest["clips"]) - ready}


def run_finalize_stage(settings: Settings, job_id: str, **kwargs: Any) -> None:
    run_stage(settings, job_id, finalize_body, **kwargs)


#: job kind -> stage body runner ``(settings, job_id, **kwargs)`` for the in-process runner
RUNNERS: dict[str, Callable[..., None]] = {
    "signals": run_signals_stage,
    "highlights": run_highlights_stage,
    "find_product": run_find_product_stage,
    "clip_render": run_clip_stage,
    "clip_variants": run_clip_stage,
    "clip_covers": run_clip_stage,
    "finalize": run_finalize_stage,
}
