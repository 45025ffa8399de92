"""The analyze job body: load a recording and its side data, find highlights, store them.

A plain function, callable in-process without Celery (the CLI, the demo and tests do); the Celery
task in :mod:`workers.tasks` is a thin wrapper. What needs no database (``analysis_params``, which
validates a run's options before a job is made, ``run_detection``...) lives in :mod:`studio.highlights.run`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveslice.config import Settings
from liveslice.media_files import recording_source
from liveslice.storage import StorageError
from sidedata import records
from store import models
from store.db import session_scope
from store.highlights import locked_highlights, save_analysis
from store.models import Recording, SideDataImport
from store.recordings import MissingMedia
from studio.errors import StudioError
from studio.highlights import AnalysisError, AnalysisInput, HighlightResult
from studio.highlights.run import (  # the DB-free parts of a run (MAX_CLIPS, analysis_params: re-exported)
    DEFAULT_PARAMS,
    DETECT_SHARE,
    LOAD_SHARE,
    MAX_CLIPS,  # noqa: F401
    DetectionProgress,
    ProgressCallback,
    analysis_params,  # noqa: F401
    run_detection,
    signal_count,
)
from studio.highlights.run import signal_cache_dir as run_signal_cache_dir
from workers.jobs import TRANSIENT_ERRORS, Heartbeat, claim_job, mark_cancelled, mark_failed, mark_succeeded

log = logging.getLogger(__name__)

ANALYZE_KIND = "analyze"
PROGRESS_INTERVAL = 1.0  # seconds between progress writes to the job row


class AnalyzeFailure(Exception):
    """The analysis cannot run for this recording; retrying will not help."""

    def __init__(self, message: str, *, code: str = "not_analyzable") -> None:
        super().__init__(message)
        self.code = code


class JobCancelled(Exception):
    """Someone asked the job to stop."""


def signal_cache_dir(settings: Settings) -> Path:
    """Where signal arrays are cached (per file, mtime and parameters)."""
    return run_signal_cache_dir(settings.media_root)


#: Called in the transaction that stores an analysis, before the job is marked done; what it returns
#: joins the job's result (the pipeline makes its clips here, so clips and analysis commit together).
AfterSave = Callable[[Session, str, HighlightResult], dict[str, Any]]


def run_analyze_job(
    settings: Settings,
    job_id: str,
    *,
    on_progress: ProgressCallback | None = None,
    task_id: str | None = None,
    after_save: AfterSave | None = None,
) -> None:
    """Run an analyze job and record the outcome; safe to run twice (a finished job is left alone).

    ``on_progress(stage, fraction)`` is called with the job's overall progress (unthrottled).
    Permanent problems (bad media, bad parameters, recording gone) fail the job at once with the
    reason; transient errors (database, network) propagate so Celery retries.
    """
    claimed = claim_job(settings, job_id, task_id=task_id)
    if claimed is None:
        return
    params = {**DEFAULT_PARAMS, **{k: v for k, v in claimed.options.items() if k in DEFAULT_PARAMS}}
    try:
        if claimed.recording_id is None:
            raise AnalyzeFailure("the job names no recording", code="no_recording")
        with Heartbeat(settings, job_id) as heartbeat:
            report = ProgressReporter(on_progress, signal_count(params), heartbeat)
            report("load", 0.0)
            inp = load_analysis_input(settings, claimed.recording_id, report)
            with session_scope(settings.database_url) as session:
                locked = locked_highlights(session, recording_id=claimed.recording_id)
            result = run_detection(inp, params, locked)
            report("save", LOAD_SHARE + DETECT_SHARE, force=True)
            saved = _save(settings, job_id, claimed.recording_id, params, result, inp.duration, after_save)
    except TRANSIENT_ERRORS:
        raise
    except JobCancelled:
        with session_scope(settings.database_url) as session:
            mark_cancelled(session, job_id)
        log.info("job=%s analysis cancelled", job_id)
        return
    except (AnalyzeFailure, StudioError, MissingMedia, StorageError) as exc:
        code = getattr(exc, "code", None) or ("bad_parameters" if isinstance(exc, AnalysisError) else "bad_media")
        _fail(settings, job_id, str(exc), code=code)
        return
    except Exception as exc:
        _fail(settings, job_id, f"unexpected error: {type(exc).__name__}: {exc}", code="internal")
        raise
    if saved and on_progress is not None:
        on_progress("done", 1.0)


class ProgressReporter(DetectionProgress):
    """:class:`DetectionProgress` that, with a job's ``heartbeat``, also writes it to the job row (at most once
    a second, and at each new stage) and stops a cancelled job.
    """

    def __init__(self, callback: ProgressCallback | None, signals: int, heartbeat: Heartbeat | None = None) -> None:
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
                raise JobCancelled(f"job {self.heartbeat.job_id} was cancelled")


def load_analysis_input(settings: Settings, recording_id: str, report: ProgressReporter) -> AnalysisInput:
    """The recording (probed first if it was not) and its side data, as an :class:`AnalysisInput`."""
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
            from workers.probe import run_probe_job

            run_probe_job(settings, recording_id)
    raise AnalyzeFailure(f"the recording could not be probed (status {status}): {error or 'duration unknown'}",
                         code="not_probed")  # fmt: skip


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
    settings: Settings,
    job_id: str,
    recording_id: str,
    params: dict[str, Any],
    result: HighlightResult,
    duration: float,
    after_save: AfterSave | None = None,
) -> bool:
    """Store the analysis and finish the job in one transaction; nothing is kept if the job was taken away."""
    with session_scope(settings.database_url) as session:
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
        if not mark_succeeded(session, job_id, summary):
            session.rollback()
            log.warning("job=%s was no longer running when its analysis finished; result dropped", job_id)
            return False
    log.info("job=%s recording=%s analysed: %d highlights (%d auto)", job_id, recording_id,
             len(result.highlights), auto)  # fmt: skip
    return True


def _fail(settings: Settings, job_id: str, message: str, *, code: str) -> None:
    with session_scope(settings.database_url) as session:
        mark_failed(session, job_id, message, result={"code": code})
    log.warning("job=%s analysis failed (%s): %s", job_id, code, message)
