"""The render job body: render one prepared clip (``services.clips.run_clip``) and record the outcome.

A plain function, callable in-process without Celery (tests and the CLI can); the Celery task
``liveslice.render_clip`` in :mod:`workers.tasks` is a thin wrapper. The job row (kind ``render``)
names the clip in ``options["clip_id"]``; the clip row holds every render option.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pipeline.analysis import ProgressCallback
from pipeline.jobs import TRANSIENT_ERRORS, Heartbeat, claim_job, mark_cancelled, mark_failed, mark_succeeded
from runtime.config import Settings
from services.clips import ClipCancelled, ClipError, run_clip
from services.storage import StorageError
from store.clips import ClipNotFound
from store.db import get_sessionmaker, session_scope
from store.models import Clip, Job
from store.recordings import MissingMedia
from studio.errors import StudioError

log = logging.getLogger(__name__)

RENDER_KIND = "render"
PROGRESS_INTERVAL = 1.0  # seconds between progress writes to the job row


def new_render_job(session: Any, clip: Clip) -> Job:
    """A queued render job for ``clip`` (in the caller's transaction); enqueue it after the commit."""
    job = Job(
        kind=RENDER_KIND, recording_id=clip.recording_id, status="queued", stage="render", options={"clip_id": clip.id}
    )
    session.add(job)
    session.flush()
    clip.job_id = job.id
    return job


def run_render_job(
    settings: Settings, job_id: str, *, on_progress: ProgressCallback | None = None, task_id: str | None = None
) -> None:
    """Run a render job and record the outcome; safe to run twice (a finished job is left alone).

    Bad requests and bad media fail the job (and the clip) at once with the reason; transient errors
    (database, network) propagate so Celery retries. Cancelling the job stops the running ffmpeg.
    """
    claimed = claim_job(settings, job_id, task_id=task_id)
    if claimed is None:
        return
    clip_id = str(claimed.options.get("clip_id") or "")
    session = get_sessionmaker(settings.database_url)()
    try:
        with Heartbeat(settings, job_id) as heartbeat:
            report = _Reporter(heartbeat, on_progress)
            clip = run_clip(settings, session, clip_id=clip_id, on_progress=report, should_cancel=report.cancelled)
            summary = {
                "clip_id": clip.id,
                "status": clip.status,
                "video_key": clip.video_key,
                "variants": len(clip.variants),
                "duration": clip.duration,
            }
    except TRANSIENT_ERRORS:
        raise
    except ClipCancelled:
        with session_scope(settings.database_url) as done:
            mark_cancelled(done, job_id)
        log.info("job=%s clip=%s render cancelled", job_id, clip_id)
        return
    except (ClipError, ClipNotFound, StudioError, MissingMedia, StorageError) as exc:
        code = getattr(exc, "code", None) or ("not_found" if isinstance(exc, ClipNotFound) else "bad_media")
        _fail(settings, job_id, str(exc), code=code)
        return
    except Exception as exc:
        _fail(settings, job_id, f"unexpected error: {type(exc).__name__}: {exc}", code="internal")
        raise
    finally:
        session.close()
    with session_scope(settings.database_url) as done:
        if not mark_succeeded(done, job_id, summary):
            log.warning("job=%s was no longer running when clip %s finished", job_id, clip_id)
    log.info("job=%s clip=%s rendered: %s", job_id, clip_id, summary["video_key"])
    if on_progress is not None:
        on_progress("done", 1.0)


class _Reporter:
    """``on_progress`` for ``run_clip``: forwards every report, writes the job row at most once a second."""

    def __init__(self, heartbeat: Heartbeat, callback: ProgressCallback | None) -> None:
        self.heartbeat = heartbeat
        self.callback = callback
        self.stage = ""
        self.last_write = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        if self.callback is not None:
            self.callback(stage, fraction)
        now = time.monotonic()
        if stage != self.stage or now - self.last_write >= PROGRESS_INTERVAL:
            self.stage, self.last_write = stage, now
            self.heartbeat.beat(stage=stage[:32], progress=fraction)

    def cancelled(self) -> bool:
        return self.heartbeat.cancel_requested


def _fail(settings: Settings, job_id: str, message: str, *, code: str) -> None:
    with session_scope(settings.database_url) as session:
        mark_failed(session, job_id, message, result={"code": code})
    log.warning("job=%s render failed (%s): %s", job_id, code, message)
