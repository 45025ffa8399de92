"""The pipeline's stage bodies: plain functions taking a stage job's id, run by thin Celery tasks
(:mod:`workers.tasks`) or in-process by ``liveslice process`` (:mod:`pipeline.local`).

Each runs under :func:`pipeline.lifecycle.run_job`: it claims its job row (so a duplicate delivery does
nothing), beats a heartbeat while it works, writes its outputs atomically and records its result. Bad
input fails the stage at once with the reason; transient errors propagate, so Celery retries with backoff.
The probe stage is the probe job (:func:`pipeline.probing.run_probe_job`); the highlights stage is the
analyze job plus clip making.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from pipeline.analysis import load_analysis_input, run_analyze_job
from pipeline.clipmaking import make_pipeline_clips
from pipeline.errors import AnalyzeFailure
from pipeline.jobs import ClaimedJob
from pipeline.lifecycle import Body, JobContext, JobOutcome, ProgressCallback, run_job
from pipeline.manifest import pipeline_manifest, save_manifest
from pipeline.probing import run_probe_job
from pipeline.product import find_product_moments
from runtime.config import Settings
from services.clips import run_clip
from store.db import get_sessionmaker, session_scope
from store.models import Job
from studio.highlights import HighlightResult
from studio.signals import get_detector

log = logging.getLogger(__name__)

MEDIA_SIGNALS = ("loudness", "voice")


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
) -> JobOutcome:
    """Run a stage's ``body`` under :func:`pipeline.lifecycle.run_job`."""
    return run_job(settings, job_id, body, task_id=task_id, on_progress=on_progress)


def signals_body(ctx: JobContext) -> dict[str, Any]:
    """Decode the recording's audio once (and its video at low resolution, with ``scenes``) into the
    signal cache, so the highlights stage only reads arrays."""
    settings, job, report = ctx.settings, ctx.job, ctx.report
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


def run_signals_stage(settings: Settings, job_id: str, **kwargs: Any) -> JobOutcome:
    return run_stage(settings, job_id, signals_body, **kwargs)


def run_probe_stage(settings: Settings, recording_id: str, job_id: str, **kwargs: Any) -> JobOutcome | None:
    return run_probe_job(settings, recording_id, job_id=job_id, task_id=kwargs.get("task_id"))


def run_highlights_stage(
    settings: Settings, job_id: str, *, on_progress: ProgressCallback | None = None, task_id: str | None = None
) -> JobOutcome:
    """The analyze job (signals come from the cache) that also makes the clip rows, in its transaction."""
    options = pipeline_options(settings, job_id)

    def after_save(session: Session, analysis_id: str, result: HighlightResult) -> dict[str, Any]:
        return make_pipeline_clips(settings, session, recording_id=str(options["recording_id"]), options=options)

    return run_analyze_job(settings, job_id, on_progress=on_progress, task_id=task_id, after_save=after_save)


def find_product_body(ctx: JobContext) -> dict[str, Any]:
    """A product job's one head stage: its SKU's best moments across recordings, as clip rows."""
    options = pipeline_options(ctx.settings, ctx.job)
    return find_product_moments(ctx.settings, options=options, report=ctx.report)


def run_find_product_stage(settings: Settings, job_id: str, **kwargs: Any) -> JobOutcome:
    return run_stage(settings, job_id, find_product_body, **kwargs)


def clip_body(ctx: JobContext) -> dict[str, Any]:
    """One part of one clip (base render, leader variants, or covers and posters)."""
    settings, job, report = ctx.settings, ctx.job, ctx.report
    clip_id, part = str(job.options.get("clip_id") or ""), str(job.options.get("part") or "base")
    session = get_sessionmaker(settings.database_url)()
    try:
        clip = run_clip(
            settings,
            session,
            clip_id=clip_id,
            parts=[part],
            on_progress=lambda stage, f: report(stage, f),
            should_cancel=report.cancelled,
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


def run_clip_stage(settings: Settings, job_id: str, **kwargs: Any) -> JobOutcome:
    return run_stage(settings, job_id, clip_body, **kwargs)


def finalize_body(ctx: JobContext) -> dict[str, Any]:
    """The manifest of every clip the pipeline made, stored at ``exports/<job id>/manifest.json``."""
    settings = ctx.settings
    options = pipeline_options(settings, ctx.job)
    manifest = pipeline_manifest(settings, str(options["id"]))
    key = save_manifest(settings, str(options["id"]), manifest)
    ready = sum(1 for c in manifest["clips"] if c["status"] == "ready")
    return {"manifest_key": key, "ready": ready, "failed": len(manifest["clips"]) - ready}


def run_finalize_stage(settings: Settings, job_id: str, **kwargs: Any) -> JobOutcome:
    return run_stage(settings, job_id, finalize_body, **kwargs)


#: job kind -> stage body runner ``(settings, job_id, **kwargs)`` for the in-process runner
RUNNERS: dict[str, Callable[..., JobOutcome]] = {
    "signals": run_signals_stage,
    "highlights": run_highlights_stage,
    "find_product": run_find_product_stage,
    "clip_render": run_clip_stage,
    "clip_variants": run_clip_stage,
    "clip_covers": run_clip_stage,
    "finalize": run_finalize_stage,
}
