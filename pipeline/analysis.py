"""The analyze job body: load a recording and its side data, find highlights, store them.

A plain function, callable in-process without Celery (the CLI, the demo and tests do); the Celery
task in :mod:`workers.tasks` is a thin wrapper. What needs no database (``analysis_params``, which
validates a run's options before a job is made, ``run_detection``...) lives in :mod:`studio.highlights.run`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.errors import AnalyzeFailure as AnalyzeFailure  # re-exported
from pipeline.errors import JobCancelled as JobCancelled  # re-exported
from pipeline.lifecycle import DETECT_SHARE, LOAD_SHARE, Done, JobContext, JobOutcome, run_job
from pipeline.lifecycle import ProgressCallback as ProgressCallback  # re-exported
from pipeline.lifecycle import ProgressReporter as ProgressReporter  # re-exported
from runtime.config import Settings
from services.media_files import recording_source
from sidedata import records
from store import models
from store.db import session_scope
from store.highlights import dismissed_windows, locked_highlights, save_analysis
from store.models import Recording, SideDataImport
from store.recordings import MissingMedia
from studio.highlights.run import (  # the database-free parts of a run, re-exported for the API and the CLI
    DEFAULT_PARAMS,
    MAX_CLIPS,
    analysis_params,
    run_detection,
    signal_count,
)
from studio.highlights.run import signal_cache_dir as run_signal_cache_dir

if TYPE_CHECKING:
    from studio.highlights.detect import HighlightResult
    from studio.signals.base import AnalysisInput

log = logging.getLogger(__name__)

ANALYZE_KIND = "analyze"
__all__ = [
    "ANALYZE_KIND",
    "MAX_CLIPS",
    "AnalyzeFailure",
    "JobCancelled",
    "ProgressReporter",
    "analysis_params",
    "run_analyze_job",
]


def signal_cache_dir(settings: Settings) -> Path:
    """Where signal arrays are cached (per file, mtime and parameters)."""
    return run_signal_cache_dir(settings.media_root)


#: Called in the transaction that stores an analysis, before the job is marked done; what it returns
#: joins the job's result (the pipeline makes its clips here, so clips and analysis commit together).
AfterSave = Callable[[Session, str, "HighlightResult"], dict[str, Any]]


def run_analyze_job(
    settings: Settings,
    job_id: str,
    *,
    on_progress: ProgressCallback | None = None,
    task_id: str | None = None,
    after_save: AfterSave | None = None,
) -> JobOutcome:
    """Run an analyze job under :func:`pipeline.lifecycle.run_job`; safe to run twice.

    The analysis (and what ``after_save`` adds) is stored in the transaction that marks the job done,
    so nothing is kept if the job was cancelled or taken away meanwhile.
    """

    def body(ctx: JobContext) -> Done:
        return analyze_body(ctx, after_save)

    return run_job(settings, job_id, body, task_id=task_id, on_progress=on_progress)


def analyze_body(ctx: JobContext, after_save: AfterSave | None = None) -> Done:
    """Load the recording and its side data, find highlights; saving happens in the success transaction."""
    settings, job, report = ctx.settings, ctx.job, ctx.report
    kept = {*DEFAULT_PARAMS, "named_preset"}  # a saved preset's name, kept with the weights it stands for
    params = {**DEFAULT_PARAMS, **{k: v for k, v in job.options.items() if k in kept}}
    if job.recording_id is None:
        raise AnalyzeFailure("the job names no recording", code="no_recording")
    recording_id = job.recording_id
    report.step = 1.0 / signal_count(params)
    report("load", 0.0)
    inp = load_analysis_input(settings, recording_id, report)
    with session_scope(settings.database_url) as session:
        locked = locked_highlights(session, recording_id=recording_id)
        dismissed = dismissed_windows(session, recording_id=recording_id)
    result = run_detection(inp, params, locked, dismissed)
    report("save", LOAD_SHARE + DETECT_SHARE, force=True)

    def finish(session: Session) -> dict[str, Any]:
        return _save(session, job.id, recording_id, params, result, inp.duration, after_save)

    return Done({}, finish)


def load_analysis_input(settings: Settings, recording_id: str, report: ProgressReporter) -> AnalysisInput:
    """The recording (probed first if it was not) and its side data, as an :class:`AnalysisInput`."""
    from studio.signals.base import AnalysisInput  # numpy only in the process that analyses

    duration, path = _probed(settings, recording_id)
    with session_scope(settings.database_url) as session:
        imported = set(session.scalars(select(SideDataImport.kind).where(SideDataImport.recording_id == recording_id)))
        inp = AnalysisInput(
            duration=duration,
            media_path=path,
            products=_products(session),
            segments=_rows(session, models.TimelineSegment, recording_id, imported, "timeline", _segment),
            chat=_rows(session, models.ChatEvent, recording_id, imported, "chat", _chat),
            orders=_rows(session, models.StreamOrder, recording_id, imported, "orders", _order),
            cues=_rows(session, models.TranscriptCue, recording_id, imported, "transcript", _cue),
            cache_dir=signal_cache_dir(settings),
            on_progress=report.detector,
        )
    report("load", LOAD_SHARE, force=True)
    return inp


def _probed(settings: Settings, recording_id: str) -> tuple[float, Path]:
    """The recording's duration and media path; an unprobed recording is probed now (existing probe job)."""
    for attempt in range(2):
        with session_scope(settings.database_url) as session:
            recording = session.get(Recording, recording_id)
            if recording is None:
                raise AnalyzeFailure(f"recording {recording_id} no longer exists", code="missing_media")
            duration, status, error = recording.duration, recording.status, recording.error
        path = recording_source(settings, recording)  # may download (S3): outside the transaction
        if not path.is_file():
            raise MissingMedia(f"the recording's file is missing: {path}")
        if duration:
            return duration, path
        if attempt == 0:
            from pipeline.probing import run_probe_job

            run_probe_job(settings, recording_id)
    raise AnalyzeFailure(
        f"the recording could not be probed (status {status}): {error or 'duration unknown'}", code="not_probed"
    )


def _products(session: Session) -> list[records.Product]:
    return [
        records.Product(p.sku, p.name, p.price, p.original_price, p.currency, p.coupon, p.image, p.buy_url)
        for p in session.scalars(select(models.Product).order_by(models.Product.sku))
    ]


def _rows(
    session: Session, model: Any, recording_id: str, imported: set[str], kind: str, convert: Callable[[Any], Any]
) -> list[Any] | None:
    """The recording's rows of one kind as side-data records; ``None`` if that kind was never imported."""
    rows = [convert(r) for r in session.scalars(select(model).where(model.recording_id == recording_id))]
    return rows if rows or kind in imported else None


def _segment(r: models.TimelineSegment) -> records.TimelineSegment:
    return records.TimelineSegment(r.sku, r.start, r.end)


def _chat(r: models.ChatEvent) -> records.ChatEvent:
    return records.ChatEvent(r.ts, r.user, r.text, r.kind)


def _order(r: models.StreamOrder) -> records.StreamOrder:
    return records.StreamOrder(r.ts, r.sku, r.qty, r.amount, r.order_id)


def _cue(r: models.TranscriptCue) -> records.TranscriptCue:
    return records.TranscriptCue(r.start, r.end, r.text)


def _save(
    session: Session,
    job_id: str,
    recording_id: str,
    params: dict[str, Any],
    result: HighlightResult,
    duration: float,
    after_save: AfterSave | None = None,
) -> dict[str, Any]:
    """Store the analysis in ``session`` (the job's success transaction); the job's result summary."""
    analysis = save_analysis(
        session, recording_id=recording_id, job_id=job_id, params=params, result=result, duration=duration
    )
    auto = sum(1 for h in result.highlights if not h.locked)
    summary: dict[str, Any] = {
        "recording_id": recording_id,
        "analysis_id": analysis.id,
        "highlights": len(result.highlights),
        "auto": auto,
        "locked": len(result.highlights) - auto,
        "missing": dict(result.missing),
        "warnings": list(result.warnings),
    }
    if after_save is not None:
        extra = after_save(session, analysis.id, result)
        summary = {**summary, **extra, "warnings": [*result.warnings, *(extra.get("warnings") or [])]}
    log.info(
        "job=%s recording=%s analysed: %d highlights (%d auto)", job_id, recording_id, len(result.highlights), auto
    )
    return summary
